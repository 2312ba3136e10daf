"""Access rules, minimum-group and complementary suppression, filters, audit, exports."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from burnout import privacy
from helpers import aggregate_scores
from burnout.privacy import TOTAL, suppress

MIN_N = 5


# --------------------------------------------------------------------------- access

LEAD = {"username": "lead", "role": "lead", "team_id": "T1", "helper_id": None}
HR = {"username": "hr", "role": "hr", "team_id": None, "helper_id": None}
ADMIN = {"username": "admin", "role": "admin", "team_id": None, "helper_id": None}
HELPER = {"username": "h1", "role": "helper", "team_id": None, "helper_id": "H1"}


def row(hid, team="T1", consent=False):
    return {"helper_id": hid, "team": team, "consent_lead_view": consent}


def test_helper_sees_only_own():
    assert privacy.can_view_individual(HELPER, row("H1"))
    assert not privacy.can_view_individual(HELPER, row("H2", consent=True))


def test_lead_sees_consenting_own_team_only():
    assert privacy.can_view_individual(LEAD, row("H2", consent=True))
    assert not privacy.can_view_individual(LEAD, row("H2", consent=False))
    assert not privacy.can_view_individual(LEAD, row("H3", team="T2", consent=True))
    # team given as team_id (a helpers-table row) works the same
    assert privacy.can_view_individual(LEAD, {"helper_id": "H2", "team_id": "T1", "consent_lead_view": True})


@pytest.mark.parametrize("viewer", [HR, ADMIN])
def test_hr_and_admin_never_see_individual_self_report(viewer):
    assert not privacy.can_view_individual(viewer, row("H2", consent=True))
    assert not privacy.can_view_caseload(viewer, row("H2", consent=True))
    assert not privacy.can_view_comments(viewer, row("H2", consent=True))


def test_lead_sees_caseload_of_whole_team_and_team_aggregates():
    assert privacy.can_view_caseload(LEAD, row("H2", consent=False))
    assert not privacy.can_view_caseload(LEAD, row("H9", team="T2"))
    assert privacy.can_view_team(LEAD, "T1") and not privacy.can_view_team(LEAD, "T2")
    assert privacy.can_view_team(HR, "T2") and not privacy.can_view_team(HELPER, "T1")


def test_visible_individuals_filters_roster():
    roster = pd.DataFrame([row("H1", consent=True), row("H2"), row("H3", "T2", True)])
    assert privacy.visible_individuals(LEAD, roster)["helper_id"].tolist() == ["H1"]
    assert privacy.visible_individuals(HR, roster).empty


def test_private_count_note_only_for_a_group():
    assert privacy.private_count_note(1) is None
    assert privacy.private_count_note(4) is None
    assert "5 helpers" in privacy.private_count_note(5)


def test_lead_basis_leaves_out_a_small_private_group():
    team = pd.DataFrame([row(f"H{i}", consent=i < 7) for i in range(10)])  # 3 private
    ids, known, label = privacy.lead_basis(team)
    assert ids == known == {f"H{i}" for i in range(7)}
    assert "share their results" in label
    team2 = pd.DataFrame([row(f"H{i}", consent=i < 4) for i in range(10)])  # 6 private
    ids2, known2, _ = privacy.lead_basis(team2)
    assert ids2 == {f"H{i}" for i in range(10)} and known2 == {f"H{i}" for i in range(4)}


def test_audit_view_writes_a_row(engine):
    from burnout.store.schema import audit_log

    privacy.audit_view(engine, LEAD, "H2", "trend and drivers")
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log)).mappings().all()
    assert rows[-1]["actor"] == "lead" and rows[-1]["subject_helper_id"] == "H2"
    assert rows[-1]["action"] == "view_individual" and "trend" in rows[-1]["detail"]


def test_neutralise_formulas():
    df = pd.DataFrame({"a": ["=SUM(A1)", "+1", "-2", "@x", "fine", "\tcmd"], "b": [1, -2, 3, 4, 5, 6],
                       "=evil": ["x"] * 6})
    out = privacy.neutralise_formulas(df)
    assert out["a"].tolist() == ["'=SUM(A1)", "'+1", "'-2", "'@x", "fine", "'\tcmd"]
    assert out["b"].tolist() == [1, -2, 3, 4, 5, 6]          # numbers untouched
    assert "'=evil" in out.columns
    assert df["a"][0] == "=SUM(A1)"                             # input not modified


def test_comment_threshold_is_higher():
    from burnout.domain.settings import Settings

    s = Settings()
    assert s.min_comment_group == 10 > s.min_group_size == privacy.MIN_N


# --------------------------------------------------------------------------- suppression: examples

def people(groups: dict, value=lambda i: float(i), col="team", extra=None) -> pd.DataFrame:
    """``groups``: {group: number of people}; two rows per person (distinct counting)."""
    rows, k = [], 0
    for g, n in groups.items():
        for _ in range(n):
            k += 1
            for rep in range(2):
                rows.append({col: g, "helper_id": f"p{k}", "v": value(k) + rep, **(extra or {})})
    return pd.DataFrame(rows)


def test_counts_distinct_people_not_rows():
    df = people({"A": 4})               # 8 rows, 4 people
    sup = suppress(df, "team", value_cols=["v"])
    assert sup.status.loc[0, "n"] == privacy.PRIMARY and pd.isna(sup.table.loc[0, "v"])


def test_one_hidden_cell_gets_a_complementary_sibling():
    df = people({"A": 9, "B": 3, "C": 6, "D": 12})
    sup = suppress(df, "team", value_cols=["v"])
    st_ = dict(zip(sup.table["team"], sup.status["n"]))
    assert st_["B"] == privacy.PRIMARY
    assert st_["C"] == privacy.COMPLEMENTARY      # the next-smallest sibling
    assert st_["A"] == st_["D"] == st_[TOTAL] == privacy.SHOWN
    shown = sup.display()
    assert shown.loc[shown["team"] == "B", "People"].item() == "fewer than 5"
    assert shown.loc[shown["team"] == "C", "People"].item() == "hidden to protect a small group"


def test_two_small_cells_together_under_min_n_hide_another():
    df = people({"A": 9, "B": 2, "C": 2, "D": 6})
    sup = suppress(df, "team", value_cols=["v"])
    st_ = dict(zip(sup.table["team"], sup.status["n"]))
    assert st_["B"] == st_["C"] == privacy.PRIMARY
    assert st_["D"] == privacy.COMPLEMENTARY       # B + C = 4 people would follow from the total


def test_no_total_no_complement_needed():
    df = people({"A": 9, "B": 3})
    sup = suppress(df, "team", value_cols=["v"], margins=False)
    assert TOTAL not in sup.table["team"].tolist()
    assert dict(zip(sup.table["team"], sup.status["n"])) == {"A": privacy.SHOWN, "B": privacy.PRIMARY}


def test_small_total_is_hidden():
    df = people({"A": 2, "B": 2})
    sup = suppress(df, "team", value_cols=["v"])
    assert (sup.status["n"] != privacy.SHOWN).all()


def test_two_way_with_margins_is_not_recoverable():
    rows = []
    k = 0
    for team, roles in {"T1": {"x": 6, "y": 2}, "T2": {"x": 7, "y": 8}, "T3": {"x": 5, "y": 5}}.items():
        for role, n in roles.items():
            for _ in range(n):
                k += 1
                rows.append({"team": team, "role": role, "helper_id": f"p{k}", "v": float(k)})
    df = pd.DataFrame(rows)
    sup = suppress(df, ["team", "role"], value_cols=["v"])
    st_ = {(a, b): s for a, b, s in zip(sup.table["team"], sup.table["role"], sup.status["n"])}
    assert st_[("T1", "y")] == privacy.PRIMARY
    assert st_[("T1", "x")] != privacy.SHOWN          # row T1: total - x would give y
    assert privacy.recoverable(sup, "n") == [] and privacy.recoverable(sup, "v") == []
    _assert_no_small_published(sup, df, ["team", "role"])
    _assert_lines_safe(sup, df, ["team", "role"])


def test_narrowing_filter_cannot_single_out_a_small_group():
    # Team A: 7 people, 4 of them at site S.  Filtering on S would show 4 -> hidden;
    # team B: 9 people, 6 at site S: unfiltered 9 - filtered 6 = 3 people -> hidden.
    roster = []
    k = 0
    for team, sites in {"A": {"S": 4, "R": 3}, "B": {"S": 6, "R": 3}, "C": {"S": 10, "R": 0}}.items():
        for site, n in sites.items():
            for _ in range(n):
                k += 1
                roster.append({"helper_id": f"p{k}", "team": team, "role": "r", "site": site})
    roster = pd.DataFrame(roster)
    scores = roster[["helper_id"]].assign(week_start=pd.Timestamp("2026-01-05"), pulse_strain=50.0)
    sup = aggregate_scores(scores, roster, "team", ["pulse_strain"], where={"site": ["S"]})
    st_ = dict(zip(sup.table["team"], sup.status["n"]))
    assert st_["A"] == privacy.PRIMARY
    assert st_["B"] == privacy.FILTER
    assert st_["C"] == privacy.SHOWN                  # nobody filtered out of C


def test_known_individuals_cannot_be_subtracted():
    df = people({"A": 8})
    known = {"p1", "p2", "p3", "p4", "p5", "p6"}       # 2 private people
    sup = suppress(df, "team", value_cols=["v"], margins=False, known=known)
    assert sup.status.loc[0, "n"] == privacy.KNOWN
    sup2 = suppress(df, "team", value_cols=["v"], margins=False, known={"p1", "p2", "p3"})  # 5 private
    assert sup2.status.loc[0, "n"] == privacy.SHOWN


def test_value_with_fewer_answers_is_hidden_on_its_own():
    df = people({"A": 8, "B": 9, "C": 7})
    df["q"] = np.where(df["helper_id"].isin(["p1", "p2"]), 40.0, np.nan)   # only 2 answered q in A
    df.loc[df["team"] != "A", "q"] = 30.0
    sup = suppress(df, "team", value_cols=["v", "q"])
    st_ = {t: (a, b) for t, a, b in zip(sup.table["team"], sup.status["n"], sup.status["q"])}
    assert st_["A"] == (privacy.SHOWN, privacy.PRIMARY)
    assert st_["C"][1] == privacy.COMPLEMENTARY        # next-smallest sibling for q
    assert sup.table.loc[sup.table["team"] == "A", "v"].notna().all()


def test_within_weeks_protects_each_week_against_the_weekly_total():
    rows = []
    k = 0
    for role, n in {"x": 6, "y": 3, "z": 7}.items():
        for _ in range(n):
            k += 1
            for w in ("2026-01-05", "2026-01-12"):
                rows.append({"role": role, "week_start": pd.Timestamp(w), "helper_id": f"p{k}", "v": 1.0 * k})
    df = pd.DataFrame(rows)
    sup = suppress(df, ["role", "week_start"], value_cols=["v"], within="week_start")
    st_ = {(r, str(w)[:10]): s for r, w, s in zip(sup.table["role"], sup.table["week_start"], sup.status["v"])}
    for w in ("2026-01-05", "2026-01-12"):
        assert st_[("y", w)] == privacy.PRIMARY and st_[("x", w)] == privacy.COMPLEMENTARY
        assert st_[("z", w)] == privacy.SHOWN and st_[(TOTAL, w)] == privacy.SHOWN


def test_weekly_aggregate_only_weeks_with_enough_people():
    rows = [{"helper_id": f"p{i}", "week_start": pd.Timestamp("2026-01-05"), "s": 10.0 * i} for i in range(6)]
    rows += [{"helper_id": f"p{i}", "week_start": pd.Timestamp("2026-01-12"), "s": 5.0} for i in range(3)]
    w = privacy.weekly_aggregate(pd.DataFrame(rows), "s")
    assert w["mean"].notna().tolist() == [True, False]
    assert w.loc[0, "n"] == 6 and pd.isna(w.loc[1, "n"])


# --------------------------------------------------------------------------- property tests

def _members(df, group_cols, col, key):
    sel = np.ones(len(df), dtype=bool)
    for g, kv in zip(group_cols, key):
        if str(kv) != TOTAL:
            sel &= (df[g] == kv).to_numpy()
    sub = df[sel]
    if col != "n":
        sub = sub[sub[col].notna()]
    return set(sub["helper_id"])


def _assert_no_small_published(sup, df, group_cols):
    for col in ["n", *sup.value_cols]:
        for i in range(len(sup.table)):
            if sup.status.iloc[i][col] == privacy.SHOWN and not pd.isna(sup.table.iloc[i][col]):
                key = tuple(sup.table.iloc[i][g] for g in group_cols)
                assert len(_members(df, group_cols, col, key)) >= MIN_N, (col, key)


def _lines(sup, group_cols):
    """(total key, [cell keys]) for each published total of the table."""
    keys = [tuple(sup.table.iloc[i][g] for g in group_cols) for i in range(len(sup.table))]
    interior = [k for k in keys if all(str(x) != TOTAL for x in k)]
    out = []
    if len(group_cols) == 1:
        if (TOTAL,) in keys:
            out.append(((TOTAL,), interior))
        return out
    for k in keys:
        if str(k[0]) == TOTAL and str(k[1]) != TOTAL:
            out.append((k, [c for c in interior if c[1] == k[1]]))
        if str(k[1]) == TOTAL and str(k[0]) != TOTAL:
            out.append((k, [c for c in interior if c[0] == k[0]]))
    if (TOTAL, TOTAL) in keys:
        out.append(((TOTAL, TOTAL), [k for k in keys if k[1] == TOTAL and k[0] != TOTAL]))
        out.append(((TOTAL, TOTAL), [k for k in keys if k[0] == TOTAL and k[1] != TOTAL]))
    return out


def _assert_lines_safe(sup, df, group_cols):
    """Total - visible siblings never describes fewer than MIN_N people, for counts
    and for the sums (mean x n) behind the means."""
    idx = {tuple(sup.table.iloc[i][g] for g in group_cols): i for i in range(len(sup.table))}
    for col in ["n", *sup.value_cols]:
        for total, cells in _lines(sup, group_cols):
            if sup.status.iloc[idx[total]][col] != privacy.SHOWN:
                continue
            hidden = [c for c in cells if sup.status.iloc[idx[c]][col] != privacy.SHOWN]
            if not hidden:
                continue
            people_hidden = set().union(*[_members(df, group_cols, col, c) for c in hidden])
            assert len(people_hidden) >= MIN_N, (col, total, hidden)
            # and the arithmetic really gives the aggregate of that larger group
            if col != "n":
                per = df[df[col].notna()].groupby([*group_cols, "helper_id"])[col].mean().reset_index()
                for g, kv in zip(group_cols, total):      # the rows the total's line covers
                    if str(kv) != TOTAL:
                        per = per[per[g] == kv]
                tot_people = _members(df, group_cols, col, total)
                total_sum = per[per["helper_id"].isin(tot_people)].groupby("helper_id")[col].mean().sum()
                visible_sum = sum(float(sup.table.iloc[idx[c]][col]) * len(_members(df, group_cols, col, c))
                                  for c in cells if c not in hidden and pd.notna(sup.table.iloc[idx[c]][col]))
                derived = total_sum - visible_sum
                hidden_sum = per[per["helper_id"].isin(people_hidden)].groupby("helper_id")[col].mean().sum()
                assert derived == pytest.approx(hidden_sum, rel=1e-6, abs=1e-6)
        assert privacy.recoverable(sup, col) == [], col


group_sizes = st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=7)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=group_sizes, seed=st.integers(0, 2**16), with_missing=st.booleans())
def test_property_one_way(sizes, seed, with_missing):
    rng = np.random.default_rng(seed)
    df = people({f"G{i}": n for i, n in enumerate(sizes)}, value=lambda k: float(rng.integers(0, 100)))
    if with_missing:
        df["q"] = np.where(rng.random(len(df)) < 0.3, np.nan, rng.normal(50, 10, len(df)))
    cols = ["v", "q"] if with_missing else ["v"]
    sup = suppress(df, "team", value_cols=cols)
    _assert_no_small_published(sup, df, ["team"])
    _assert_lines_safe(sup, df, ["team"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid=st.lists(st.lists(st.integers(0, 9), min_size=2, max_size=4), min_size=2, max_size=4),
       seed=st.integers(0, 2**16))
def test_property_two_way(grid, seed):
    rng = np.random.default_rng(seed)
    width = min(len(r) for r in grid)
    rows, k = [], 0
    for a, counts in enumerate(grid):
        for b, n in enumerate(counts[:width]):
            for _ in range(n):
                k += 1
                rows.append({"team": f"T{a}", "role": f"R{b}", "helper_id": f"p{k}",
                             "v": float(rng.integers(0, 100))})
    df = pd.DataFrame(rows, columns=["team", "role", "helper_id", "v"])
    if df.empty:
        return
    sup = suppress(df, ["team", "role"], value_cols=["v"])
    _assert_no_small_published(sup, df, ["team", "role"])
    _assert_lines_safe(sup, df, ["team", "role"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(team=st.lists(st.tuples(st.sampled_from("SR"), st.booleans()), min_size=1, max_size=16),
       seed=st.integers(0, 2**16))
def test_property_filters_and_known(team, seed):
    """Filtered and unfiltered team figures never differ by fewer than MIN_N people, and a team
    figure never differs from the individually visible people by fewer than MIN_N."""
    rng = np.random.default_rng(seed)
    roster = pd.DataFrame([{"helper_id": f"p{i}", "team": "A", "role": "r", "site": s, "consent": c}
                           for i, (s, c) in enumerate(team)])
    scores = roster[["helper_id"]].assign(week_start=pd.Timestamp("2026-01-05"),
                                          pulse_strain=rng.normal(50, 10, len(roster)))
    full = aggregate_scores(scores, roster, "team", ["pulse_strain"], margins=False)
    filt = aggregate_scores(scores, roster, "team", ["pulse_strain"], margins=False,
                                    where={"site": ["S"]})
    n_all = len(roster)
    n_s = int((roster["site"] == "S").sum())
    if len(filt.table) and filt.status.loc[0, "n"] == privacy.SHOWN:
        assert n_s >= MIN_N and (n_all - n_s == 0 or n_all - n_s >= MIN_N)
    if full.status.loc[0, "n"] == privacy.SHOWN:
        assert n_all >= MIN_N
    known = set(roster.loc[roster["consent"], "helper_id"])
    kn = aggregate_scores(scores, roster, "team", ["pulse_strain"], margins=False, known=known)
    if kn.status.loc[0, "pulse_strain"] == privacy.SHOWN:
        private = n_all - len(known)
        assert private == 0 or private >= MIN_N


def test_suppress_is_fast_enough_for_a_year_of_weeks():
    import time

    rng = np.random.default_rng(1)
    n = 400
    roster = pd.DataFrame({"helper_id": [f"p{i}" for i in range(n)],
                           "team": rng.choice([f"T{i}" for i in range(25)], n)})
    weeks = pd.date_range("2026-01-05", periods=52, freq="7D")
    df = roster.merge(pd.DataFrame({"week_start": weeks}), how="cross")
    df = df[rng.random(len(df)) < 0.7]
    df["v"] = rng.normal(50, 10, len(df))
    t = time.perf_counter()
    sup = suppress(df, ["team", "week_start"], value_cols=["v"], within="week_start")
    assert time.perf_counter() - t < 20
    assert len(sup.table) > 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid=st.lists(st.lists(st.integers(0, 8), min_size=3, max_size=3), min_size=2, max_size=5),
       seed=st.integers(0, 2**16))
def test_property_groups_by_week(grid, seed):
    """Sub-group x week heatmaps: each week's published total never exposes a hidden group."""
    rng = np.random.default_rng(seed)
    rows, k = [], 0
    for g, counts in enumerate(grid):
        people_g = [f"g{g}p{i}" for i in range(max(counts))]
        for w, n in enumerate(counts):
            for pid in people_g[:n]:
                rows.append({"role": f"R{g}", "week_start": pd.Timestamp("2026-01-05") + pd.Timedelta(weeks=w),
                             "helper_id": pid, "v": float(rng.integers(0, 100))})
    df = pd.DataFrame(rows, columns=["role", "week_start", "helper_id", "v"])
    if df.empty:
        return
    sup = suppress(df, ["role", "week_start"], value_cols=["v"], within="week_start")
    assert not any(str(r) == TOTAL for r, w in zip(sup.table["role"], sup.table["week_start"]) if str(w) == TOTAL)
    _assert_no_small_published(sup, df, ["role", "week_start"])
    _assert_lines_safe(sup, df, ["role", "week_start"])


