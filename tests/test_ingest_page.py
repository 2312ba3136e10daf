"""The Data page offers the format guide and a template per file type, and the
templates themselves import cleanly."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from burnout import auth, ingest, seed
from burnout.ui.common import now

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
