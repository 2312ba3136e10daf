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


def test_settings_page_saves_the_turnover_assumptions_through_the_settings_validators(writable_db):
    """The reference prevalence per team kind (with its source), the organisation's own
    turnover and the ranges behind every estimate are fields of the settings page,
    checked by the Settings' validators (a bad value is refused, nothing saved)."""
    from burnout import seed
    from burnout.store import settings as saved_settings
    from burnout.ui.common import now

    eng = writable_db["engine"]
    at = AppTest.from_file(str(ROOT / "burnout" / "ui" / "settings_admin.py"), default_timeout=60)
    at.session_state["user"] = auth.authenticate(eng, "demo-admin", seed.DEMO_PASSWORD)
    at.session_state["last_seen"] = now()
    at.run()
    assert not at.exception
    rates = next(df.value for df in at.dataframe if "source of that prevalence" in df.value.columns)
    assert rates["burnout prevalence behind that rate (0–1)"].notna().all()
    assert rates["source of that prevalence"].str.len().gt(0).all()

    def save_turnover():
        next(b for b in at.button if b.label == "Save" and "costs_form" in str(b.form_id)).click().run()
        assert not at.exception

    at.number_input(key="set_rr_low").set_value(1.4)
    at.number_input(key="set_rr_high").set_value(3.0)
    at.number_input(key="set_cost_high").set_value(1.6)
    at.number_input(key="set_observed_all").set_value(0.18)
    save_turnover()
    s = saved_settings.load(eng)
    assert (s.relative_risk_low, s.relative_risk_high, s.cost_high_factor) == (1.4, 3.0, 1.6)
    assert s.observed_turnover.get("all") == 0.18
    assert set(s.reference_burnout_rate) == set(rates["team kind"]) and set(s.reference_burnout_source)

    # what the page saves is checked by the Settings' own validator: a prevalence above 1 is refused whole
    import pytest
    from burnout.errors import InputError
    with pytest.raises(InputError, match="reference burnout rate"):
        saved_settings.save(eng, {"reference_burnout_rate": {"crisis_line": 1.5}, "relative_risk_low": 1.2},
                            actor="demo-admin")
    assert saved_settings.load(eng).relative_risk_low == 1.4


def test_each_chart_s_table_is_sent_once_its_box_is_opened(writable_db):
    """The tables beside the review's charts are sent only when asked for: at ten thousand
    helpers the weekly heatmap's table alone was a 6 MB message that held back every figure
    of the page in a browser by 5 s.  Opened, each box holds its chart's table."""
    from test_release_store import _open_review as open_as_hr

    at = open_as_hr(writable_db["engine"])
    boxes = [e for e in at.expander if e.label == "Show as a table"]
    assert len(boxes) == 3
    closed = [list(df.value.columns) for df in at.dataframe]
    assert not any("Week starting" in cols for cols in closed)
    for key in ("rv_bands_table", "rv_heatmap_table", "rv_participation_table"):
        at.session_state[key] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    opened = [list(df.value.columns) for df in at.dataframe]
    assert len(opened) == len(closed) + 3
    weekly = [cols for cols in opened if "Week starting" in cols]
    assert len(weekly) == 2          # the heatmap's weeks and the participation's
    assert any("Checked in (%)" in cols for cols in weekly)
