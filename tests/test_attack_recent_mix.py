"""The "recent weeks" figures beside the weekly figures of the same weeks (issue 10, the
4-week mix).  The roll-ups by team, role and site describe the last weeks; the team x week
table shows each of those weeks.  When a group's recent figure averaged each person's own
mean first, a reader could take the recent figure less a quarter of the four weekly sums
and be left with a weighted mix of the few people who skipped a week — one person's mean
when only one skipped.  The recent figure is now the mean of every answer the group gave
in those weeks (so its sum is the sum of the weekly sums), and it is shown only when every
one of those weeks' own audit allows the group."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from burnout import privacy
from burnout.domain.settings import Settings
from burnout.views.data import OrgData, people_frame
from burnout.views.tables import hr_known, hr_weekly, review_plan, rollup


MIN_N = 5
WEEKS = pd.date_range("2026-10-05", periods=4, freq="7D")


def org_data(spec, skips=()):
    """``spec``: (team, role, site, count, value); ``skips``: (helper, week index, value or None)
    overrides (None: the helper did not answer that week)."""
    rows, k = [], 0
    for team, role, site, count, value in spec:
        for _ in range(count):
            k += 1
            rows.append({"helper_id": f"H{k:03d}", "name": f"P{k}", "team": team, "team_kind": "addiction",
                         "role": role, "site": site, "start_date": pd.Timestamp("2025-01-06"), "end_date": pd.NaT,
                         "consent_lead_view": False, "value": float(value)})
    roster = pd.DataFrame(rows)
    answers = {(r["helper_id"], i): r["value"] for r in rows for i in range(len(WEEKS))}
    for helper, i, value in skips:
        if value is None:
            answers.pop((helper, i), None)
        else:
            answers[(helper, i)] = float(value)
    scores = pd.DataFrame([{"helper_id": h, "week_start": WEEKS[i], "pulse_strain": v}
                           for (h, i), v in sorted(answers.items())])
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "risk_score": np.nan, "risk_band": None,
                           "caseload_ratio": np.nan, "active_cases": np.nan})
    data = OrgData(roster=roster.drop(columns="value"), caseload=pd.DataFrame(), scores=scores,
                   history=pd.DataFrame(columns=["helper_id", "week_start", "risk_score"]), latest=latest,
                   as_of=WEEKS[-1], settings=Settings(), leaving_model=None)
    return data, scores


def released(data, scores):
    """What the HR reader gets of pulse strain: the recent roll-up by team and the team x week
    table of the same weeks (as build_review makes them)."""
    people = people_frame(data, weeks=len(WEEKS))
    plan = review_plan(people, MIN_N)
    by_team = rollup(people, "team", MIN_N, plan=plan)
    weekly = hr_weekly(scores, data.roster, "pulse_strain", MIN_N, plan=plan, known=hr_known(data.roster))
    return people, by_team, weekly


def cell(sup, **where):
    mask = np.ones(len(sup.table), dtype=bool)
    for k, v in where.items():
        col = sup.table[k]
        mask &= (col == v).to_numpy() if isinstance(v, pd.Timestamp) else (col.astype(str) == str(v)).to_numpy()
    row = sup.table[mask]
    shown = (sup.status.loc[mask, "pulse_strain"] == privacy.SHOWN).to_numpy()
    return (float(row["pulse_strain"].iloc[0]), int(row["n"].iloc[0])) if len(row) and shown[0] else None


SPEC = [("Alpha", "nurse", "North", 6, 40), ("Bravo", "social worker", "North", 6, 50),
        ("Charlie", "counsellor", "South", 6, 60)]


def test_the_mix_of_one_person_who_skipped_a_week_is_not_released():
    # H001 (Alpha) answered 80, 90, 100 and skipped the last week; everyone else answered 4 weeks
    data, scores = org_data(SPEC, [("H001", 0, 80), ("H001", 1, 90), ("H001", 2, 100), ("H001", 3, None)])
    _, by_team, weekly = released(data, scores)
    recent = cell(by_team, team="Alpha")
    weeks = [cell(weekly, team="Alpha", week_start=w) for w in WEEKS]
    assert recent is not None and all(weeks), "every figure of Alpha is shown: six people, five or six a week"
    mean, n = recent
    week_sums = [m * k for m, k in weeks]
    # the attack: n x recent less a quarter of the weekly sums is (1/3 - 1/4) x H001's three answers;
    # with per-person means first it gave H001's mean, 90.0, exactly
    guess = 4 * (n * mean - sum(week_sums) / 4)
    assert guess != pytest.approx(90.0, abs=0.5)
    # the recent figure is what the weekly figures already say: the mean of the group's answers
    assert mean == pytest.approx(sum(week_sums) / sum(k for _, k in weeks))


def test_a_recent_figure_over_a_week_the_weekly_table_hides_is_hidden():
    # in the last week only three of Bravo answered: the week's Bravo cell is hidden (and so
    # is one more cell of that week).  Recent Bravo less its three shown weeks would be the
    # three people's answers of the hidden week.
    skips = [(f"H{k:03d}", 3, None) for k in (7, 8, 9)]
    data, scores = org_data(SPEC, skips)
    people, by_team, weekly = released(data, scores)
    assert cell(weekly, team="Bravo", week_start=WEEKS[3]) is None
    assert cell(by_team, team="Bravo") is None
    # every figure the reader holds, as rows over person-weeks: no small group of one week,
    # and no person over the weeks, is determined by them
    _assert_nothing_small_determined(people, scores, by_team, weekly)


def test_nothing_small_is_determined_over_person_weeks():
    rng = np.random.default_rng(5)
    for _ in range(6):
        skips = [(f"H{int(h):03d}", int(w), None) for h, w in
                 zip(rng.integers(1, 19, size=rng.integers(1, 6)), rng.integers(0, 4, size=5))]
        data, scores = org_data(SPEC, skips)
        people, by_team, weekly = released(data, scores)
        _assert_nothing_small_determined(people, scores, by_team, weekly)


def _assert_nothing_small_determined(people, scores, by_team, weekly):
    """Variables: one per person-week answer.  A shown recent cell is the sum of its group's
    answers over the weeks; a shown weekly cell the sum of its group's answers that week.  No
    set of 1-4 people may have its answers of one week, or of all the weeks, determined."""
    pw = scores.merge(people[["helper_id", "team"]], on="helper_id").reset_index(drop=True)
    team = pw["team"].astype(str).to_numpy()
    week = pw["week_start"].to_numpy()
    rows = []
    for i, key in enumerate(by_team.table["team"].astype(str)):
        if by_team.status["pulse_strain"].iloc[i] == privacy.SHOWN:
            rows.append(np.ones(len(pw)) if key == privacy.TOTAL else (team == key).astype(float))
    for i in range(len(weekly.table)):
        if weekly.status["pulse_strain"].iloc[i] == privacy.SHOWN:
            key = str(weekly.table["team"].iloc[i])
            m = week == np.datetime64(pd.Timestamp(weekly.table["week_start"].iloc[i]))
            rows.append((m & ((team == key) | (key == privacy.TOTAL))).astype(float))
    a = np.vstack(rows)
    _, sv, vt = np.linalg.svd(a)
    null = vt[int((sv > 1e-9).sum()):]
    ids = sorted(pw["helper_id"].unique())
    person = (pw["helper_id"].to_numpy()[:, None] == np.array(ids)[None, :]).astype(float)
    # each target a sum of per-person columns: project those once, then add them up per set
    parts = [null @ person, *[null @ (person * (week == np.datetime64(w))[:, None]) for w in WEEKS]]
    has = [person.sum(axis=0), *[(person * (week == np.datetime64(w))[:, None]).sum(axis=0) for w in WEEKS]]
    for size in range(1, MIN_N):
        sets = np.array(list(combinations(range(len(ids)), size)))
        for proj, count in zip(parts, has):
            residual = np.abs(proj[:, sets].sum(axis=2)).max(axis=0) if len(null) else np.zeros(len(sets))
            answered = count[sets].sum(axis=1) > 0
            bad = answered & (residual < 1e-8)
            assert not bad.any(), [tuple(ids[j] for j in c) for c in sets[bad][:3]]