# --------------------------------------------------------------------------- across tables (HR review)

import itertools  # noqa: E402

from burnout.views import tables  # noqa: E402


def _org(spec) -> pd.DataFrame:
    """People from (team, role, site, count) rows; value x differs per person."""
    rows = []
    for team, role, site, n in spec:
        for i in range(n):
            rows.append({"helper_id": f"{team}/{role}/{i}", "team": team, "role": role, "site": site,
                         "x": float(len(rows) % 7)})
    return pd.DataFrame(rows)


AUDIT_ORG = [  # the two leaks the audit found, in miniature
    ("CL-Valley", "crisis worker", "Valley", 4), ("HSW-South", "social worker", "Eastfield", 6),
    ("CW-Harbour", "caseworker", "Harbour", 9), ("ADD-Harbour", "addiction counsellor", "Harbour", 7),
    ("ADD-Harbour", "peer worker", "Harbour", 3), ("AMH", "counsellor", "Main St", 8),
    ("SC", "school counsellor", "Millbrook", 7), ("RIV", "case manager", "Riverside", 6),
]


def _published_groups(tables: list[privacy.Suppressed], fixed_list: list[dict], col: str) -> list[dict]:
    """Conditions of every shown cell of ``col`` in the given one-way tables."""
    out = []
    for sup, fixed in zip(tables, fixed_list):
        g = sup.group_cols[0]
        for i in range(len(sup.table)):
            if sup.status.iloc[i][col] == privacy.SHOWN and sup.status.iloc[i]["n"] == privacy.SHOWN:
                key = sup.table.iloc[i][g]
                out.append({**fixed, **({} if str(key) == TOTAL else {g: key})})
    return out


