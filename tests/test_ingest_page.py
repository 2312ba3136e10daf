"""The Data page offers the format guide and a template per file type, and the
templates themselves import cleanly."""
from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from burnout import auth, ingest, seed
from burnout.errors import InputError
from burnout.ui.common import now
from burnout.ui.import_problems import problems_csv

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "burnout" / "templates"


def test_data_page_links_the_guide_and_offers_templates(demo_db):
    at = AppTest.from_file(str(ROOT / "burnout" / "ui" / "data_admin.py"), default_timeout=30)
    at.session_state["user"] = auth.authenticate(demo_db["engine"], "demo-admin", seed.DEMO_PASSWORD)
    at.session_state["last_seen"] = now()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [el.proto.label for el in at.get("download_button")]
    for name in ("roster.csv", "surveys.csv", "caseload.csv", "caseload_events.csv", "survey_mapping.yaml",
                 "roster_mapping.yaml"):
        assert f"Template: {name}" in labels
    assert "Guide (docs/IMPORT.md)" in labels
    assert any("[docs/IMPORT.md](docs/IMPORT.md)" in m.value for m in at.markdown)
    assert (ROOT / "docs" / "IMPORT.md").exists()


def test_templates_import_cleanly(engine):
    summary = ingest.import_files(engine, roster=TEMPLATES / "roster.csv", surveys=TEMPLATES / "surveys.csv",
                                  caseload=TEMPLATES / "caseload.csv")
    assert summary.counts["roster"]["new"] == 1 and summary.counts["surveys"]["new"] == 2
    assert summary.counts["caseload"]["new"] == 1
    events = ingest.prepare(caseload=TEMPLATES / "caseload_events.csv", known_helpers={"H001"})
    assert len(events["caseload"][1]) == 1


@pytest.mark.parametrize("name", ["survey_mapping.yaml", "roster_mapping.yaml"])
def test_mapping_templates_load(name):
    spec = ingest.load_mapping(TEMPLATES / name)
    assert "helper_id" in spec["columns"].values()


def _many_problems():
    problems = [f"row {r}, column 'sib_1': '9' is outside the scale (1, 2, 3, 4, 5)" for r in range(2, 1502)]
    # a file's own header comes back in the list: it must not run as a formula
    problems.append("row 1502, column '=HYPERLINK(\"x\")': unknown column")
    return InputError(problems[0], file="s.csv", row=2, column="sib_1", problems=problems)


def test_problem_table_is_capped_and_the_download_has_every_problem():
    def app():   # AppTest runs this function's source on its own: it imports what it uses
        from tests.test_ingest_page import _many_problems
        from burnout.ui.import_problems import show_error

        show_error(_many_problems())

    at = AppTest.from_function(app, default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "1,501 problems in s" in at.error[0].value
    assert len(at.dataframe[0].value) == 200
    assert any("The first 200 of 1,501 problems in all" in c.value for c in at.caption)
    assert [el.proto.label for el in at.get("download_button")] == ["Download every problem (CSV)"]


def test_problem_download_lists_every_problem_with_formulas_neutralised():
    table = pd.read_csv(io.BytesIO(problems_csv(_many_problems())), dtype=str, encoding="utf-8-sig")
    assert len(table) == 1501 and list(table.columns) == ["row", "column", "problem"]
    assert table["column"].iloc[-1] == "'=HYPERLINK(\"x\")"
