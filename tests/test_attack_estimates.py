"""Counts of "people with a risk estimate" as an attacker reads them (issue 10).

A risk estimate rests on the helper's own recent answers, so the number of people with one
in a group says how many of the group did not answer.  Team AMH-Riverside has 6 helpers; 5
share their results with their lead (HR material reaches managers, so HR and the lead
together know those 5), and the sixth gave no answers.  On the old code the turnover table
showed "People with a risk estimate: 5" for the team, and the risk-band table "People: 5":
beside the team's 6 on the roster, the sixth helper did not check in.  The risk estimate's
own audit saw no one to protect (every person with an estimate there is known); the roster
audit, where everyone on the roster counts whether they answered or not, hides the team.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from burnout import disclosure, ingest, selfservice
from burnout.demo import write_demo
from burnout.store import get_engine
from burnout.views.data import load_data, people_frame
from burnout.views.review import build_review

from helpers import determined_sets, null_space

MIN_N = 5
TEAM = "AMH-Riverside"


def _org(folder, silent_count: int):
    """48 helpers (seed 9); in AMH-Riverside (6 helpers) the last ``silent_count`` never
    answer and the others share with their lead."""
    files = write_demo(folder / "files", helpers=48, weeks=14, seed=9)
    roster = pd.read_csv(files["roster"], dtype=str)
    team = sorted(roster.loc[roster["team"] == TEAM, "helper_id"])
    assert len(team) == 6, "the team this test is about"
    silent = team[-silent_count:]
    surveys = pd.read_csv(files["surveys"], dtype=str, keep_default_na=False)
    surveys[~surveys["helper_id"].isin(silent)].to_csv(files["surveys"], index=False)
    engine = get_engine(f"sqlite:///{folder / 'org.db'}")
    ingest.import_files(engine, roster=str(files["roster"]), surveys=str(files["surveys"]),
                        caseload=str(files["caseload"]))
    for hid in team[:-silent_count]:
        selfservice.set_consent(engine, hid, True, actor=hid)
    return engine, silent


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    engine, silent = _org(tmp_path_factory.mktemp("estimates"), 1)
    return engine, silent[0]


def _counts(review) -> dict:
    """The team's shown counts of people with a risk estimate: turnover and risk bands."""
    tb = review.turnover.table
    row = tb[tb["team"] == TEAM].iloc[0]
    bands = review.tables["risk_bands"]
    brow = bands.table[bands.table["team"] == TEAM]
    out = {}
    if pd.notna(row["helpers_with_risk"]):
        out["turnover"] = int(row["helpers_with_risk"])
    if len(brow) and pd.notna(brow.iloc[0]["n"]):
        out["bands"] = int(brow.iloc[0]["n"])
    return out


def test_counts_of_people_with_an_estimate_pass_the_roster_audit(org):
    engine, silent = org
    data = load_data(engine)
    people = people_frame(data)
    mine = people[people["team"] == TEAM]
    assert mine.loc[mine["helper_id"] == silent, "risk_score"].isna().all(), "the sixth has no estimate"
    assert mine["risk_score"].notna().sum() == 5
    review = build_review(engine, "org", data=data)
    assert _counts(review) == {}, "the organisation's review hides the team (and did before)"
    # the team's own report: on the old code "People with a risk estimate" 5 in its turnover
    # total and "People" 5 in its risk bands, beside the team's 6 on the roster
    team_review = build_review(engine, f"team:{TEAM}", data=data)
    assert pd.isna(team_review.turnover.total["helpers_with_risk"])
    team_bands = team_review.tables["risk_bands"].table
    assert team_bands["n"].isna().all()
    assert team_bands[["band_low", "band_moderate", "band_high"]].isna().all().all()
    # the team's turnover figures themselves are sums over everyone, answered or not: still shown
    assert team_review.turnover.total["status"] == "shown"
    assert "did not check in" in str(team_review.section("turnover").display.iloc[-1].tolist())
    # and the attacker's rows (who has an estimate: everyone on the roster a variable, every
    # sharing helper known) determine no one, from every count of the review
    ids = list(people["helper_id"])
    rows = []
    tb = review.turnover.table
    for key, n in zip(tb["team"], tb["helpers_with_risk"]):
        if pd.notna(n):
            rows.append(np.array([key == "All" or t == key for t in people["team"]], dtype=float))
    bands = review.tables["risk_bands"].table
    for key, n in zip(bands["team"], bands["n"]):
        if pd.notna(n):
            rows.append(np.array([key == "All" or t == key for t in people["team"]], dtype=float))
    known = disclosure.consenting(people)
    rows += [np.eye(len(ids))[i] for i, h in enumerate(ids) if h in known]
    unknown = [i for i, h in enumerate(ids) if h not in known]
    person = np.eye(len(ids))[:, unknown]
    team_rows = [np.array([t == TEAM for t in people["team"]], dtype=float)
                 for n in (team_review.turnover.total["helpers_with_risk"], *team_bands["n"]) if pd.notna(n)]
    assert determined_sets(null_space(rows + team_rows), person, MIN_N) == []
    # the old team report's count: the team row with the 5 known determines the sixth
    old = rows + [np.array([t == TEAM for t in people["team"]], dtype=float)]
    assert [tuple(ids[unknown[i]] for i in c) for c in determined_sets(null_space(old), person, MIN_N)] \
        == [(silent,)]


def test_the_leads_risk_bands_do_not_say_who_did_not_answer(tmp_path):
    """4 of the 6 share (fewer than 5, so the lead's figures are over the whole team) and the
    other 2 never answered.  The lead knows the 4 have estimates: risk bands counting 4 people
    would say both private helpers had not checked in.  The lead's bands now ask the roster
    audit for their count as HR's do; the old code hid them here too (the team's own
    protection of its private helpers), so this is a regression test, not a found leak."""
    from burnout.views import team as team_views

    engine, silent = _org(tmp_path, 2)
    data = load_data(engine)
    view = team_views.build_team_view(data, TEAM)
    bands = view.bands.table
    assert bands["n"].isna().all(), bands
    assert view.drivers.empty