def _small_derivable(df: pd.DataFrame, groups: list[dict], min_n: int = 5):
    """Brute force, independent of privacy.py: any set of people sharing whole
    (team, role, site) atoms, with 1..min_n-1 people, whose sum follows from
    the published groups' sums (least-squares residual zero)."""
    atoms = df.groupby(["team", "role", "site"]).size()
    keys, sizes = list(atoms.index), atoms.to_numpy()

    def ind(cond):
        v = np.ones(len(keys))
        for d, want in cond.items():
            j = ["team", "role", "site"].index(d)
            allowed = set(want) if isinstance(want, list) else {want}
            v *= np.array([k[j] in allowed for k in keys], dtype=float)
        return v

    m = np.vstack([ind(c) for c in groups]) if groups else np.zeros((0, len(keys)))
    small = [i for i in range(len(keys)) if sizes[i] < min_n]
    for r in range(1, min_n):
        for combo in itertools.combinations(small, r):
            if sizes[list(combo)].sum() >= min_n:
                continue
            x = np.zeros(len(keys))
            x[list(combo)] = 1
            if not len(m):
                continue
            coef = np.linalg.lstsq(m.T, x, rcond=None)[0]
            if np.abs(m.T @ coef - x).max() < 1e-8:
                return [keys[i] for i in combo]
    return None


