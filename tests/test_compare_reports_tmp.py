"""TEMPORARY: the old reports module and the new views give the same tables and figures
on the demo organisation.  Deleted together with burnout/reports.py."""
from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from burnout import auth, reports, seed
from burnout.views import data as vdata
from burnout.views import helper as vhelper
from burnout.views import review as vreview
from burnout.views import team as vteam


def _frames_equal(a, b, what):
    if isinstance(a, pd.DataFrame):
        assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=True, obj=what)
    else:
        assert a == b, what


CASES = [dict(scope="org"), dict(scope="team:{team}"),
         dict(scope="org", where="site", trend_measure="risk_score", window_weeks=8,
              scenario={"burnout_reduction_points": 20, "cap_caseload": False, "intervention_cost": 50_000},
              settings_override={"relative_risk": 2.5}),
         dict(scope="org", trend_measure="burned_out", heat_weeks=12),
         dict(scope="team:{team}", trend_measure="work_burnout")]


@pytest.mark.parametrize("case", CASES)
def test_review_same_as_before(demo_db, case):
    eng = demo_db["engine"]
    kw = dict(case)
    kw["scope"] = kw["scope"].format(team=demo_db["lead_team"])
    if kw.get("where") == "site":
        from burnout.store import frames
        kw["where"] = {"site": [frames.roster(eng)["site"].value_counts().index[0]]}
    scope = kw.pop("scope")
    override = kw.pop("settings_override", None)
    old = reports.build_review(eng, scope, override, **kw)
    new = vreview.build_review(eng, scope, override, **kw)
    assert [s["key"] for s in old["sections"]] == [s.key for s in new.sections]
    for o, n in zip(old["sections"], new.sections):
        assert o["title"] == n.title and o["text"] == n.text
        _frames_equal(o["display"], n.display, f"section {n.key}")
    assert set(old["tables"]) == set(new.tables)
    for k in old["tables"]:
        _frames_equal(old["tables"][k].table, new.tables[k].table, f"table {k}")
        _frames_equal(old["tables"][k].status, new.tables[k].status, f"status {k}")
    _frames_equal(old["turnover"]["table"], new.turnover.table, "turnover")
    assert old["turnover"]["what_if"] == new.turnover.what_if
    assert old["turnover"]["scenario"] == dict(new.turnover.scenario)
    assert old["turnover"]["resolved"] == dict(new.turnover.resolved)
    assert {k: v for k, v in old["evidence"].items()} == {e.kind: e.text for e in new.evidence}
    _frames_equal(old["assumptions"], new.assumptions, "assumptions")
    _frames_equal(old["participation"], new.participation, "participation")
    _frames_equal(old["trend"], new.trend, "trend")
    for k in ("title", "scope", "scope_label", "team", "as_of", "window_weeks", "min_n", "privacy_note"):
        assert old[k] == getattr(new, k), k
    assert old["filter"] == dict(new.filter)
    assert old["calibration"]["lines"] == list(new.calibration.lines)
    _frames_equal(old["calibration"]["display"], new.calibration.display, "calibration")
    for k, fig in old["figures"].items():
        assert fig.to_json() == new.figures[k].to_json(), f"figure {k}"


@pytest.mark.parametrize("measure", ["pulse_strain", "risk_score", "burned_out", "work_burnout"])
def test_team_view_same_as_before(demo_db, measure):
    eng = demo_db["engine"]
    lead = auth.authenticate(eng, "demo-lead", seed.DEMO_PASSWORD)
    old = reports.team_view(eng, lead, measure=measure)
    new = vteam.team_view(eng, lead, measure=measure)
    for k, v in old.items():
        n = getattr(new, k)
        if k == "bands":
            _frames_equal(v.table, n.table, k)
            _frames_equal(v.status, n.status, k)
        elif k in ("ids", "known"):
            assert (set(v) if v is not None else None) == (set(n) if n is not None else None), k
        else:
            _frames_equal(v, n, k)


def test_helper_view_same_as_before(demo_db):
    eng = demo_db["engine"]
    lead = auth.authenticate(eng, "demo-lead", seed.DEMO_PASSWORD)
    view = vteam.team_view(eng, lead)
    for hid in view.consenting["helper_id"]:
        old = reports.helper_view(eng, lead, hid)
        new = vhelper.helper_view(eng, lead, hid)
        for k, v in old.items():
            n = getattr(new, k)
            if k == "drivers":
                assert list(v) == list(n)
            elif k == "caseload_standard":
                assert (v == n) or (pd.isna(v) and pd.isna(n))
            else:
                _frames_equal(v, n, k)


def test_data_and_people_same_as_before(demo_db):
    eng = demo_db["engine"]
    old = reports.load_data(eng)
    new = vdata.load_data(eng)
    for k in ("roster", "caseload", "scores", "history", "latest"):
        _frames_equal(old[k], getattr(new, k), k)
    assert old["as_of"] == new.as_of and old["burnout_link"] == new.burnout_link
    _frames_equal(reports.people_frame(old), vdata.people_frame(new), "people")
    assert reports.data_stamp(eng) == vdata.data_stamp(eng)
