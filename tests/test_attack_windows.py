"""Every answers window a reader can choose, together (issue 10, point 1: every time slice).

The HR review offers the roll-ups over the last 4, 8 or 12 weeks, and the reader can open
all three.  So the gate must audit them as one linear system over person-weeks, with the
team x week cells shown under each choice, and the counts of who answered per week and
per window.  Each attack below has its numbers; then the same figures go into one linear
system (a variable per answer, and for counts one per active person and period) and no
person and no group of 1 to 4 may be determined.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from burnout import privacy
from burnout.domain.settings import Settings
from burnout import disclosure
from burnout.views.data import BLOCK_MEASURES, OrgData, people_frame
from burnout.views.tables import hr_known, hr_weekly, review_plan, rollup

from helpers import determined_sets, null_space

MIN_N = 5
N_WEEKS = 14
WEEKS = pd.date_range("2026-08-31", periods=N_WEEKS, freq="7D")
WINDOWS = (4, 8, 12)


def week(ago: int) -> pd.Timestamp:
    return WEEKS[N_WEEKS - 1 - ago]


def org(people, answers) -> OrgData:
    """``people``: (helper, team, role, site); ``answers``: {(helper, weeks ago, measure): value}."""
    roster = pd.DataFrame([{"helper_id": h, "name": h, "team": t, "team_kind": "addiction", "role": r, "site": s,
                            "start_date": pd.Timestamp("2025-01-06"), "end_date": pd.NaT,
                            "consent_lead_view": False} for h, t, r, s in people])
    rows = {}
    for (h, ago, m), v in answers.items():
        rows.setdefault((h, ago), {"helper_id": h, "week_start": week(ago)})[m] = float(v)
    scores = pd.DataFrame(list(rows.values()))
    for m in ("pulse_strain", "secondary_traumatic_stress", "work_burnout"):
        if m not in scores:
            scores[m] = np.nan
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "risk_score": np.nan, "risk_band": None,
                           "caseload_ratio": np.nan, "active_cases": np.nan})
    return OrgData(roster=roster, caseload=pd.DataFrame(), scores=scores,
                   history=pd.DataFrame(columns=["helper_id", "week_start", "risk_score"]), latest=latest,
                   as_of=WEEKS[-1], settings=Settings(), leaving_model=None)


class Released:
    """Every figure the HR reader holds of one measure: values (weeks, conditions) and counts
    (period, conditions), under every window choice."""

    def __init__(self):
        self.values: list = []
        self.counts: list = []
        self.tables: dict = {}


def release(data: OrgData, measure: str) -> Released:
    got = Released()
    active = data.roster["helper_id"]
    series = data.scores[["helper_id", "week_start", measure]].dropna()
    for w in WINDOWS:
        people = people_frame(data, w)
        plan = review_plan(people, MIN_N)
        window = tuple(week(i) for i in range(w))
        for g in ("team", "role", "site"):
            sup = rollup(people, g, MIN_N, plan=plan)
            got.tables[(w, g)] = sup
            for i, key in enumerate(sup.table[g].astype(str)):
                cond = {} if key == privacy.TOTAL else {g: key}
                if sup.status[measure].iloc[i] == privacy.SHOWN and pd.notna(sup.table[measure].iloc[i]):
                    got.values.append((window, cond))
                if sup.status["n"].iloc[i] == privacy.SHOWN:
                    got.counts.append((("window", w), cond))
        weekly = hr_weekly(series[series["helper_id"].isin(active)], data.roster, measure, MIN_N, plan=plan,
                           known=hr_known(data.roster))
        got.tables[(w, "weekly")] = weekly
        for i in range(len(weekly.table)):
            if weekly.status[measure].iloc[i] == privacy.SHOWN:
                key = str(weekly.table["team"].iloc[i])
                cond = {} if key == privacy.TOTAL else {"team": key}
                start = pd.Timestamp(weekly.table["week_start"].iloc[i])
                if measure in BLOCK_MEASURES:        # a cell of 4 weeks from its first
                    got.values.append((tuple(start + pd.Timedelta(weeks=j) for j in range(4)), cond))
                    got.counts.append((("4 weeks", start), cond))
                else:
                    got.values.append(((start,), cond))
                    got.counts.append((("week", start), cond))
    return got


def shown(sup, measure, **where):
    """(value, n) of a shown cell, else None."""
    mask = np.ones(len(sup.table), dtype=bool)
    for k, v in where.items():
        col = sup.table[k]
        mask &= (col == v).to_numpy() if isinstance(v, pd.Timestamp) else (col.astype(str) == str(v)).to_numpy()
    i = np.flatnonzero(mask)
    if not len(i) or sup.status[measure].iloc[i[0]] != privacy.SHOWN:
        return None
    return float(sup.table[measure].iloc[i[0]]), int(sup.table["n"].iloc[i[0]])


def determined_values(data: OrgData, measure: str, got: Released) -> list:
    """Sets of 1..4 people whose answers of one week, or of one window, the value figures
    determine (a figure: the sum of its group's answers over its weeks)."""
    s = data.scores[["helper_id", "week_start", measure]].dropna().merge(
        data.roster[["helper_id", "team", "role", "site"]], on="helper_id").reset_index(drop=True)
    rows = []
    for weeks, cond in got.values:
        m = s["week_start"].isin(list(weeks)).to_numpy()
        for k, v in cond.items():
            m &= (s[k].astype(str) == str(v)).to_numpy()
        rows.append(m.astype(float))
    periods = ([(w,) for w in WEEKS] + [tuple(week(i) for i in range(w)) for w in WINDOWS]
               + sorted({weeks for weeks, _ in got.values if len(weeks) == 4}))
    return _determined(rows, s["helper_id"].to_numpy(),
                       [s["week_start"].isin(list(p)).to_numpy() for p in periods])


def determined_counts(data: OrgData, got: Released) -> list:
    """Sets of 1..4 people whose count of who answered the figures determine.  Everyone
    active is a variable, whether they answered or not (a count says who did not, too): one
    per person and week for the weekly counts, and for the window counts one per person and
    4-week block, 1 for the block of their latest answer (so a window's count is the sum of
    its blocks'; a person counts once however often they answered)."""
    people = data.roster[["helper_id", "team", "role", "site"]]
    periods = ([("week", w) for w in WEEKS] + [("block", b) for b in range(max(WINDOWS) // 4)]
               + sorted({p for p, _ in got.counts if p[0] == "4 weeks"}))
    var = pd.DataFrame([{**p, "period": per} for per in periods for p in people.to_dict("records")])
    rows = []
    for (kind, x), cond in got.counts:
        if kind in ("week", "4 weeks"):      # who answered in that week / those 4 weeks
            m = (var["period"] == (kind, x)).to_numpy()
        else:
            m = var["period"].isin([("block", b) for b in range(x // 4)]).to_numpy()
        for k, v in cond.items():
            m &= (var[k].astype(str) == str(v)).to_numpy()
        rows.append(m.astype(float))
    targets = [(var["period"] == p).to_numpy() for p in periods]
    return _determined(rows, var["helper_id"].to_numpy(), targets)


def _determined(rows, ids, targets) -> list:
    if not rows:
        return []
    null = null_space(rows)
    people = sorted(set(ids))
    found = []
    for t in targets:
        person = np.array([(ids == p) & t for p in people], dtype=float).T       # variables x people
        found += [tuple(people[j] for j in c) for c in determined_sets(null, person, MIN_N)]
    return found


# --------------------------------------------------------------------------- 1. two windows

def test_the_8_week_figure_less_the_4_week_figure_does_not_give_weeks_5_to_8():
    """Secondary traumatic stress (ProQOL, asked every 12 weeks, not shown week by week).
    Alpha's five nurses answered in the latest week, the sixth (H06) six weeks ago.  The
    4-week roll-up shows Alpha (5 people), the 8-week one Alpha (6 people); each alone is
    fine, but 6 x the 8-week mean - 5 x the 4-week mean is H06's answer, and the 8-week
    organisation total less the 4-week one is H06 too."""
    people = ([(f"H{k:02d}", "Alpha", "nurse", "North", ) for k in range(1, 7)]
              + [(f"H{k:02d}", "Bravo", "social worker", "North") for k in range(7, 13)]
              + [(f"H{k:02d}", "Charlie", "counsellor", "South") for k in range(13, 19)])
    sts = "secondary_traumatic_stress"
    answers = {(h, 0, sts): 20.0 + k for k, (h, *_r) in enumerate(people) if h != "H06"}
    answers[("H06", 6, sts)] = 35.0
    data = org(people, answers)
    got = release(data, sts)
    four, eight = shown(got.tables[(4, "team")], sts, team="Alpha"), shown(got.tables[(8, "team")], sts, team="Alpha")
    assert four is not None, "Alpha's 4-week figure (5 people) is shown"
    if eight is not None:
        guess = eight[1] * eight[0] - four[1] * four[0]
        assert guess != pytest.approx(35.0, abs=0.05), "H06's answer read from two windows"
    org4, org8 = shown(got.tables[(4, "team")], sts, team="All"), shown(got.tables[(8, "team")], sts, team="All")
    if org4 is not None and org8 is not None:
        assert org8[1] * org8[0] - org4[1] * org4[0] != pytest.approx(35.0, abs=0.05)
    assert determined_values(data, sts, got) == []
    assert determined_counts(data, got) == []


# --------------------------------------------------------------------------- 2. the weekly cells under each window

def _heatmap_org():
    """Quebec (3 people, South) and Kilo (10 people, South, taking turns 5 a week) answered in
    the last 8 weeks.  Papa (3 people, North) answered 10 and 12 weeks ago.  Xray-1 (North)
    has 5 people who answer every week and 2 who answered 5 to 8 and 12 weeks ago; Xray-2
    (North) has 8 who answer every week, but three skipped 12 weeks ago; Yankee (North) 8
    who answer every week.

    Under the 12-week window Papa is in the roll-ups, so its audit hides Xray-1 (the smallest
    row that gives Papa, over the window and 10 weeks ago): Xray-1's weekly cells are hidden
    every week.  Under the 4-week window Xray-1 is shown, and 12 weeks ago (outside every
    window) Papa's cell needs a second hidden cell: the smallest, Xray-2 (5 that week).  So that week's cells are
    Xray-2 hidden under one choice and Xray-1 under the other."""
    people, answers = [], {}

    def team(name, site, weeks):
        ids = [f"{name}.{k}" for k in range(len(weeks))]
        people.extend((h, name, name.lower(), site) for h in ids)
        for k, (h, ws) in enumerate(zip(ids, weeks)):
            for ago in ws:
                answers[(h, ago, "pulse_strain")] = {"Papa": 80, "Quebec": 70, "Kilo": 30, "Xray-1": 40,
                                                     "Xray-2": 50, "Yankee": 20}[name] + k
        return ids

    every = range(N_WEEKS)
    team("Quebec", "South", [range(8)] * 3)
    team("Kilo", "South", [range(k % 2, 8, 2) for k in range(10)])
    team("Xray-1", "North", [every] * 5 + [[4, 5, 6, 7, 12]] * 2)
    team("Xray-2", "North", [every] * 5 + [[a for a in every if a != 12]] * 3)
    team("Yankee", "North", [every] * 8)
    team("Papa", "North", [[10, 12]] * 3)
    return org(people, answers)


def test_the_weekly_cells_shown_under_two_windows_do_not_give_a_small_team():
    data = _heatmap_org()
    got = release(data, "pulse_strain")
    twelve = week(12)
    cells = {w: {t: shown(got.tables[(w, "weekly")], "pulse_strain", team=t, week_start=twelve)
                 for t in ("Papa", "Xray-1", "Xray-2", "Yankee", "All")} for w in WINDOWS}
    together = {t: next((c[t] for c in cells.values() if c[t] is not None), None) for t in cells[4]}
    if all(together[t] is not None for t in ("Xray-1", "Xray-2", "Yankee", "All")):
        rest = ("Xray-1", "Xray-2", "Yankee")
        papa_n = together["All"][1] - sum(together[t][1] for t in rest)
        papa_sum = together["All"][0] * together["All"][1] - sum(together[t][0] * together[t][1] for t in rest)
        assert (papa_n, round(papa_sum / papa_n, 6)) != (3, 81.0), \
            "Papa's three answers 12 weeks ago read from the cells shown under two windows"
    assert determined_values(data, "pulse_strain", got) == []
    assert determined_counts(data, got) == []


# --------------------------------------------------------------------------- 3. counts of who answered

def _count_org():
    """Alpha: six nurses and H07, the organisation's one psychologist, who answered six
    weeks ago and not since.  Everyone else answers every week."""
    people = ([(f"H{k:02d}", "Alpha", "nurse", "North") for k in range(1, 7)]
              + [("H07", "Alpha", "psychologist", "North")]
              + [(f"H{k:02d}", "Bravo", "social worker", "North") for k in range(8, 14)]
              + [(f"H{k:02d}", "Charlie", "counsellor", "South") for k in range(14, 20)])
    answers = {(h, ago, "pulse_strain"): 30.0 + k for k, (h, *_r) in enumerate(people) if h != "H07"
               for ago in range(12)}
    answers[("H07", 6, "pulse_strain")] = 60.0
    return org(people, answers)


def test_counts_per_window_do_not_say_who_did_not_answer():
    """The 4-week roll-ups show Alpha with 6 people and nurses with 6: Alpha is the nurses and
    H07, so H07 did not answer in the last 4 weeks (and the 8-week window, where Alpha has 7,
    says H07 answered 5 to 8 weeks ago)."""
    data = _count_org()
    got = release(data, "pulse_strain")
    alpha, nurses = shown(got.tables[(4, "team")], "pulse_strain", team="Alpha"), \
        shown(got.tables[(4, "role")], "pulse_strain", role="nurse")
    assert not (alpha is not None and nurses is not None and alpha[1] == nurses[1]), \
        "Alpha and the nurses shown with the same count: H07 did not answer"
    assert determined_counts(data, got) == []
    assert determined_values(data, "pulse_strain", got) == []


def test_weekly_counts_do_not_say_who_did_not_answer():
    """The same organisation, week by week: Alpha's one-team report (role x week) beside the
    team x week table.  A week's nurses cell of 6 beside Alpha's 6 says H07 skipped it."""
    data = _count_org()
    series = data.scores[["helper_id", "week_start", "pulse_strain"]].dropna()
    got = Released()
    for w in WINDOWS:
        plan = review_plan(people_frame(data, w), MIN_N)
        for team in (None, "Alpha"):
            sup = hr_weekly(series, data.roster, "pulse_strain", MIN_N, plan=plan, known=hr_known(data.roster),
                            team=team)
            g = sup.group_cols[0]
            for i in range(len(sup.table)):
                if sup.status["n"].iloc[i] == privacy.SHOWN:
                    key = str(sup.table[g].iloc[i])
                    cond = {**({"team": team} if team else {}), **({} if key == privacy.TOTAL else {g: key})}
                    got.counts.append((("week", pd.Timestamp(sup.table["week_start"].iloc[i])), cond))
    assert any(c == {"team": "Alpha"} for _, c in got.counts), "Alpha's weeks are shown"
    assert determined_counts(data, got) == []


# --------------------------------------------------------------------------- what is still shown

def test_a_group_whose_people_all_answer_every_week_keeps_its_figures_in_every_window():
    people = ([(f"H{k:02d}", "Alpha", "nurse", "North") for k in range(1, 7)]
              + [(f"H{k:02d}", "Bravo", "social worker", "North") for k in range(7, 13)]
              + [(f"H{k:02d}", "Charlie", "counsellor", "South") for k in range(13, 19)])
    answers = {(h, ago, "pulse_strain"): 30.0 + k for k, (h, *_r) in enumerate(people) for ago in range(14)}
    data = org(people, answers)
    got = release(data, "pulse_strain")
    for w in WINDOWS:
        for t in ("Alpha", "Bravo", "Charlie", "All"):
            assert shown(got.tables[(w, "team")], "pulse_strain", team=t) is not None, (w, t)
        for ago in range(N_WEEKS):
            assert shown(got.tables[(w, "weekly")], "pulse_strain", team="Alpha", week_start=week(ago)) is not None


# --------------------------------------------------------------------------- work burnout in 4-week blocks

def _cbi_org():
    """Three teams of 6; the CBI is asked every 4 weeks, each person in their own week of the
    four (two people a week); H01 skipped the last one."""
    people = ([(f"H{k:02d}", "Alpha", "nurse", "North") for k in range(1, 7)]
              + [(f"H{k:02d}", "Bravo", "social worker", "North") for k in range(7, 13)]
              + [(f"H{k:02d}", "Charlie", "counsellor", "South") for k in range(13, 19)])
    answers = {}
    for k, (h, *_r) in enumerate(people):
        for ago in range(k % 4, N_WEEKS, 4):
            if not (h == "H01" and ago < 4):
                answers[(h, ago, "work_burnout")] = 25.0 + 3 * k + ago
        for ago in range(N_WEEKS):
            answers[(h, ago, "pulse_strain")] = 30.0 + k
    return org(people, answers)


def test_work_burnout_is_shown_in_4_week_blocks_and_its_recent_figures_with_them():
    data = _cbi_org()
    got = release(data, "work_burnout")
    weekly = got.tables[(4, "weekly")]
    starts = sorted(pd.to_datetime(weekly.table["week_start"]).unique())
    # every cell is a 4-week period aligned with the windows: the last one is the 4-week window
    assert starts[-1] == week(3) and all((week(3) - s).days % 28 == 0 for s in starts)
    # Bravo and Charlie answered in full in every period: their periods and recent figures are
    # shown (week by week, each week would hold 1 or 2 of them: all hidden)
    for w in WINDOWS:
        for t in ("Bravo", "Charlie"):
            assert shown(got.tables[(w, "team")], "work_burnout", team=t) is not None, (w, t)
    cell = shown(weekly, "work_burnout", team="Bravo", week_start=week(3))
    answers = [v for (h, ago, m), v in _answers_of(data, "work_burnout") if ago < 4 and h in
               {f"H{k:02d}" for k in range(7, 13)}]
    assert cell == (pytest.approx(np.mean(answers)), 6)
    # Alpha's last period has 5 people: shown; H01's periods are the earlier ones
    assert shown(weekly, "work_burnout", team="Alpha", week_start=week(3)) is not None
    assert determined_values(data, "work_burnout", got) == []
    assert determined_counts(data, got) == []


def test_a_single_week_of_a_block_measure_is_never_let_through():
    data = _cbi_org()
    people = people_frame(data, 4)
    plan = review_plan(people, MIN_N)
    assert "work_burnout" in plan.blocked
    assert plan.allows_cell("work_burnout", {"team": "Bravo"}, week(3), span=disclosure.BLOCK_WEEKS)
    # a lead's week of it (a part of HR's block): refused, whatever the week
    assert not any(plan.allows_cell("work_burnout", {"team": "Bravo"}, week(i)) for i in range(N_WEEKS))
    # a 4-week cell that does not start on a block's first week: refused
    assert not plan.allows_cell("work_burnout", {"team": "Bravo"}, week(2), span=disclosure.BLOCK_WEEKS)


def _answers_of(data, measure):
    s = data.scores[["helper_id", "week_start", measure]].dropna()
    return [((h, int((WEEKS[-1] - w).days // 7), measure), v) for h, w, v in s.itertuples(index=False)]