def _org_tables(df, plan, where=None, team=None):
    fixed = tables.narrowing(where, team)
    people = df[df["team"] == team] if team else df
    dims = ["role", "site"] if team else ["team", "role", "site"]
    measures = {"x": "x"}
    out = [tables.rollup(people, d, 5, where=where, measures=measures, plan=plan, fixed=fixed) for d in dims]
    return out, [fixed] * len(out)


def test_review_tables_together_single_out_nobody():
    df = _org(AUDIT_ORG)
    # without the joint audit, the tables together give away CL-Valley or ADD-Harbour's peer workers
    bare = [privacy.suppress(df, d, "helper_id", ["x"], 5) for d in ("team", "role", "site")]
    assert _small_derivable(df, _published_groups(bare, [{}] * 3, "x")) is not None
    plan = privacy.plan_groups(df, ["x"], 5)
    tables, fixed = _org_tables(df, plan)
    assert _small_derivable(df, _published_groups(tables, fixed, "x")) is None
    # and the audit leaves most of the review readable
    shown = _published_groups(tables, fixed, "x")
    assert {} in shown and len(shown) >= 12


def test_site_filter_and_team_reports_add_nothing_derivable():
    df = _org(AUDIT_ORG)
    plan = privacy.plan_groups(df, ["x"], 5)
    groups = _published_groups(*_org_tables(df, plan), "x")
    for sites in itertools.combinations(sorted(df["site"].unique()), 2):
        groups += _published_groups(*_org_tables(df, plan, where={"site": list(sites)}), "x")
    for team in df["team"].unique():
        groups += _published_groups(*_org_tables(df, plan, team=team), "x")
    # every filter and every one-team report at once, as a patient reader would collect them
    assert _small_derivable(df, groups) is None


