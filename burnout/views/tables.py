"""Suppressed tables the review and the team view share, and their display forms.

Every function counts distinct people through :mod:`burnout.privacy`
(minimum group, complementary suppression, the organisation's joint audit);
nothing here decides who may see what, the views do.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import OrderedDict
from typing import Mapping

import numpy as np
import pandas as pd

from burnout import disclosure, privacy, risk
from burnout.views.data import (BAND_COLUMNS, BANDS, BLOCK_MEASURES, ROLLUP_MEASURES, TREND_MEASURES, OrgData,
                                active_roster, kept_between_reads, recent_means, series_for)


def narrowing(where: Mapping | None, team: str | None = None) -> dict:
    """The conditions a narrowed view shares: a one-team report, a site filter."""
    fixed = {k: list(v) for k, v in (where or {}).items() if v}
    if team is not None:
        fixed["team"] = team
    return fixed


def hr_known(people: pd.DataFrame) -> set:
    """Whom the HR reader is taken to know one by one (see disclosure.Reader.hr)."""
    return disclosure.consenting(people)


def review_plan(people: pd.DataFrame, min_n: int, measures: Mapping[str, str] = ROLLUP_MEASURES,
                known=None) -> privacy.Plan:
    """The release gate's audit of the roll-ups for the HR reader (``known``:
    default every consenting helper), cached on who answered, not on the answers:
    a what-if slider on the review page reruns the review, not the audit."""
    reader = disclosure.Reader.hr(people) if known is None else disclosure.Reader(disclosure.HR,
                                                                                  known=frozenset(known))
    return disclosure.plan_for(reader, people, list(measures), min_n,
                               weekly=[m for m in TREND_MEASURES if m not in BLOCK_MEASURES])


def rollup(people: pd.DataFrame, by: str, min_n: int, *, where: Mapping | None = None,
           measures: Mapping[str, str] = ROLLUP_MEASURES, known=None, margins: bool = True,
           plan: privacy.Plan | None = None, fixed: Mapping | None = None) -> privacy.Suppressed:
    """Suppressed means of the roll-up measures by ``by`` with an ``All`` total.

    With ``plan`` (the organisation's joint audit) the table shows only cells
    the audit allows; ``fixed`` names what a narrowed view shares (its team,
    its filter), whose cells may only show what the full tables imply.
    """
    cols = [c for c in measures if c in people.columns]
    df = people
    population = None
    if where:
        population = people
        mask = np.ones(len(people), dtype=bool)
        for col, allowed in where.items():
            if allowed:
                mask &= people[col].isin(list(allowed)).to_numpy()
        df = people[mask]
    labels = {"team": "Team", "role": "Role", "site": "Site", **measures}
    sup = privacy.suppress(df, by, "helper_id", cols, min_n, margins=margins, population=population,
                           known=known, labels=labels)
    for c in cols:      # the recent figure: the mean of the group's weekly answers (views.data.recent_means)
        pooled = recent_means(df, c, by)
        if pooled:
            sup.table[c] = [pooled.get(k, np.nan) if not pd.isna(v) else v for k, v in zip(sup.table[by], sup.table[c])]
    return privacy.apply_plan(sup, plan, fixed) if plan is not None else sup


def band_shares(people: pd.DataFrame, by: str | None, min_n: int, known=None, *,
                plan: privacy.Plan | None = None, fixed: Mapping | None = None,
                private=None) -> privacy.Suppressed:
    """Share of people in each risk band, per ``by`` (or for everyone).  The
    bands count the people behind ``risk_score``, so ``plan`` applies as for it, and their
    counts pass the roster audit too (having an estimate means having answered)."""
    df = people[people["risk_band"].notna()].copy()
    group = by
    if by is None:
        df["scope"] = privacy.TOTAL
        group = "scope"
    labels = {"team": "Team", "role": "Role", "site": "Site", "scope": "Scope",
              **{c: f"{b.capitalize()} risk (%)" for b, c in zip(BANDS, BAND_COLUMNS)}}
    band_cols = list(BAND_COLUMNS)
    sup = privacy.suppress(df, group, "helper_id", band_cols, min_n,
                           margins=by is not None, known=known, labels=labels, private=private)
    if plan is None:
        return sup
    return privacy.apply_plan(sup, plan, fixed, column_map={"n": disclosure.count_of("risk_score"),
                                                          **{c: "risk_score" for c in band_cols}})


plan_gate = disclosure.cell_gate


def joined(frame: pd.DataFrame, roster: pd.DataFrame, group_col: str) -> pd.DataFrame:
    """``frame.merge(roster[["helper_id", group_col]].drop_duplicates("helper_id"),
    on="helper_id", how="inner")``: the rows of helpers on the roster, in ``frame``'s order,
    with their ``group_col`` (their first roster row's) — looked up, not merged: a merge
    sorts out the keys of hundreds of thousands of weekly rows on every review."""
    first = roster[["helper_id", group_col]].drop_duplicates("helper_id")
    at = pd.Index(first["helper_id"]).get_indexer(frame["helper_id"])
    on = at >= 0
    out = frame[on].reset_index(drop=True)
    out[group_col] = first[group_col].iloc[at[on]].reset_index(drop=True)
    return out


def weekly_by(scores_or_history: pd.DataFrame, roster: pd.DataFrame, group_col: str, measure: str,
              min_n: int, ids=None, known=None, *, plan: privacy.Plan | None = None,
              fixed: Mapping | None = None, private=None, within_gate=None, span: int = 1) -> privacy.Suppressed:
    """Sub-group x week means of ``measure`` with each week's total as the published margin;
    with ``plan`` only the groups the reader's audit allows (see :func:`plan_gate`), and with
    ``within_gate`` (a cell key -> status) only the cells a wider weekly table allows."""
    rows = WeekRows.of(weekly_rows(scores_or_history, roster, group_col, measure, ids), group_col, measure)
    gate = plan_gate(plan, group_col, measure, fixed, span)
    if within_gate is not None:
        outer = gate

        def gate(key):
            return within_gate(key) or (outer(key) if outer is not None else None)
    return by_week(rows, min_n, known=known, gate=gate, private=private)


def weekly_rows(scores_or_history: pd.DataFrame, roster: pd.DataFrame, group_col: str, measure: str,
                ids=None) -> pd.DataFrame:
    """The rows a sub-group x week table counts: ``helper_id, week_start, measure`` of the
    helpers on the roster (``ids``: only theirs) with their ``group_col``, a value and a group."""
    df = scores_or_history[["helper_id", "week_start", measure]].copy()
    if ids is not None:
        df = df[df["helper_id"].isin(set(ids))]
    df = joined(df, roster, group_col)
    df[measure] = pd.to_numeric(df[measure], errors="coerce") if df[measure].dtype != bool else df[measure]
    return df[df[measure].notna() & df[group_col].notna()]


def _row_hashes(df: pd.DataFrame, group_col: str, measure: str) -> np.ndarray:
    return pd.util.hash_pandas_object(df[[group_col, "helper_id", measure]], index=False).to_numpy()


class WeekRows:
    """The rows of a sub-group x week table (:func:`weekly_rows`) cut into weeks, with what
    :func:`by_week` keys a week on (its rows' digest, its groups, its people), worked out
    once per week.  Each week's rows keep the order of the frame they came from, so a
    week's cells are computed from the very rows, in the very order, of the whole frame.

    :meth:`replaced` puts some helpers' rows now in place of theirs, working out again only
    the weeks where their rows changed: after a check-in the organisation's weekly table
    costs the week it touched, not every row (views.team.org_audit, views.review).  To tell
    which weeks those are without reading every row, each helper's rows of each week are
    kept as a hash (``_cells``: per helper, in their order, each week's sum of row hashes and
    sum weighted by position)."""

    def __init__(self, group_col: str, measure: str, weeks: list, frames: list, helpers: pd.Index,
                 digests: list, cells: tuple):
        self.group_col, self.measure = group_col, measure
        self.weeks, self.frames = weeks, frames
        # each helper's place in the frame's order (each helper's rows come together there)
        self.helpers = helpers
        self.digests = digests
        self._cells = cells
        self.groups = [sorted(set(f[group_col].to_numpy()), key=str) for f in frames]
        self.people = [pd.unique(f["helper_id"].to_numpy()) for f in frames]
        self._mine: tuple = (None, None)

    @property
    def empty(self) -> bool:
        return not self.frames

    def _digest(self, frame: pd.DataFrame) -> bytes:
        return hashlib.sha1(np.sort(_row_hashes(frame, self.group_col, self.measure)).tobytes()).digest()

    @staticmethod
    def _cells_of(hc: np.ndarray, wc: np.ndarray, h: np.ndarray, n_weeks: int) -> tuple:
        """(helper code, week code, sum of hashes, position-weighted sum) per helper-week, by helper then week."""
        g = hc.astype(np.int64) * n_weeks + wc
        o = np.argsort(g, kind="stable")
        gs = g[o]
        if not len(gs):
            e = np.array([], np.int64)
            return e, e, e.astype(np.uint64), e.astype(np.uint64)
        first = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
        pos = np.arange(len(gs)) - np.repeat(first, np.diff(np.r_[first, len(gs)]))
        hs = h[o]
        with np.errstate(over="ignore"):
            h1 = np.add.reduceat(hs, first)
            h2 = np.add.reduceat(hs * (pos + 1).astype(np.uint64), first)
        return gs[first] // n_weeks, gs[first] % n_weeks, h1, h2

    @classmethod
    def of(cls, df: pd.DataFrame, group_col: str, measure: str) -> "WeekRows":
        df = df[[group_col, "week_start", "helper_id", measure]]
        if df.empty:
            e = np.array([], np.int64)
            return cls(group_col, measure, [], [], pd.Index([]), [], cls._cells_of(e, e, e.astype(np.uint64), 0))
        codes, weeks = pd.factorize(df["week_start"], sort=True)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(weeks) + 1))
        frames = [df.iloc[order[bounds[i]:bounds[i + 1]]].reset_index(drop=True) for i in range(len(weeks))]
        hc, helpers = pd.factorize(df["helper_id"], sort=False)        # in the frame's order
        h = _row_hashes(df, group_col, measure)
        digests = [hashlib.sha1(np.sort(h[order[bounds[i]:bounds[i + 1]]]).tobytes()).digest()
                   for i in range(len(weeks))]
        return cls(group_col, measure, list(weeks), frames, pd.Index(helpers), digests,
                   cls._cells_of(hc, codes, h, len(weeks)))

    def replaced(self, ids, new: pd.DataFrame) -> "WeekRows | None":
        """These rows with those of ``ids`` replaced by ``new`` (:func:`weekly_rows` of their
        rows now); None when the whole frame must say where the rows go: a helper of ``ids``
        has rows now but had none here, a week has rows now but had none, or a week is left
        with none."""
        ids = set(ids)
        new = new[[self.group_col, "week_start", "helper_id", self.measure]]
        n_weeks = len(self.weeks)
        new_hc = self.helpers.get_indexer(new["helper_id"])
        new_wc = pd.Index(self.weeks).get_indexer(new["week_start"]) if n_weeks else np.full(len(new), -1)
        if (new_hc < 0).any() or (new_wc < 0).any():
            return None
        hc, wc, h1, h2 = self._cells
        codes = np.unique(self.helpers.get_indexer(list(ids)))
        codes = codes[codes >= 0]
        lo, hi = np.searchsorted(hc, codes, "left"), np.searchsorted(hc, codes, "right")
        old_at = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)]) if len(codes) else np.array([], int)
        n_hc, n_wc, n_h1, n_h2 = self._cells_of(new_hc, new_wc, _row_hashes(new, self.group_col, self.measure),
                                                n_weeks)
        # the weeks where those helpers' rows changed: a patched read holds a whole team's rows
        # again, every week of theirs, of which a check-in changed one
        old = dict(zip(zip(hc[old_at].tolist(), wc[old_at].tolist()), zip(h1[old_at].tolist(), h2[old_at].tolist())))
        now = dict(zip(zip(n_hc.tolist(), n_wc.tolist()), zip(n_h1.tolist(), n_h2.tolist())))
        touched = sorted({k[1] for k in old.keys() ^ now.keys()} | {k[1] for k in old.keys() & now.keys()
                                                                   if old[k] != now[k]})
        # the kept hashes: every other helper's as they were, the changed helpers' now
        pieces, done = [], 0
        for c, a, b in zip(codes, lo, hi):
            na, nb = np.searchsorted(n_hc, c, "left"), np.searchsorted(n_hc, c, "right")
            pieces.append((slice(done, a), None))
            pieces.append((slice(na, nb), "new"))
            done = b
        pieces.append((slice(done, len(hc)), None))
        cells = tuple(np.concatenate([(n if src else o)[sl] for sl, src in pieces])
                      for o, n in zip(self._cells, (n_hc, n_wc, n_h1, n_h2)))
        by_week = dict(tuple(new.groupby(new_wc, sort=False))) if len(new) else {}
        frames = list(self.frames)
        out = object.__new__(WeekRows)
        out.group_col, out.measure, out.helpers = self.group_col, self.measure, self.helpers
        out.weeks, out.frames, out._cells = self.weeks, frames, cells
        out.digests, out.groups, out.people = list(self.digests), list(self.groups), list(self.people)
        # the people known in each untouched week stay as worked out (mine)
        held_known, held = self._mine
        out._mine = (held_known, None if held is None else list(held))
        for i in touched:
            frame = frames[i]
            kept = frame[~frame["helper_id"].isin(ids).to_numpy()]
            added = by_week.get(i)
            both = kept if added is None else pd.concat([kept, added], ignore_index=True)
            if both.empty:
                return None
            ranks = self.helpers.get_indexer(both["helper_id"])
            both = both.iloc[np.argsort(ranks, kind="stable")].reset_index(drop=True)
            frames[i] = both
            out.digests[i] = out._digest(both)
            out.groups[i] = sorted(set(both[self.group_col].to_numpy()), key=str)
            out.people[i] = pd.unique(both["helper_id"].to_numpy())
            if out._mine[1] is not None:
                out._mine[1][i] = None
        return out

    def mine(self, known: set | None) -> list:
        """Each week's people the reader knows one by one, sorted (None: nobody)."""
        if known is None:
            return [None] * len(self.weeks)
        held_known, held = self._mine
        if held is not None and held_known == known:
            if all(m is not None for m in held):
                return held
            mine = [tuple(sorted(set(p) & known, key=str)) if m is None else m for p, m in zip(self.people, held)]
        else:
            mine = [tuple(sorted(set(p) & known, key=str)) for p in self.people]
        self._mine = (set(known), mine)
        return mine

    def frame(self, weeks: list[int]) -> pd.DataFrame:
        """The rows of those weeks (by position), week after week."""
        return pd.concat([self.frames[i] for i in weeks], ignore_index=True)


def org_week_rows(data: OrgData, measure: str) -> WeekRows:
    """The team x week rows of ``measure`` (a weekly one) the HR reader's weekly table counts:
    every active helper's (:func:`weekly_rows` of ``views.data.series_for``), kept between
    reads (``views.data.kept_between_reads``): after a patched read only the changed helpers'
    rows are put in place of theirs (:meth:`WeekRows.replaced`); they equal the whole read's
    (tests/test_review_patch.py)."""
    def rows_of(d: OrgData) -> pd.DataFrame:
        series = series_for(d, measure)
        active = set(active_roster(d.roster, d.as_of)["helper_id"])
        return weekly_rows(series[series["helper_id"].isin(active)], d.roster, "team", measure)

    def patch(held: WeekRows) -> WeekRows | None:
        _, ids, read = data.patched
        # the changed helpers' rows, as the patch read them
        return held.replaced(ids, rows_of(dataclasses.replace(data, **read)))
    return kept_between_reads(data, ("week_rows", measure), lambda: WeekRows.of(rows_of(data), "team", measure),
                              patch)


# One week's block of a sub-group x week table, keyed on everything its cells depend on
# (see by_week); shared by every session of the process, oldest dropped first.
_WEEKS: "OrderedDict[tuple, privacy.Suppressed]" = OrderedDict()
WEEK_CACHE_SIZE = 1024      # about 100 weeks x 4 measures x a few scopes; a block is a few kB


def week_blocks(group_col: str = "team") -> list[tuple[tuple, privacy.Suppressed]]:
    """The cached week blocks of ``group_col`` x week tables with their keys.  A key is content
    (the rows' digest, the verdicts, the known people), never an object of this process, so
    another process may keep them as its own (:func:`seed_weeks`, release_store)."""
    return [(k, v) for k, v in list(_WEEKS.items()) if k[0] == group_col]


def seed_weeks(blocks) -> int:
    """Keep ``blocks`` (:func:`week_blocks` of another process) as if suppressed here: a week
    whose rows, verdicts and known people are the same is read back, not suppressed again.
    Returns how many were new to the cache."""
    added = 0
    for key, block in blocks:
        if key not in _WEEKS:
            _WEEKS[key] = block
            added += 1
    while len(_WEEKS) > WEEK_CACHE_SIZE:
        _WEEKS.popitem(last=False)
    return added


# A week's gate verdicts, keyed on the ids of the audits they rest on (disclosure.cell_gate's
# basis) and kept with those audits, so an id is never reused while its entry lives: after a
# check-in only the weeks whose audits changed ask the gate again (tens of thousands of
# team x week cells at 5,000 helpers).
_VERDICTS: "OrderedDict[tuple, tuple]" = OrderedDict()
VERDICT_CACHE_SIZE = 1024      # as many weeks as WEEK_CACHE_SIZE


def _verdicts(gate, groups: list, week) -> tuple:
    cells = [*groups, privacy.TOTAL]
    if gate is None:
        return tuple(None for _ in cells)
    basis = getattr(gate, "basis", None)
    if basis is None:
        return tuple(gate((g, week)) for g in cells)
    audits, rest = basis(week)
    key = (tuple(map(id, audits)), rest, tuple(cells))
    hit = _VERDICTS.get(key)
    if hit is not None and len(hit[0]) == len(audits) and all(a is b for a, b in zip(hit[0], audits)):
        _VERDICTS.move_to_end(key)
        return hit[1]
    verdicts = tuple(gate.each(cells, week)) if hasattr(gate, "each") else tuple(gate((g, week)) for g in cells)
    _VERDICTS[key] = (audits, verdicts)
    while len(_VERDICTS) > VERDICT_CACHE_SIZE:
        _VERDICTS.popitem(last=False)
    return verdicts


def by_week(rows: "WeekRows", min_n: int, *, known=None, gate=None, private=None) -> privacy.Suppressed:
    """``privacy.suppress`` of a sub-group x week table with each week's total as its
    margin (``within="week_start"``), computed one week at a time and cached per week.

    No identity links two weeks (each line is one week's cells and its total), so
    every week's cells, statuses and hiding are the week's own: the blocks put
    together in the table's order are exactly the whole table's suppression.  A
    week's block depends only on its rows (group, person, value), the verdicts
    ``gate`` gives its cells, the week's respondents the reader knows and whether
    anyone in scope is private; it is cached on exactly that, so a check-in
    recomputes the week it falls in and every other week is read back."""
    group_col, measure = rows.group_col, rows.measure
    cols = [group_col, "week_start"]
    if rows.empty:
        empty = pd.DataFrame(columns=[group_col, "week_start", "helper_id", measure])
        return privacy.suppress(empty, cols, "helper_id", [measure], min_n, within="week_start", known=known,
                                gate=gate, private=private)
    blocks = week_blocks_of(rows, min_n, known=known, gate=gate, private=private)
    table = pd.concat([b.table for b in blocks], ignore_index=True)
    status = pd.concat([b.status for b in blocks], ignore_index=True)
    # the whole table's order: the cells by (group, week), then each week's total
    margin = (table[group_col].astype(str) == privacy.TOTAL).to_numpy()
    inner = table[~margin].sort_values(cols, kind="stable").index
    ordered = np.concatenate([inner.to_numpy(), np.flatnonzero(margin)])
    first = blocks[0]
    return privacy.Suppressed(table.iloc[ordered].reset_index(drop=True), status.iloc[ordered].reset_index(drop=True),
                              first.group_cols, first.value_cols, first.min_n, first.labels)


def week_blocks_of(rows: "WeekRows", min_n: int, *, known=None, gate=None,
                   private=None) -> list[privacy.Suppressed]:
    """:func:`by_week`'s table as its week blocks, one per week of ``rows.weeks`` (rows with
    at least one week): the table is them put together and ordered."""
    group_col, measure = rows.group_col, rows.measure
    cols = [group_col, "week_start"]
    known = set(known) if known is not None else None
    mine_of = rows.mine(known)
    keys, blocks, missing = [], [], []
    for i, week in enumerate(rows.weeks):
        verdicts = _verdicts(gate, rows.groups[i], week)
        key = (group_col, measure, min_n, week, rows.digests[i], verdicts, mine_of[i], bool(private))
        keys.append(key)
        sup = _WEEKS.get(key)
        if sup is None:
            missing.append(i)
        else:
            _WEEKS.move_to_end(key)
        blocks.append(sup)
    if missing:
        # the weeks not cached in one suppression (a cold start: every week at once), then cut into weeks
        sup = privacy.suppress(rows.frame(missing), cols, "helper_id", [measure], min_n, within="week_start",
                               known=known, gate=gate, private=private)
        week_of = sup.table["week_start"]
        for i in missing:
            mask = (week_of == rows.weeks[i]).to_numpy()
            blocks[i] = privacy.Suppressed(sup.table[mask].reset_index(drop=True),
                                           sup.status[mask].reset_index(drop=True), sup.group_cols, sup.value_cols,
                                           sup.min_n, sup.labels)
            _WEEKS[keys[i]] = blocks[i]
        while len(_WEEKS) > WEEK_CACHE_SIZE:
            _WEEKS.popitem(last=False)
    return blocks


def hr_week_blocks(rows: "WeekRows", min_n: int, *, plan: privacy.Plan | None, known) -> list[privacy.Suppressed]:
    """The organisation's table :func:`hr_weekly` releases for a weekly measure over ``rows``
    (:func:`org_week_rows`, with at least one week), left in its week blocks: what the leads'
    organisation audit reads cell by cell (views.team.org_audit), without putting the table
    together and ordering it again after every check-in."""
    return week_blocks_of(rows, min_n, known=known, gate=plan_gate(plan, "team", rows.measure, None, 1))


def hr_weekly(series: pd.DataFrame | None, roster: pd.DataFrame, measure: str, min_n: int, *,
              plan: privacy.Plan | None, known, team: str | None = None,
              rows: "WeekRows | None" = None) -> privacy.Suppressed:
    """The HR reader's weekly cells: team x week for the organisation, role x week for a
    one-team report — audited week by week.

    Each week is its own block (a week's answers are other numbers than the next
    week's): the team cells of a week add up to the week's total, and a team's
    role cells to the team's cell.  These sums nest (total > team > team and
    role), so the released row space is spanned by the blocks they cut out —
    each shown cell, the hidden teams of a week together, a shown team's
    hidden roles together — and a set of people is determined only as a union
    of blocks.  So a week is safe when every block holds no one or at least
    min_n people the reader does not know one by one (``known``: HR counts every
    consenting helper): per week, the one-way protection of each line with
    unknown people counted, and a team's role cells only in weeks where the
    organisation's table shows that team (else its report's week total would
    undo the hiding).  Every cell also needs the release gate to allow its group in
    its week (see :func:`plan_gate`, ``disclosure.JointPlan.allows_cell``), the link
    between the window roll-ups and the weeks they span.  ``rows``: the team x week rows
    (:func:`org_week_rows`), for a weekly measure, instead of cutting ``series`` again."""
    span = 1
    if measure in BLOCK_MEASURES:
        # 4-week blocks (see views.data.BLOCK_MEASURES), aligned with the windows' blocks
        last = getattr(plan, "last_week", None)
        series = disclosure.in_blocks(series, last if last is not None else series["week_start"].max())
        span = disclosure.BLOCK_WEEKS
    if rows is not None and span == 1:       # the organisation's rows, already cut into weeks
        org = by_week(rows, min_n, known=known, gate=plan_gate(plan, "team", measure, None, span))
    else:
        org = weekly_by(series, roster, "team", measure, min_n, known=known, plan=plan, span=span)
    if team is None:
        return _pooled(org, series, roster, "team", measure) if span > 1 else org
    st = dict(zip(zip(org.table["team"].astype(str), org.table["week_start"]), org.status[measure]))

    def team_shown(key):
        return None if st.get((str(team), key[1]), privacy.SHOWN) == privacy.SHOWN else privacy.COMPLEMENTARY
    ids = roster.loc[roster["team"] == team, "helper_id"]
    sup = weekly_by(series, roster, "role", measure, min_n, ids=ids, known=known, plan=plan,
                    fixed={"team": team}, within_gate=team_shown, span=span)
    return _pooled(sup, series[series["helper_id"].isin(set(ids))], roster, "role", measure) if span > 1 else sup


def _pooled(sup: privacy.Suppressed, series: pd.DataFrame, roster: pd.DataFrame, group_col: str,
            measure: str) -> privacy.Suppressed:
    """A block cell's figure as the recent figures count it: the mean of every answer its
    people gave in the block (a mean of each person's own mean first would mix the few
    who answered twice, see views.data.recent_means)."""
    df = joined(series[["helper_id", "week_start", measure]], roster, group_col)
    df[measure] = pd.to_numeric(df[measure], errors="coerce")
    df = df[df[measure].notna()]
    cell = df.groupby([group_col, "week_start"])[measure].mean()
    total = df.groupby("week_start")[measure].mean()
    table = sup.table.copy()
    shown = (sup.status[measure] == privacy.SHOWN).to_numpy()
    keys = zip(table[group_col], table["week_start"])
    table[measure] = [(total.get(w, np.nan) if str(g) == privacy.TOTAL else cell.get((g, w), np.nan)) if ok else v
                      for (g, w), ok, v in zip(keys, shown, table[measure])]
    return privacy.Suppressed(table, sup.status, sup.group_cols, sup.value_cols, sup.min_n, sup.labels)


def heatmap_cells(sup: privacy.Suppressed, measure: str) -> pd.DataFrame:
    """Long frame for charts.heatmap from a sub-group x week table (margins dropped)."""
    inner = sup.interior()
    g = sup.group_cols[0]
    return pd.DataFrame({g: inner.table[g].astype(str), "week_start": inner.table["week_start"],
                         "value": inner.table[measure], "status": inner.status[measure]})


def trend_from(sup: privacy.Suppressed, measure: str) -> pd.DataFrame:
    """``week_start, mean, n, status`` from the ``All`` rows of a sub-group x week table."""
    t, s = sup.table, sup.status
    g = sup.group_cols[0]
    rows = t[g].astype(str) == privacy.TOTAL
    return pd.DataFrame({"week_start": t.loc[rows, "week_start"], "mean": t.loc[rows, measure],
                         "n": t.loc[rows, "n"], "status": s.loc[rows, measure]}).reset_index(drop=True)


def participation_table(data: OrgData, ids, min_n: int, known=None, weeks: int | None = 26, *,
                        allowed: bool = True) -> pd.DataFrame:
    """Share of ``ids`` who checked in each week — counts only, never who (see privacy).
    ``allowed=False`` (the reader's audit hides this group) hides every week:
    counts of who answered are protected like the scores."""
    roster = data.roster[data.roster["helper_id"].isin(set(ids))]
    # privacy.participation keeps only the scores of ``roster``'s helpers (all in ``ids``):
    # no filtered copy of the whole history first
    part = privacy.participation(roster, data.scores, min_n, known=known, as_of=data.as_of, weeks=weeks)
    if not allowed and len(part):
        part = part.assign(eligible=np.nan, respondents=np.nan, rate=np.nan, status=privacy.COMPLEMENTARY)
    return part


def participation_display(part: pd.DataFrame, min_n: int) -> pd.DataFrame:
    if part.empty:
        return pd.DataFrame(columns=["Week starting", "Checked in (%)"])
    vals = [privacy.hidden_label(s, min_n) if s != privacy.SHOWN else round(float(r) * 100)
            for r, s in zip(part["rate"], part["status"])]
    return pd.DataFrame({"Week starting": pd.to_datetime(part["week_start"]).dt.strftime("%Y-%m-%d"),
                         "Checked in (%)": vals})


def team_drivers(people: pd.DataFrame, min_n: int, known=None, top: int = 3,
                 weights: Mapping | None = None, private=None) -> pd.DataFrame:
    """Share of people for whom each risk component is among their own top ``top``
    drivers — the same ranking (``risk.driver_components``, under the saved
    weights) that names each helper's drivers — over ``min_n`` or more people
    with a risk estimate."""
    df = people[people["risk_score"].notna()]
    if df.empty:
        return pd.DataFrame(columns=["driver", "share", "helpers"])
    n = df["helper_id"].nunique()
    unknown = len(set(df["helper_id"]) - set(known)) if known is not None else 0
    if n < min_n or (known is not None and (0 < unknown < min_n or (private and unknown == 0))):
        return pd.DataFrame(columns=["driver", "share", "helpers"])
    chosen = risk.driver_components(df, weights, top)
    counts = pd.Series([c for row in chosen for c in row], dtype=object).value_counts()
    out = pd.DataFrame({"driver": [risk.COMPONENT_LABELS[c] for c in counts.index],
                        "share": counts.to_numpy() / n, "helpers": n})
    return out.sort_values("share", ascending=False, kind="stable").reset_index(drop=True)


def last_weeks(cells: pd.DataFrame, weeks: int) -> pd.DataFrame:
    """The rows of the latest ``weeks`` weeks of a long week frame."""
    if cells.empty:
        return cells
    keep = sorted(pd.to_datetime(cells["week_start"]).unique())[-weeks:]
    return cells[pd.to_datetime(cells["week_start"]).isin(keep)]


def for_screen(df: pd.DataFrame) -> pd.DataFrame:
    """Columns mixing numbers and words ("fewer than 5") as text, so a table widget
    shows them as they are instead of guessing a type."""
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype == object:
            kinds = {type(v) for v in col if v is not None and not (isinstance(v, float) and math.isnan(v))}
            if len(kinds) > 1 or (kinds and not kinds <= {str}):
                out[c] = [_screen_text(v) for v in col]
    return out


def _screen_text(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and abs(v) >= 10_000:
        return f"{int(v):,}"
    return str(v)
