"""The HR review's weekly tables built week by week and cached on what each week
holds: exactly the whole table's suppression, and a new answer recomputes only
the week it falls in."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from burnout import privacy, turnover
from burnout.views import tables
from burnout.views.tables import by_week, hr_weekly, review_plan

MIN_N = 5
WEEKS = pd.date_range("2026-06-01", periods=6, freq="7D")


def organisation(seed: int, teams: int = 6, weeks=WEEKS):
    """People in teams of 1-12 with odd roles, some consenting, who skip weeks at random."""
    rng = np.random.default_rng(seed)
    rows, series, k = [], [], 0
    for t in range(teams):
        for _ in range(int(rng.integers(1, 13))):
            k += 1
            hid = f"H{k:03d}"
            rows.append({"helper_id": hid, "name": hid, "team": f"T{t}", "role": str(rng.choice(["nurse", "cm", "sw"])),
                         "site": str(rng.choice(["N", "S"])), "consent_lead_view": bool(rng.random() < 0.3),
                         "pulse_strain": float(rng.integers(0, 100))})
            for w in weeks:
                if rng.random() < 0.75:
                    for _ in range(int(rng.integers(1, 3))):     # sometimes two answers in one week
                        series.append({"helper_id": hid, "week_start": w, "pulse_strain": float(rng.integers(0, 100))})
    people = pd.DataFrame(rows)
    return people, pd.DataFrame(series), people[["helper_id", "team", "role", "site", "consent_lead_view"]]


def whole_table(series, roster, group_col, measure, known, gate, ids=None):
    """The table as one suppression (what the review computed before it went week by week)."""
    df = series[["helper_id", "week_start", measure]]
    if ids is not None:
        df = df[df["helper_id"].isin(set(ids))]
    df = df.merge(roster[["helper_id", group_col]], on="helper_id")
    return privacy.suppress(df, [group_col, "week_start"], "helper_id", [measure], MIN_N, within="week_start",
                            known=known, gate=gate)


def assert_same(a: privacy.Suppressed, b: privacy.Suppressed) -> None:
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.status, b.status)
    assert (a.group_cols, a.value_cols, a.min_n, a.labels) == (b.group_cols, b.value_cols, b.min_n, b.labels)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), with_plan=st.booleans(), with_known=st.booleans())
def test_week_by_week_is_the_whole_tables_suppression(seed, with_plan, with_known):
    tables._WEEKS.clear()
    people, series, roster = organisation(seed)
    plan = review_plan(people, MIN_N) if with_plan else None
    known = tables.hr_known(roster) if with_known else None
    got = tables.weekly_by(series, roster, "team", "pulse_strain", MIN_N, known=known, plan=plan)
    want = whole_table(series, roster, "team", "pulse_strain", known, tables.plan_gate(plan, "team", "pulse_strain"))
    assert_same(got, want)
    assert len(tables._WEEKS) == len(set(series["week_start"]))
    # read back from the cache: the same table again
    assert_same(tables.weekly_by(series, roster, "team", "pulse_strain", MIN_N, known=known, plan=plan), want)


@pytest.mark.parametrize("seed", [4, 5])
def test_each_week_suppressed_alone_is_its_part_of_the_whole_table(seed):
    """The claim the cache rests on: no identity links two weeks, so a week's cells,
    statuses and hiding are the same whether it is suppressed alone or with the rest."""
    tables._WEEKS.clear()
    people, series, roster = organisation(seed)
    plan = review_plan(people, MIN_N)
    known = tables.hr_known(roster)
    gate = tables.plan_gate(plan, "team", "pulse_strain")
    whole = whole_table(series, roster, "team", "pulse_strain", known, gate)
    for week in WEEKS:
        alone = whole_table(series[series["week_start"] == week], roster, "team", "pulse_strain", known, gate)
        part = whole.table["week_start"] == week
        pd.testing.assert_frame_equal(alone.table, whole.table[part].reset_index(drop=True))
        pd.testing.assert_frame_equal(alone.status, whole.status[part].reset_index(drop=True))
    assert (whole.status["pulse_strain"] == privacy.COMPLEMENTARY).any()      # hiding to protect, not only small cells


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_one_team_report_week_by_week_is_the_whole_tables_suppression(seed):
    people, series, roster = organisation(seed)
    plan = review_plan(people, MIN_N)
    known = tables.hr_known(roster)
    team = roster["team"].value_counts().index[0]
    got = hr_weekly(series, roster, "pulse_strain", MIN_N, plan=plan, known=known, team=team)
    org = whole_table(series, roster, "team", "pulse_strain", known, tables.plan_gate(plan, "team", "pulse_strain"))
    st_ = dict(zip(zip(org.table["team"].astype(str), org.table["week_start"]), org.status["pulse_strain"]))
    outer = tables.plan_gate(plan, "role", "pulse_strain", {"team": team})

    def gate(key):
        inner = None if st_.get((team, key[1]), privacy.SHOWN) == privacy.SHOWN else privacy.COMPLEMENTARY
        return inner or outer(key)
    want = whole_table(series, roster, "role", "pulse_strain", known, gate,
                       ids=roster.loc[roster["team"] == team, "helper_id"])
    assert_same(got, want)


def test_a_new_answer_recomputes_only_its_week(monkeypatch):
    tables._WEEKS.clear()
    people, series, roster = organisation(7)
    plan = review_plan(people, MIN_N)
    known = tables.hr_known(roster)
    first = hr_weekly(series, roster, "pulse_strain", MIN_N, plan=plan, known=known)
    calls = []
    real = privacy.suppress
    monkeypatch.setattr(privacy, "suppress", lambda df, *a, **k: calls.append(sorted(set(df["week_start"]))) or
                        real(df, *a, **k))
    assert_same(hr_weekly(series, roster, "pulse_strain", MIN_N, plan=plan, known=known), first)
    assert calls == []                                   # every week read back
    # one helper who already answered that week answers again: only that week is computed again
    someone = series[series["week_start"] == WEEKS[-1]].iloc[0]
    more = pd.concat([series, pd.DataFrame([{**someone.to_dict(), "pulse_strain": 99.0}])], ignore_index=True)
    again = hr_weekly(more, roster, "pulse_strain", MIN_N, plan=plan, known=known)
    assert calls == [[WEEKS[-1]]]
    want = whole_table(more, roster, "team", "pulse_strain", known, tables.plan_gate(plan, "team", "pulse_strain"))
    assert_same(again, want)


def cell_hashes(rows) -> dict:
    hc, wc, h1, h2 = rows._cells
    return {(rows.helpers[c], rows.weeks[w]): (a, b) for c, w, a, b in zip(hc, wc, h1, h2)}


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), changed=st.integers(1, 4), drop=st.floats(0, 1), move=st.booleans())
def test_kept_week_rows_after_a_change_equal_rows_cut_whole(seed, changed, drop, move):
    """WeekRows.replaced (the organisation's rows kept between reads): some helpers' rows
    replaced by theirs now (answers changed, added or gone, a week emptied, someone moved to
    another team) equal the rows cut whole from the changed frame, and give the same table;
    where the change needs the whole frame (a week no row held before) it says so."""
    people, series, roster = organisation(seed)
    rng = np.random.default_rng(seed + 1)
    helpers = list(dict.fromkeys(series["helper_id"]))          # each helper's rows come together
    ids = set(rng.choice(helpers, size=min(changed, len(helpers)), replace=False))
    new_roster = roster.copy()
    if move:
        new_roster.loc[new_roster["helper_id"].isin(ids), "team"] = "T0"
    mine = series[series["helper_id"].isin(ids)]
    now = mine[rng.random(len(mine)) >= drop].copy()
    now["pulse_strain"] = np.where(rng.random(len(now)) < 0.5, now["pulse_strain"], 100 - now["pulse_strain"])
    if len(now) and rng.random() < 0.5:           # a new answer in a week the helper already has
        now = pd.concat([now, now.iloc[[-1]].assign(pulse_strain=7.0)])
    # the changed frame: every helper's rows where they were, the changed helpers' as they are now
    parts = {h: g for h, g in series.groupby("helper_id", sort=False)}
    parts.update({h: g for h, g in now.groupby("helper_id", sort=False)})
    after = pd.concat([parts[h] for h in helpers if h in parts and (h not in ids or h in set(now["helper_id"]))]
                      + [series.iloc[:0]], ignore_index=True)
    before = tables.WeekRows.of(tables.weekly_rows(series, roster, "team", "pulse_strain"), "team", "pulse_strain")
    known = tables.hr_known(roster)
    tables.by_week(before, MIN_N, known=known)          # the kept rows have worked out whom the reader knows
    kept = before.replaced(ids, tables.weekly_rows(now, new_roster, "team", "pulse_strain"))
    whole = tables.WeekRows.of(tables.weekly_rows(after, new_roster, "team", "pulse_strain"), "team", "pulse_strain")
    if kept is None:        # only a week no row held before, or one left with none, asks for the whole frame
        assert set(now["week_start"]) - set(before.weeks) or set(whole.weeks) != set(before.weeks)
        return
    assert kept.weeks == whole.weeks
    for a, b in zip(kept.frames, whole.frames):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert kept.digests == whole.digests and kept.groups == whole.groups
    assert kept.mine(known) == whole.mine(known)
    # what the next change is compared with: each helper's rows of each week, as hashes
    assert cell_hashes(kept) == cell_hashes(whole)
    tables._WEEKS.clear()
    assert_same(tables.by_week(kept, MIN_N, known=known), tables.by_week(whole, MIN_N, known=known))
    # the rows the change left alone are the very same objects: nothing else was cut again
    moved = {i for i, w in enumerate(before.weeks) if w in set(mine["week_start"]) | set(now["week_start"])}
    for i, w in enumerate(before.weeks):
        if i not in moved and w in kept.weeks:
            assert kept.frames[kept.weeks.index(w)] is before.frames[i]


def test_the_week_cache_is_bounded(monkeypatch):
    tables._WEEKS.clear()
    monkeypatch.setattr(tables, "WEEK_CACHE_SIZE", 3)
    people, series, roster = organisation(3)
    tables.weekly_by(series, roster, "team", "pulse_strain", MIN_N)
    assert len(tables._WEEKS) == 3


def test_team_impact_in_one_grouped_pass_equals_the_per_team_sums():
    rng = np.random.default_rng(5)
    n = 200
    impact = pd.DataFrame({
        "helper_id": [f"H{i}" for i in range(n)], "team": rng.choice(["A", "B", "C", None], n),
        "team_kind": rng.choice(["crisis_line", "addiction", None], n),
        "risk_score": np.where(rng.random(n) < 0.2, np.nan, rng.random(n) * 100),
        "p_burned_out": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
        **{c: np.where(rng.random(n) < 0.1, np.nan, rng.random(n) * 1000)
           for c in ("p_leave_12m", "expected_turnover_cost", "attributable_p_leave", "attributable_cost",
                     "clients_affected", "attributable_clients_affected", "cost_per_departure", "active_cases")}})
    impact.loc[impact["team"] == "C", "attributable_cost"] = np.nan          # a sum over nothing known stays empty
    got = turnover.team_impact(impact).set_index("team")
    for team, g in impact.groupby(impact["team"].astype("string").fillna("(no team)")):
        want = turnover._aggregate(g)
        row = got.loc[team]
        for k, v in want.items():
            assert (np.isnan(v) and np.isnan(row[k])) if isinstance(v, float) and np.isnan(v) else \
                row[k] == v, (team, k)          # the same arithmetic, bit for bit
        kinds = g["team_kind"].dropna()
        assert row["team_kind"] == (kinds.iloc[0] if len(kinds) else None)
    assert np.isnan(got.loc["C", "attributable_cost"])


def test_each_groups_ranges_are_the_masked_scopes_exactly():
    from burnout import uncertainty
    rng = np.random.default_rng(9)
    n = 60
    impact = pd.DataFrame({f: np.where(rng.random(n) < 0.1, np.nan, rng.random(n) * 100)
                           for f in uncertainty.FIGURES})
    impact["team"] = rng.choice(["A", "B", "C"], n)
    impact.loc[impact["team"] == "C", "attributable_cost"] = np.nan      # nothing known: no figure, no range
    draws = {f: np.where(rng.random((50, n)) < 0.05, np.nan, rng.random((50, n))) for f in uncertainty.FIGURES}
    sims = uncertainty.Ranges(impact, draws)
    by = sims.total_by(impact["team"])
    assert set(by) == {"A", "B", "C"}
    for team in ("A", "B", "C"):
        masked = sims.total((impact["team"] == team).to_numpy())
        assert by[team].keys() == masked.keys()
        for name, v in masked.items():      # the same sums, added in another order (last bits only)
            assert v.keys() == by[team][name].keys()
            for e, x in v.items():
                assert (x is None and by[team][name][e] is None) or x == pytest.approx(by[team][name][e], rel=1e-12)
    # a union of groups from the groups' sums is the masked union
    ab = sims.grouped.total(["A", "B"])
    masked = sims.total(impact["team"].isin(["A", "B"]).to_numpy())
    assert all(masked[k][e] == pytest.approx(ab[k][e], rel=1e-12) for k in masked for e in ("mid", "low", "high"))
    assert by["C"]["attributable_cost"] == {"mid": None, "low": None, "high": None}


def test_drivers_per_group_equal_each_groups_own_ranking(demo_db):
    from burnout import disclosure, risk
    from burnout.views.data import load_data, people_frame
    from burnout.views.review import drivers_by
    data = load_data(demo_db["engine"])
    people = people_frame(data)
    for group_col in ("team", "role"):
        causes, symptoms = drivers_by(people, group_col, 2, None, None)
        df = people[people["risk_score"].notna()]
        checked = 0
        for key, g in df.groupby(df[group_col].astype("string").fillna("(none)")):
            if g["helper_id"].nunique() < 2:
                continue
            for table, rank in ((causes, risk.team_causes), (symptoms, risk.team_symptoms)):
                r = rank(g)
                want = {k: v for k, v in zip(r["label"], r["points"].round(1)) if v}
                got = dict(zip(table.iloc[:, 0], table[str(key)]))
                assert {k: v for k, v in got.items() if v} == want, (group_col, key)
                checked += 1
        assert checked >= 4