org_specs = st.lists(st.tuples(st.sampled_from(["T1", "T2", "T3", "T4", "T5"]),
                               st.sampled_from(["R1", "R2", "R3"]), st.sampled_from(["S1", "S2", "S3"]),
                               st.integers(1, 7)), min_size=2, max_size=9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=org_specs)
def test_property_joint_audit_leaves_no_small_group_derivable(spec):
    # one site per team, as in most organisations, and sometimes not
    df = _org(spec).drop_duplicates("helper_id")
    plan = privacy.plan_groups(df, ["x"], 5)
    tables, fixed = _org_tables(df, plan)
    groups = _published_groups(tables, fixed, "x")
    sites = sorted(df["site"].unique())
    if len(sites) > 1:
        groups += _published_groups(*_org_tables(df, plan, where={"site": sites[:1]}), "x")
    assert _small_derivable(df, groups) is None


def _display_cell_by_cell(sup: privacy.Suppressed, decimals=1, percent=(), labels=None) -> pd.DataFrame:
    """Suppressed.display as it was written before it took its masks per column: the oracle."""
    out = sup.table[sup.group_cols].copy().astype(object)
    for c in ["n", *sup.value_cols]:
        col = []
        for v, s in zip(sup.table[c], sup.status[c]):
            if s != privacy.SHOWN:
                col.append(privacy.hidden_label(s, sup.min_n))
            elif pd.isna(v):
                col.append("")
            elif c == "n":
                col.append(int(v))
            elif c in percent:
                col.append(round(float(v) * 100, decimals))
            else:
                col.append(round(float(v), decimals))
        out[c] = col
    return out.rename(columns={**sup.labels, **(labels or {})})


