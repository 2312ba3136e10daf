"""The organisation review opens cleanly before there is anything to review:
a new organisation (no roster) and a roster with no answers yet."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from burnout import auth, ingest
from burnout.store import get_engine

from conftest import ROOT


def _open_review(url: str, monkeypatch) -> AppTest:
    from burnout.ui.common import now

    monkeypatch.setenv("BURNOUT_DATABASE_URL", url)
    monkeypatch.setenv("BURNOUT_DEMO", "0")
    engine = get_engine(url)
    auth.create_user(engine, "hr-reviewer", "a-long-password", "hr")
    at = AppTest.from_file(str(ROOT / "burnout" / "ui" / "org_review.py"), default_timeout=60)
    at.session_state["user"] = auth.authenticate(engine, "hr-reviewer", "a-long-password")
    at.session_state["last_seen"] = now()
    at.run()
    return at


def _metrics(at: AppTest) -> dict:
    return {m.label: m.value for m in at.metric}


def test_review_of_an_empty_organisation_opens_without_errors(tmp_path, monkeypatch):
    at = _open_review(f"sqlite:///{tmp_path / 'empty.db'}", monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
    assert _metrics(at)["Active helpers"] == "0"
    assert "nan" not in " ".join(_metrics(at).values())


def test_review_with_a_roster_but_no_answers_says_so_in_words(tmp_path, monkeypatch):
    roster = ("helper_id,name,team,role,site,fte,start_date\n"
              + "".join(f"H{i},Helper {i},T1,caseworker,Main,1,2025-01-06\n" for i in range(8)))
    url = f"sqlite:///{tmp_path / 'roster.db'}"
    ingest.import_files(get_engine(url), roster=roster.encode(), names={"roster": "roster.csv"})
    at = _open_review(url, monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
    values = " ".join(_metrics(at).values())
    assert "nan" not in values.lower() and "$nan" not in values
