"""What a lead sees: the team view and one consenting helper's view, as typed objects."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from burnout import auth, privacy, seed
from burnout.store import frames
from burnout.views.helper import HelperView, helper_view
from burnout.views.tables import team_drivers
from burnout.views import team as team_views
from burnout.views.team import TeamView, team_view

MIN_N = 5


def _user(engine, name):
    return auth.authenticate(engine, name, seed.DEMO_PASSWORD)


def test_team_view_protects_private_helpers(demo_db):
    eng = demo_db["engine"]
    lead = _user(eng, "demo-lead")
    view = team_view(eng, lead)
    assert isinstance(view, TeamView) and view.team == demo_db["lead_team"]
    roster = frames.roster(eng)
    team = roster[(roster["team"] == demo_db["lead_team"]) & roster["end_date"].isna()]
    consenting = set(team.loc[team["consent_lead_view"], "helper_id"])
    private = set(team["helper_id"]) - consenting
    if 0 < len(private) < MIN_N:
        assert view.ids == consenting            # figures over the consenting helpers only
    assert set(view.consenting["helper_id"]) == consenting
    assert set(view.heatmap_cells.get("helper", pd.Series(dtype=object))) <= \
        set(team.loc[team["consent_lead_view"], "name"])
    shown = view.weekly[view.weekly["status"] == privacy.SHOWN]
    assert (shown["n"] >= MIN_N).all()
    with pytest.raises(PermissionError):
        team_view(eng, lead, "CL-North")
    with pytest.raises(PermissionError):
        team_view(eng, _user(eng, "demo-helper1"), demo_db["lead_team"])


def test_team_view_tables_say_hidden_cells_in_words(demo_db):
    eng = demo_db["engine"]
    view = team_view(eng, _user(eng, "demo-lead"))
    trend = view.trend_table()
    assert list(trend.columns) == ["Week starting", "Weekly strain (pulse, 0-100)", "People"]
    hidden = view.weekly["status"] != privacy.SHOWN
    assert all(isinstance(v, str) for v in trend.loc[hidden.to_numpy(), "People"])
    assert all(v >= MIN_N for v in trend.loc[~hidden.to_numpy(), "People"])
    if view.heatmap_kind == "helpers":
        heat = view.heatmap_table()
        assert set(heat["Helper"]) <= set(view.consenting["name"]) and "status" not in heat
    assert list(view.caseload.columns)[:2] == ["Helper", "Role"]     # operational: everyone in the team


def test_helper_view_only_for_consenting_own_team(demo_db):
    eng = demo_db["engine"]
    lead, hr = _user(eng, "demo-lead"), _user(eng, "demo-hr")
    roster = frames.roster(eng)
    team = roster[roster["team"] == demo_db["lead_team"]]
    yes = team.loc[team["consent_lead_view"], "helper_id"].iloc[0]
    no = team.loc[~team["consent_lead_view"], "helper_id"].iloc[0]
    other = roster.loc[roster["team"] != demo_db["lead_team"], "helper_id"].iloc[0]
    v = helper_view(eng, lead, yes)
    assert isinstance(v, HelperView)
    assert v.helper_id == yes and len(v.weekly) > 0 and v.measures and v.measures[0] == "risk_score"
    for hid, who in ((no, lead), (other, lead), (yes, hr)):
        with pytest.raises(PermissionError):
            helper_view(eng, who, hid)


def test_team_drivers_need_a_group():
    people = pd.DataFrame({"helper_id": [f"p{i}" for i in range(6)], "risk_score": [50.0] * 6,
                           "c_caseload": [0.9, 0.8, 0.7, 0.2, 0.1, 0.6], "c_overtime": [0.1] * 6})
    d = team_drivers(people, MIN_N)
    assert d.loc[d["driver"] == "Caseload above the role standard", "share"].item() == pytest.approx(4 / 6)
    assert team_drivers(people.iloc[:4], MIN_N).empty
    assert team_drivers(people, MIN_N, known={"p0", "p1", "p2"}).empty   # 3 private people


def test_lead_sees_causes_apart_from_symptoms_with_actions_and_notes(demo_db):
    """What is driving it (workplace factors, each with a first step and its linked
    action notes) apart from what the team reports, ranked as each helper's drivers."""
    from burnout import risk
    eng = demo_db["engine"]
    view = team_view(eng, _user(eng, "demo-lead"))
    assert len(view.drivers)                    # the demo lead's team passes the drivers' rule
    assert set(view.causes["component"]) <= set(risk.CAUSES) and len(view.causes)
    assert set(view.symptoms["component"]) <= set(risk.SYMPTOMS)
    assert list(view.causes["points"]) == sorted(view.causes["points"], reverse=True)
    notes = pd.DataFrame({"link_kind": ["driver", "driver", "alert"],
                          "link_ref": [view.causes["component"].iloc[0]] * 2 + ["x"],
                          "status": ["done", "planned", "done"]})
    table = view.causes_table(notes)
    assert table["Action notes"].iloc[0] == "1 done, 1 planned"
    assert (table["Suggested first step"].str.len() > 0).all()
    assert "What people report" in view.symptoms_table().columns


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["T1", "T2", "T10", "T3"]),
                          st.one_of(st.none(), st.sampled_from(["nurse", "counsellor", "case manager"])),
                          st.one_of(st.none(), st.sampled_from(["North", "South", "east"]))),
                min_size=1, max_size=30),
       st.booleans())
def test_team_groups_equal_a_groupby_per_team(rows, categorical):
    """The audit's sub-groups of each team (views.team.team_groups) are what a groupby per team
    with each column's values sorted gives, with missing roles or sites left out."""
    roster = pd.DataFrame(rows, columns=["team", "role", "site"])
    if categorical:        # categories in an order that is not the values' own
        roster["team"] = roster["team"].astype("category")
        roster["role"] = pd.Categorical(roster["role"], categories=["nurse", "case manager", "counsellor"])
    slow = {str(t): tuple((g, v) for g in ("role", "site") for v in sorted(r[g].dropna().unique()))
            for t, r in roster.groupby("team", observed=True)}
    fast = team_views.team_groups(roster)
    assert fast == slow
    assert all(list(fast[k]) == list(slow[k]) for k in slow)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["T1", "T2", "All", "T10"]), st.integers(0, 5),
                          st.sampled_from([privacy.SHOWN, privacy.PRIMARY, privacy.COMPLEMENTARY])),
                max_size=40))
def test_team_week_cells_equal_the_dict_of_every_cell(rows):
    """The audit's (team, week) -> status mapping, indexed per team on first use, holds the
    same keys and statuses as a dict of every cell (later rows win), and one team's cells
    alone are that dict's cells of the team."""
    weeks = pd.Series([pd.Timestamp("2026-01-05") + pd.Timedelta(weeks=w) for _, w, _ in rows],
                      dtype="datetime64[ns]")
    teams, statuses = [t for t, _, _ in rows], [s for _, _, s in rows]
    cells = team_views.TeamWeekCells(teams, weeks, statuses)
    want = dict(zip(zip(teams, weeks), statuses))
    assert dict(cells.items()) == want and len(cells) == len(want)
    for (t, w), s in want.items():
        assert cells[(t, w)] == s and cells.get((t, pd.Timestamp(w))) == s
    assert cells.get(("T3", pd.Timestamp("2026-01-05"))) is None
    for t in ("T1", "T2", "All", "T3"):
        assert cells.of_team(t) == {w: s for (tt, w), s in want.items() if tt == t}