@pytest.mark.parametrize("seed", range(4))
def test_display_equals_the_cell_by_cell_words_and_roundings(seed):
    """Every cell of Suppressed.display (numbers rounded with Python's round, counts as int,
    hidden cells in words, blanks) and every column's type equal the cell-by-cell oracle, with
    week dates (and a missing one), nullable integers, NaN, shares shown in %, and
    columns that are all shown (numeric type) or all hidden (words)."""
    rng = np.random.default_rng(seed)
    n = 300
    weeks = pd.Series(pd.Timestamp("2026-01-05") + pd.to_timedelta(rng.integers(0, 10, n) * 7, "D"))
    weeks[3] = pd.NaT
    statuses = np.array([privacy.SHOWN, privacy.PRIMARY, privacy.COMPLEMENTARY, privacy.FILTER, privacy.KNOWN, None],
                        dtype=object)
    table = pd.DataFrame({"team": rng.choice(["A", "B", TOTAL], n), "week_start": weeks,
                          "n": pd.array(rng.integers(0, 30, n), dtype="Int64"),
                          "m": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50, 20, n)),
                          "share": rng.integers(0, 100_000, n) / 100_000 + 0.000005,   # shown in %
                          "all_shown": rng.normal(3, 1, n), "all_hidden": rng.normal(3, 1, n)})
    table.loc[5, "n"] = pd.NA
    status = pd.DataFrame({"n": rng.choice(statuses, n, p=[0.6, 0.1, 0.1, 0.1, 0.05, 0.05]),
                           "m": rng.choice(statuses[:3], n), "share": rng.choice(statuses[:2], n),
                           "all_shown": privacy.SHOWN, "all_hidden": privacy.PRIMARY})
    status.loc[5, "n"] = privacy.SHOWN
    sup = privacy.Suppressed(table, status, ["team", "week_start"], ["m", "share", "all_shown", "all_hidden"],
                             min_n=MIN_N, labels={"n": "People"})
    for kw in ({}, {"decimals": 2, "percent": ["share"], "labels": {"m": "Mean"}}, {"decimals": 0}):
        got, want = sup.display(**kw), _display_cell_by_cell(sup, **kw)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert [type(v) for v in got.to_numpy().ravel()] == [type(v) for v in want.to_numpy().ravel()]
    assert (got["all_shown"].dtype, got["all_hidden"].dtype) == (np.float64, object)


