"""The HR review's levers as an attacker uses them (issue 10, point 4): the turnover
assumptions a reviewer may try out and the what-if levers each weigh people, and a
lever that weighs one subset apart from the rest releases that subset's sum.

- A replacement cost per role (or a turnover rate per kind of team) tried in a session:
  the organisation's expected cost with one role at x1 and every other at x0 is that
  role's sum alone.  On the old page, in an organisation with one mental health
  counsellor, that gave $8,688 = 2 x the counsellor's own $4,344.01 at the saved x0.5.
- The caseload cap moves only the helpers above their role standard: its saving in a
  team with 3 of them was their sum ($215 = $145.20 + $2.11 + $67.30).
"""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from burnout import auth, turnover
from burnout.errors import InputError
from burnout.views.data import active_roster, load_data, people_frame
from burnout.views.review import SESSION_ASSUMPTIONS, build_review

from conftest import ROOT
from helpers import small_org

MIN_N = 5
PASSWORD = "attack-password-1234"


@pytest.fixture(scope="module")
def one_counsellor(tmp_path_factory):
    """26 helpers in 3 teams; one mental health counsellor in the whole organisation."""
    engine = small_org(tmp_path_factory.mktemp("levers"), helpers=26, weeks=14, seed=5)
    return engine, load_data(engine)


@pytest.fixture(scope="module")
def three_above_standard(tmp_path_factory):
    """48 helpers; team ADD-North (11) has 3 helpers above their role standard."""
    engine = small_org(tmp_path_factory.mktemp("levers"), helpers=48, weeks=14, seed=9)
    return engine, load_data(engine)


def _impact(data):
    roster = active_roster(data.roster, data.as_of)
    return turnover.helper_impact_under(data.leaving_model, roster, data.latest, data.settings)


def test_a_cost_per_role_tried_in_a_session_cannot_single_out_the_one_counsellor(one_counsellor):
    engine, data = one_counsellor
    impact = _impact(data)
    alone = impact[impact["role"] == "mental health counsellor"]
    assert len(alone) == 1, "this organisation has one counsellor"
    roles = sorted(impact["role"].unique())
    attack = {"default_cost_multiplier": 0.0,
              "cost_multiplier": {r: 1.0 if r == "mental health counsellor" else 0.0 for r in roles}}
    # the old page built this review: its organisation total was the counsellor's alone
    with pytest.raises(InputError, match="single out"):
        build_review(engine, "org", attack, data=data)
    for key, value in (("cost_multiplier", {"nurse": 3.0}), ("default_cost_multiplier", 0.1),
                       ("base_turnover", {str(impact["team_kind"].iloc[0]): 0.5}),
                       ("default_base_turnover", 0.5), ("cost_per_departure", {"nurse": 1.0})):
        with pytest.raises(InputError):
            build_review(engine, "org", {key: value}, data=data)
    # what stays open weighs everyone alike, and does change the estimate
    assert SESSION_ASSUMPTIONS == {"relative_risk"}
    base = build_review(engine, "org", data=data).turnover.total
    flat = build_review(engine, "org", {"relative_risk": 1.0}, data=data).turnover.total
    assert float(flat["attributable_cost"]) == pytest.approx(0.0, abs=1e-6)
    assert float(base["attributable_cost"]) > 0


def test_the_review_page_offers_no_cost_or_turnover_per_role_or_kind(one_counsellor, monkeypatch):
    from burnout.ui.common import now

    engine, _ = one_counsellor
    auth.create_user(engine, "levers-hr", PASSWORD, "hr")
    monkeypatch.setenv("BURNOUT_DATABASE_URL", str(engine.url))
    monkeypatch.setenv("BURNOUT_DEMO", "0")
    at = AppTest.from_file(str(ROOT / "burnout" / "ui" / "org_review.py"), default_timeout=120)
    at.session_state["user"] = auth.authenticate(engine, "levers-hr", PASSWORD)
    at.session_state["last_seen"] = now()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    keys = {w.key for w in at.number_input}
    assert "rv_rr" in keys
    assert not [k for k in keys if k and k.startswith(("rv_mult", "rv_base"))], keys
    at.number_input(key="rv_rr").set_value(3.0).run()
    assert not at.exception, [e.value for e in at.exception]


def test_the_caseload_cap_is_not_shown_over_three_helpers(three_above_standard):
    engine, data = three_above_standard
    people = people_frame(data)
    team = people[people["team"] == "ADD-North"]
    capped = turnover.capped_helpers(data.latest, data.settings.risk_weights) & set(team["helper_id"])
    assert len(capped) == 3, "the team this test is about"
    rv = build_review(engine, "team:ADD-North", data=data)
    assert rv.turnover.what_if is not None, "the team's what-if is shown"
    levers = rv.summary.levers
    cap_rows = levers[levers["Lever"].str.contains("capped|together")]
    assert len(cap_rows) == 2
    for _, row in cap_rows.iterrows():
        assert all(str(v).startswith("not shown") for v in row.iloc[1:]), row.to_dict()
    # the old page's $215 (the three helpers' $145.20 + $2.11 + $67.30) appears nowhere
    assert "215" not in levers.astype(str).to_numpy().ravel().tolist()
    assert "not applied" in rv.section("what_if").text
    # the review's own scenario asks for the cap: its figures are the lower-only lever's
    assert rv.turnover.what_if["leavers_avoided"] == pytest.approx(
        float(levers.iloc[0]["Leavers avoided per year"]), abs=0.006)
    # a team with none above its standard, or with 5 or more, keeps the cap's figures
    for other in ("CL-Westfield", "CW-Meadow", "SC-South"):
        lv = build_review(engine, f"team:{other}", data=data).summary.levers
        assert not str(lv.iloc[1]["Cost saved per year ($)"]).startswith("not shown"), other
    # the organisation's cap figure minus its shown teams' covers the 5 in the others
    org = build_review(engine, "org", data=data).summary.levers
    assert not str(org.iloc[1]["Cost saved per year ($)"]).startswith("not shown")


def test_the_readers_attacker_finds_the_old_cap_figures(three_above_standard, monkeypatch):
    """The attacker of tests/test_attack_readers.py reads each lever as a row over the
    helpers it moves: it finds the three helpers in the old team report's cap figures,
    and nothing in the report as it is now."""
    import test_attack_readers as readers
    from burnout.views import review as review_views

    engine, data = three_above_standard
    people = people_frame(data)
    capped = turnover.capped_helpers(data.latest, data.settings.risk_weights)

    def found() -> list:
        got = readers.Released(sorted(data.scores["week_start"].unique()), capped)
        got.levers(build_review(engine, "team:ADD-North", data=data).summary.levers, {"team": "ADD-North"})
        return [f for m, figs in got.rows.items() for f in readers._undetermined(data, people, m, figs, set())]

    assert found() == []
    monkeypatch.setattr(review_views, "cap_shown", lambda *a, **k: True)       # the old review
    assert [ids for _, _, ids in found()] == [("H0015", "H0019", "H0020")]
