"""Costs and leavers across reports (issue 10): the organisation review's turnover table by
team, every one-team report's table by role (``report --scope team:X``, the same
review), and the HR page's site filter, collected into one linear system per figure.

Each released cell is a sum over its people of their figure under that report's own
settings: a report pools the base turnover of kinds with a hidden team and puts roles too
few in one of its cells on the default replacement cost, so one helper's figure is not the
same in every report.  But the attacker knows the settings and the roster (kind, role,
salary), so each helper's figure in any report is a known multiple of one unknown of theirs;
the rows below carry those multiples.  The site filter narrows only the roll-ups (the
turnover section does not depend on it, views.review.refiltered): checked, it adds no row.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import update

from burnout import disclosure, privacy
from burnout.store.schema import helpers as helpers_t
from burnout.views import review as review_views
from burnout.views.data import load_data, people_frame
from burnout.views.review import build_review
from burnout.views.tables import narrowing, review_plan

from helpers import determined_sets, null_space, small_org

FIGURES = ("expected_turnover_cost", "attributable_cost", "p_leave_12m", "clients_affected")


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    """40 helpers in 6 teams: AMH-East (4) is hidden, CL-Central (6) with it.  Four of
    ADD-Hillside's 7 and three of CW-OldTown's 7 share with their lead (known to HR), so the
    gate shows only HSW-Central and the total.  Checked by hand: with every team but AMH-East
    shown, the test finds AMH-East's 4 and ADD-Hillside's 3 private helpers."""
    engine = small_org(tmp_path_factory.mktemp("costs"), helpers=40, weeks=14, seed=3)
    roster = load_data(engine).roster.sort_values("helper_id")
    sharing = [h for team, k in (("ADD-Hillside", 4), ("CW-OldTown", 3))
               for h in roster.loc[roster["team"] == team, "helper_id"].head(k)]
    with engine.begin() as conn:
        conn.execute(update(helpers_t).where(helpers_t.c.helper_id.in_(sharing)).values(consent_lead_view=True))
    return engine, load_data(engine)


def _reports(data):
    """(cells, per-helper figures) of every report HR can ask for, built the way review_base
    builds each: the organisation by team, each team by role."""
    people = people_frame(data)
    min_n = data.settings.min_group_size
    plan = review_plan(people, min_n)
    out = [review_views.turnover_impact(data, people, min_n, None, group_col="team", plan=plan,
                                        fixed=narrowing(None, None))]
    for team in sorted(people["team"].unique()):
        out.append(review_views.turnover_impact(data, people[people["team"] == team], min_n, None, group_col="role",
                                                plan=plan, fixed=narrowing(None, team)))
    return people, out


def test_no_small_group_is_determined_by_the_costs_of_every_report(org):
    engine, data = org
    people, reports = _reports(data)
    ids = list(people["helper_id"])
    pos = {h: i for i, h in enumerate(ids)}
    sizes = people.groupby("team").size()
    assert sizes["AMH-East"] == 4, "the organisation this test is about"
    # the organisation's table hides AMH-East and one more team to protect it
    org_table = reports[0].table.set_index("team")
    assert org_table.loc["AMH-East", "status"] != privacy.SHOWN
    known = disclosure.consenting(people)
    assert len(known) == 7
    for fig in FIGURES:
        figures = [tb.ranges.impact.set_index("helper_id")[fig] for tb in reports]
        # one unknown per helper: their figure in the first report that gives one
        ref = pd.concat(figures, axis=1).bfill(axis=1).iloc[:, 0].reindex(ids)
        rows = []
        for tb, per in zip(reports, figures):
            col = tb.group_col
            impact = tb.ranges.impact
            for r in tb.table.to_dict("records"):
                if r["status"] != privacy.SHOWN:
                    continue
                key = str(r[col])
                members = impact if key == privacy.TOTAL else impact[impact[col].astype("string")
                                                                     .fillna("(no team)") == key]
                row = np.zeros(len(ids))
                for h, v in zip(members["helper_id"], members[fig]):
                    if pd.notna(v) and pd.notna(ref[h]) and ref[h] != 0:
                        row[pos[h]] = v / ref[h]
                rows.append(row)
        for h in known:
            row = np.zeros(len(ids))
            row[pos[h]] = 1.0
            rows.append(row)
        null = null_space(rows)
        # sets of private helpers only: a known helper's part of any sum is known
        private = [i for i, h in enumerate(ids) if h not in known]
        person = np.eye(len(ids))[:, private]
        found = determined_sets(null, person, data.settings.min_group_size, covered=np.abs(np.vstack(rows)).sum(0) > 0)
        assert found == [], (fig, [tuple(ids[private[i]] for i in s) for s in found[:3]])


def test_the_site_filter_adds_no_turnover_figure(org):
    engine, data = org
    site = sorted(people_frame(data)["site"].unique())[0]
    whole = build_review(engine, "org", data=data).turnover.table
    narrowed = build_review(engine, "org", data=data, where={"site": [site]}).turnover.table
    pd.testing.assert_frame_equal(whole, narrowed)