@pytest.mark.parametrize("known_answering", [0, 1, 2, 3, 5])
def test_participation_hides_a_week_whose_private_respondents_are_few(known_answering):
    """Eight helpers, six answer in the week; the reader knows ``known_answering`` of the six
    and one who did not answer.  Fewer than min_n (3) private respondents hide the week
    (KNOWN): the count would say how many of the people the reader does not know answered."""
    monday = pd.Timestamp("2026-01-05")
    roster = pd.DataFrame({"helper_id": [f"H{i}" for i in range(8)], "start_date": pd.NaT, "end_date": pd.NaT})
    scores = pd.DataFrame({"helper_id": [f"H{i}" for i in range(6)], "week_start": monday})
    known = [f"H{i}" for i in range(known_answering)] + ["H7"]
    got = privacy.participation(roster, scores, 3, known=known, as_of=monday, weeks=1)
    assert len(got) == 1
    if 6 - known_answering < 3:
        assert got["status"].iloc[0] == privacy.KNOWN and got[["eligible", "respondents", "rate"]].isna().all(axis=None)
    else:
        assert got["status"].iloc[0] == privacy.SHOWN
        assert (got["eligible"].iloc[0], got["respondents"].iloc[0], got["rate"].iloc[0]) == (8, 6, 0.75)


def _participation_by_sets(roster, scores, min_n, known, first, last):
    """The weekly counts as sets of ids, one week at a time: what privacy.participation
    counted before it counted with masks (the reference for the test below)."""
    s = scores[scores["helper_id"].isin(set(roster["helper_id"]))
               & (scores["week_start"] >= first) & (scores["week_start"] <= last)]
    start, end = pd.to_datetime(roster["start_date"]).to_numpy(), pd.to_datetime(roster["end_date"]).to_numpy()
    ids = roster["helper_id"].to_numpy()
    answered = s.groupby("week_start")["helper_id"].agg(lambda x: set(x))
    known = set(known) if known is not None else None
    rows = []
    for w in pd.date_range(first, last, freq="7D"):
        w64 = np.datetime64(w)
        on = (pd.isna(start) | (start <= w64 + np.timedelta64(6, "D"))) & (pd.isna(end) | (end > w64))
        eligible = set(ids[on])
        resp = answered.get(w, set()) & eligible
        status = privacy.SHOWN
        if len(eligible) < min_n or len(resp) < min_n:
            status = privacy.PRIMARY
        elif known is not None and (eligible - known) and len(resp - known) < min_n:
            status = privacy.KNOWN
        shown = status == privacy.SHOWN
        rows.append({"week_start": w, "eligible": len(eligible) if shown else np.nan,
                     "respondents": len(resp) if shown else np.nan,
                     "rate": len(resp) / len(eligible) if shown and eligible else np.nan, "status": status})
    return pd.DataFrame(rows, columns=["week_start", "eligible", "respondents", "rate", "status"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(1, 9), st.sampled_from([None, 1, 3]))
def test_participation_counted_with_masks_equals_counting_sets_of_people(seed, weeks, n_known):
    """privacy.participation counts who was on the roster and who answered each week with masks
    over the roster: exactly the counts and verdicts of sets of ids, with people joining and
    leaving, a helper on the roster twice, answers of people not (yet, or any more) on it,
    several answers in one week and answers outside the weeks shown."""
    rng = np.random.default_rng(seed)
    monday = pd.Timestamp("2026-03-02")
    n = int(rng.integers(3, 25))
    ids = [f"H{i}" for i in range(n)]
    weeks_back = lambda k: monday - pd.Timedelta(weeks=int(k))      # noqa: E731
    roster = pd.DataFrame({
        "helper_id": ids + ids[:2],
        "start_date": [weeks_back(rng.integers(0, 12)) if rng.random() < 0.4 else pd.NaT for _ in range(n + 2)],
        "end_date": [weeks_back(rng.integers(0, 12)) if rng.random() < 0.2 else pd.NaT for _ in range(n + 2)]})
    m = int(rng.integers(0, 150))
    scores = pd.DataFrame({"helper_id": rng.choice(ids + ["X1", "X2"], m),
                           "week_start": pd.to_datetime([weeks_back(k) for k in rng.integers(0, 14, m)])})
    known = None if n_known is None else list(rng.choice(ids, min(n_known * 2, n), replace=False))
    got = privacy.participation(roster, scores, 3, known=known, as_of=monday, weeks=weeks)
    mine = scores[scores["helper_id"].isin(set(ids))]
    first = max(mine["week_start"].min() if len(mine) else monday, monday - pd.Timedelta(weeks=weeks - 1))
    want = _participation_by_sets(roster, scores, 3, known, first, monday)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)


def _random_organisation(rng, people: tuple, teams: tuple, with_known: bool):
    """People in random teams, roles and sites, with a value ``x`` most gave and ``y`` half gave,
    and (``with_known``) a few the reader knows one by one."""
    n = int(rng.integers(*people))
    df = pd.DataFrame({"helper_id": [f"H{i}" for i in range(n)],
                       "team": rng.choice([f"T{i}" for i in range(int(rng.integers(*teams)))], n),
                       "role": rng.choice(["caseworker", "nurse", "lead"], n),
                       "site": rng.choice(["North", "South", "East"], n),
                       "x": np.where(rng.random(n) < 0.8, rng.random(n), np.nan),
                       "y": np.where(rng.random(n) < 0.5, rng.random(n), np.nan)})
    known = list(df["helper_id"].sample(int(rng.integers(0, 6)), random_state=int(rng.integers(1 << 30)))) \
        if with_known else None
    return df, known


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.sampled_from([3, 5]), st.booleans())
def test_verdicts_asked_for_many_groups_at_once_equal_those_asked_one_by_one(seed, min_n, with_known):
    """privacy.Plan.allows_each (a weekly table's gate asks every team at once) against
    Plan.allows one group at a time, on random organisations with many groups near the minimum,
    known people, groups no one is in, and narrowings by another dimension or a list of values;
    each way of asking on its own copy of the plan (no verdict kept from the other)."""
    import copy

    df, known = _random_organisation(np.random.default_rng(seed), (8, 70), (2, 9), with_known)
    plan = privacy.plan_groups(df, ["x"], min_n, known=known)
    fixes = [{}, {"site": "North"}, {"site": ["North", "East"]}, {"role": "nurse", "site": "South"},
             {"team": "T0", "site": "East"}]
    seen = set()
    for dim in ("team", "role", "site"):
        values = sorted(set(df[dim])) + ["nobody here"]
        for fixed in fixes:
            for column in ("n", "x", "not audited"):
                one, each = copy.deepcopy(plan), copy.deepcopy(plan)
                if column in plan._atoms:      # the keys verdicts are kept under, made both ways
                    assert plan._keys(column, fixed, dim, values) == [plan._key(column, {**fixed, dim: v})
                                                                      for v in values]
                single = [one.allows(column, {**fixed, dim: v}) for v in values]
                assert each.allows_each(column, fixed, dim, values) == single, (dim, fixed, column)
                # asked again, from the verdicts kept by either way of asking
                assert each.allows_each(column, fixed, dim, values) == single
                assert one.allows_each(column, fixed, dim, values) == single
                seen.update(single)
    assert True in seen


def _statuses_row_by_row(sup, plan, fixed=None, column_map=None) -> dict:
    """The statuses apply_plan gave when it asked the plan row by row, column by column (before
    its verdicts were batched)."""
    g = sup.group_cols[0]
    fixed = dict(fixed or {})
    cols = ["n", *sup.value_cols]
    st_ = {c: sup.status[c].to_numpy(dtype=object).copy() for c in cols}
    for i, key in enumerate(sup.table[g].tolist()):
        cond = dict(fixed)
        if str(key) != privacy.TOTAL:
            cond[g] = key
        for c in cols:
            if st_[c][i] == privacy.SHOWN and not plan.allows((column_map or {}).get(c, c), cond):
                st_[c][i] = privacy.FILTER if fixed else privacy.COMPLEMENTARY
        if st_["n"][i] != privacy.SHOWN:
            for c in sup.value_cols:
                if st_[c][i] == privacy.SHOWN:
                    st_[c][i] = st_["n"][i]
    return {c: list(v) for c, v in st_.items()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.sampled_from([3, 5]), st.booleans())
def test_a_table_cut_by_the_plan_asking_every_group_at_once_equals_asking_row_by_row(seed, min_n, with_known):
    """apply_plan asks the plan about every row of a column at once (Plan.allows_each): on random
    organisations, narrowed or not, with a column map, the table and statuses equal those of
    asking one row at a time, each way on its own copy of the plan."""
    import copy

    df, known = _random_organisation(np.random.default_rng(seed), (40, 120), (2, 7), with_known)
    plan = privacy.plan_groups(df, ["x", "y"], min_n, known=known)
    hidden = set()
    for by in ("team", "role", "site"):
        for fixed in ({}, {"site": "North"}, {"role": ["nurse", "lead"]}):
            rows = df if not fixed else df[df[list(fixed)[0]].isin(np.atleast_1d(list(fixed.values())[0]))]
            sup = privacy.suppress(rows, by, "helper_id", ["x", "y"], min_n, known=known)
            for column_map in (None, {"y": "x"}):
                got = privacy.apply_plan(sup, copy.deepcopy(plan), fixed, column_map)
                want = _statuses_row_by_row(sup, copy.deepcopy(plan), fixed, column_map)
                assert {c: list(got.status[c]) for c in want} == want
                for c in want:        # a cell newly hidden is blanked; every other keeps its figure
                    newly = (sup.status[c] == privacy.SHOWN).to_numpy() & (got.status[c] != privacy.SHOWN).to_numpy()
                    assert got.table[c][newly].isna().all()
                    pd.testing.assert_series_equal(got.table[c][~newly].astype(float), sup.table[c][~newly].astype(float))
                hidden.update(v for c in ("n", "x", "y") for v in got.status[c])
    assert privacy.SHOWN in hidden
