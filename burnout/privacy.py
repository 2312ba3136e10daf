"""Roles, consent, minimum-group suppression and the audit trail (DESIGN §7).

Nothing here imports streamlit: pages, the CLI and the exports all go through
the same rules.

Access
------
- A helper sees only their own data.
- A lead sees their own team's aggregates, the caseload figures of their team
  (operational data), and the individual self-report of a helper of their team
  who switched ``consent_lead_view`` on.
- HR and admin see aggregates only: never one person's self-report.
- Every view of one person's self-report by someone else goes to the audit log
  (:func:`audit_view`).

Suppression (:func:`suppress`)
------------------------------
Every aggregate shown to someone other than the helper is computed on
*distinct respondents*: rows are first reduced to one value per person and cell
(the person's mean), and a cell's ``n`` counts people, not rows.  Then:

1. **Primary suppression.**  A cell with fewer than ``min_n`` people (default 5)
   is hidden.  Its ``n`` is hidden too ("fewer than 5").
2. **Complementary suppression** (PeopleCues practice: hide the next-smallest
   group).  A published total (a margin: the team, the organisation, the week)
   is the sum of its cells, so ``total - visible cells`` gives the sum over the
   hidden cells of that line — for counts, and for the sums behind means
   (mean x n).  For every line whose total is known (published, or derivable),
   the hidden cells of the line must together hold at least ``min_n`` distinct
   people; otherwise the smallest visible sibling is hidden as well, and when no
   sibling is left the total itself is hidden.  After that, a linear-algebra
   audit checks the whole table (one- and two-way, with row, column and grand
   totals): if any hidden cell can still be solved from the published cells and
   the structural identities (row total = sum of its cells, ...), one more
   sibling is hidden, and the audit repeats until nothing hidden is derivable.
3. **Narrowing filters.**  A filtered table is compared with the same table
   over its unfiltered ``population``: a cell is hidden when the filter removes
   between 1 and ``min_n - 1`` people from it, because ``unfiltered - filtered``
   would describe that small group.  A filter that leaves fewer than ``min_n``
   people is hidden by rule 1.
4. **Known individuals.**  A lead may see consenting helpers one by one, so
   ``team - consenting helpers`` would describe the helpers who keep their
   results private.  With ``known`` (the ids the viewer can see individually) a
   cell is hidden when it holds between 1 and ``min_n - 1`` people outside
   ``known``.  (The lead pages go one step further: when a team has between 1
   and ``min_n - 1`` private helpers, the team figures are computed over the
   consenting helpers only — see :func:`lead_basis`.)

Complementary cells are labelled "hidden to protect a small group" so a reader
knows why a large group shows no number; primary cells say "fewer than 5".
Each value column is protected with its own respondent counts (a team can have
enough weekly pulses but too few quarterly ProQOL answers); ``n`` is protected
with the count of people who contributed any value.

Exports neutralise spreadsheet formulas (:func:`neutralise_formulas`), and free
text never reaches HR: written comments are the helper's own (the settings'
``min_comment_group`` is the threshold any grouped comment would need).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from scipy import sparse
from threadpoolctl import ThreadpoolController, threadpool_limits

from burnout.domain.settings import MIN_GROUP_SIZE as MIN_N
from burnout.store.writes import audit

ROLES = ("helper", "lead", "hr", "admin")
TOTAL = "All"          # label of margin rows / columns

SHOWN = "shown"
PRIMARY = "primary"          # fewer than min_n people
COMPLEMENTARY = "complementary"  # hidden so a smaller group cannot be worked out
FILTER = "filter"            # a narrowing filter would single out a small group
KNOWN = "known"              # the difference with individually visible people is small


def hidden_label(status: str, min_n: int = MIN_N) -> str:
    """Plain words for a hidden cell (used in tables, XLSX and PDF)."""
    if status == PRIMARY:
        return f"fewer than {min_n}"
    if status in (COMPLEMENTARY, FILTER, KNOWN):
        return "hidden to protect a small group"
    return ""


def privacy_note(min_n: int = MIN_N) -> str:
    return (f"Groups under {min_n} people are not shown, and neither is any figure from which "
            f"such a group could be worked out. Written comments are never included.")


# =========================================================================== access rules

def _get(row, key, default=None):
    if row is None:
        return default
    if isinstance(row, Mapping):
        return row.get(key, default)
    try:
        return row[key]
    except (KeyError, IndexError, TypeError):
        return getattr(row, key, default)


def _team_of(helper_row):
    team = _get(helper_row, "team")
    return team if team is not None else _get(helper_row, "team_id")


def is_self(viewer: Mapping, helper_row) -> bool:
    own = (viewer or {}).get("helper_id")
    return bool(own) and own == _get(helper_row, "helper_id")


def can_view_individual(viewer: Mapping, helper_row) -> bool:
    """May ``viewer`` (a user dict) see this helper's individual self-report?

    helper: their own only.  lead: a helper of their own team who consented to
    lead view.  hr / admin: never (unless it is their own record).
    """
    if not viewer or helper_row is None:
        return False
    if is_self(viewer, helper_row):
        return True
    if viewer.get("role") == "lead":
        team = viewer.get("team_id")
        return bool(team) and _team_of(helper_row) == team and bool(_get(helper_row, "consent_lead_view", False))
    return False


def can_view_caseload(viewer: Mapping, helper_row) -> bool:
    """Caseload figures are operational: a lead sees them for everyone in their team."""
    if not viewer or helper_row is None:
        return False
    if is_self(viewer, helper_row):
        return True
    if viewer.get("role") == "lead":
        team = viewer.get("team_id")
        return bool(team) and _team_of(helper_row) == team
    return False


def can_view_team(viewer: Mapping, team_id: str) -> bool:
    """Team aggregates: a lead for their own team; HR and admin for every team."""
    if not viewer:
        return False
    role = viewer.get("role")
    if role == "lead":
        return bool(team_id) and viewer.get("team_id") == team_id
    return role in ("hr", "admin")


def can_view_comments(viewer: Mapping, helper_row=None) -> bool:
    """Free text: the helper, or a consented lead; never HR or admin."""
    if not viewer or viewer.get("role") in ("hr", "admin") and not is_self(viewer, helper_row):
        return False
    return helper_row is not None and can_view_individual(viewer, helper_row)


def visible_individuals(viewer: Mapping, roster: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``roster`` whose individual self-report ``viewer`` may see."""
    if roster.empty:
        return roster
    mask = [can_view_individual(viewer, r) for r in roster.to_dict("records")]
    return roster[np.asarray(mask, dtype=bool)]


def private_count_note(n_private: int, min_n: int = MIN_N) -> str | None:
    """"N helpers have chosen to keep their results private", only when N is a group.

    A count of people who made a choice is itself an aggregate about people, so
    it follows the minimum group size: with fewer than ``min_n`` (or none) the
    note is left out rather than drawing attention to one or two colleagues.
    """
    if n_private >= min_n:
        return f"{n_private} helpers have chosen to keep their individual results private."
    return None


def lead_basis(team_roster: pd.DataFrame, min_n: int = MIN_N) -> tuple[set, set, str]:
    """Whose answers the lead's team figures include: ``(ids, known, label)``.

    ``known`` are the helpers the lead may see one by one (consenting).  When a
    team has between 1 and ``min_n - 1`` helpers who keep their results
    private, any team figure minus the consenting helpers' own results would
    describe that small group; the figures are then computed over the
    consenting helpers only, and the label says so.
    """
    ids = set(team_roster["helper_id"])
    known = set(team_roster.loc[team_roster["consent_lead_view"].astype(bool), "helper_id"])
    private = ids - known
    if 0 < len(private) < min_n:
        return known, known, (f"Team figures include the {len(known)} helpers who share their results "
                              f"with you; the others' answers are left out so that they stay private.")
    return ids, known, "Team figures include everyone in the team who checked in."


# =========================================================================== audit

def audit_view(engine, actor, helper_id: str, what: str) -> None:
    """Record that ``actor`` (a username or user dict) viewed ``helper_id``'s ``what``."""
    name = actor.get("username", "unknown") if isinstance(actor, Mapping) else str(actor)
    with engine.begin() as conn:
        audit(conn, name, "view_individual", subject_helper_id=helper_id, detail=str(what)[:500])


# =========================================================================== exports

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` where text cells (and headers) starting with = + - @ (or a
    tab / carriage return) get a leading apostrophe, so a spreadsheet shows
    them as text instead of running them.  Numbers are left alone."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(neutralise_text)
    out.columns = [neutralise_text(c) if isinstance(c, str) else c for c in out.columns]
    return out


# =========================================================================== suppression core

@dataclass
class _Cell:
    key: tuple
    members: frozenset
    interior: bool
    published: bool = True     # False: an unpublished margin (never shown)


def _line_union(cells: list[_Cell], idx: Iterable[int], known: set | None = None) -> int:
    """People in the cells ``idx`` whom the reader does not know one by one."""
    s: set = set()
    for i in idx:
        s |= cells[i].members
    return len(s - known) if known else len(s)


def _determined(cells: list[_Cell], lines: list[tuple[int, list[int]]], hidden: np.ndarray) -> list[int]:
    """Hidden cells whose value follows from the visible ones and the line identities."""
    hid = np.flatnonzero(hidden)
    if len(hid) == 0 or not lines:
        return []
    pos = {c: k for k, c in enumerate(hid)}
    rows = []
    for total, members in lines:
        coeffs = np.zeros(len(hid))
        for m in members:
            if hidden[m]:
                coeffs[pos[m]] += 1.0
        if hidden[total]:
            coeffs[pos[total]] -= 1.0
        if coeffs.any():
            rows.append(coeffs)
    if not rows:
        return []
    # Lines that share no hidden cell are independent (a sub-group x week table
    # falls apart into its weeks), so each connected block is solved on its own:
    # the same answer as one decomposition of the whole, at a fraction of the cost.
    parent = list(range(len(hid)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r in rows:
        nz = np.flatnonzero(r)
        for j in nz[1:]:
            a, b = root(nz[0]), root(j)
            if a != b:
                parent[b] = a
    blocks: dict[int, list[np.ndarray]] = {}
    for r in rows:
        blocks.setdefault(root(int(np.flatnonzero(r)[0])), []).append(r)
    cols_of: dict[int, list[int]] = {}
    for j in range(len(hid)):
        cols_of.setdefault(root(j), []).append(j)
    out = []
    for key, block in blocks.items():
        cols = cols_of[key]
        a = np.vstack(block)[:, cols]
        # e_j lies in the row space of A iff every null-space vector of A is 0 at j
        _, sv, vt = np.linalg.svd(a)
        rank = int((sv > 1e-9 * max(1.0, sv.max(initial=0.0))).sum())
        null = vt[rank:]
        free = np.abs(null).max(axis=0) > 1e-9 if null.shape[0] else np.zeros(len(cols), dtype=bool)
        out += [int(hid[c]) for c, f in zip(cols, free) if not f]
    return sorted(out)


def _protect(cells: list[_Cell], lines: list[tuple[int, list[int]]], hidden: np.ndarray,
             status: list[str], min_n: int, known: set | None = None) -> None:
    """Complementary suppression in place (see the module docstring)."""
    sizes = np.array([len(c.members) for c in cells])

    def hide_one_in(line_idx: int) -> bool:
        total, members = lines[line_idx]
        visible = [m for m in members if not hidden[m] and cells[m].published]
        if visible:
            pick = min(visible, key=lambda m: (sizes[m], str(cells[m].key)))
        elif not hidden[total]:
            pick = total
        else:
            return False
        hidden[pick] = True
        status[pick] = COMPLEMENTARY
        return True

    for _ in range(10 * len(cells) + 10):
        changed = False
        determined = set(_determined(cells, lines, hidden))
        for li, (total, members) in enumerate(lines):
            total_known = not hidden[total] or total in determined
            h = [m for m in members if hidden[m]]
            # the hidden cells of a line together: their people the reader does not know
            # must be none (a sum of known values) or a group (a sum over known people
            # and min_n unknown ones is as safe as any shown cell)
            if total_known and h and (0 < _line_union(cells, h, known) < min_n
                                      or (not known and _line_union(cells, h) < min_n)):
                changed = hide_one_in(li) or changed
        if changed:
            continue
        # A hidden cell whose exact value can still be solved for (e.g. through a
        # chain of lines) gets company too.
        leaked = [c for c in determined if cells[c].published and hidden[c]]
        for c in leaked:
            for li, (total, members) in enumerate(lines):
                if (c in members or c == total) and hide_one_in(li):
                    changed = True
                    break
            if changed:
                break
        if leaked and not changed:
            # every line through the leaked cell is fully hidden: widen the unknowns elsewhere
            for li, (total, members) in enumerate(lines):
                if any(hidden[m] for m in members) and hide_one_in(li):
                    changed = True
                    break
        if not changed:
            return


# =========================================================================== suppress()

@dataclass
class Suppressed:
    """An aggregate table after suppression.

    ``table``: group columns, ``n`` and one column per value (hidden cells NaN /
    NA).  ``status``: same index, columns ``n`` + values, each cell one of
    ``shown``, ``primary``, ``complementary``, ``filter``, ``known``.
    """

    table: pd.DataFrame
    status: pd.DataFrame
    group_cols: list[str]
    value_cols: list[str]
    min_n: int = MIN_N
    labels: dict = field(default_factory=dict)

    @property
    def hidden(self) -> pd.DataFrame:
        return self.status != SHOWN

    def visible(self, col: str | None = None) -> pd.DataFrame:
        """Rows whose ``col`` (default: ``n``) is shown."""
        col = col or "n"
        return self.table[~self.hidden[col].to_numpy()]

    def interior(self) -> "Suppressed":
        """Without the margin (``All``) rows."""
        keep = np.ones(len(self.table), dtype=bool)
        for g in self.group_cols:
            keep &= (self.table[g].astype(str) != TOTAL).to_numpy()
        return Suppressed(self.table[keep].reset_index(drop=True), self.status[keep].reset_index(drop=True),
                          self.group_cols, self.value_cols, self.min_n, self.labels)

    def display(self, decimals: int = 1, percent: Sequence[str] = (), labels: Mapping | None = None
                ) -> pd.DataFrame:
        """Table for people: numbers rounded, hidden cells in words, readable headers."""
        out = pd.DataFrame({g: _objects(self.table[g]) for g in self.group_cols}, index=self.table.index)
        for c in ["n", *self.value_cols]:
            # Each cell as before (Python's round, int for counts, the hidden words), but the
            # masks are taken per column: a team x week table has hundreds of thousands of cells.
            st = self.status[c].to_numpy(dtype=object)
            vals = self.table[c]
            shown = st == SHOWN
            ok = shown & ~vals.isna().to_numpy()
            col = np.empty(len(st), dtype=object)
            col[~shown] = [hidden_label(x, self.min_n) for x in st[~shown]]
            col[shown & ~ok] = ""
            picked = vals.to_numpy(dtype=object)[ok]
            if c == "n":
                col[ok] = [int(v) for v in picked]
            elif c in percent:
                col[ok] = [round(float(v) * 100, decimals) for v in picked]
            else:
                col[ok] = [round(float(v), decimals) for v in picked]
            out[c] = col.tolist()         # a list, as before: pandas infers the column's type from it
        names = {**self.labels, **(labels or {})}
        return out.rename(columns=names)

    def published_cells(self) -> pd.DataFrame:
        """Long frame of every shown (group, column, value) — for privacy checks."""
        rows = []
        for i in range(len(self.table)):
            key = tuple(self.table.iloc[i][g] for g in self.group_cols)
            for c in ["n", *self.value_cols]:
                if self.status.iloc[i][c] == SHOWN:
                    rows.append((*key, c, self.table.iloc[i][c]))
        return pd.DataFrame(rows, columns=[*self.group_cols, "column", "value"])


def _objects(s: pd.Series) -> pd.Series:
    """``s.astype(object)``; a date column through its distinct values (one Timestamp
    object per week, not one per cell of a group x week table)."""
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s.astype(object)
    codes, uniques = pd.factorize(s)
    objs = np.empty(len(s), dtype=object)
    objs[:] = np.append(uniques.astype(object).to_numpy(), pd.NaT)[codes]     # code -1: NaT, as astype gives
    return pd.Series(objs, index=s.index, name=s.name, dtype=object)


def _as_float(s: pd.Series) -> pd.Series:
    if s.dtype == bool or str(s.dtype) == "boolean":
        return s.astype("Float64").astype(float)
    return pd.to_numeric(s, errors="coerce").astype(float)


def _members(data: pd.DataFrame, cols: list[str], respondent_col: str) -> dict:
    """{group key (a tuple): the respondents in it}, in sorted key order."""
    if data.empty:
        return {}
    gb = data.groupby(cols, sort=True, dropna=False)
    codes = gb.ngroup().to_numpy()
    keys = gb.size().index
    resp = data[respondent_col].to_numpy()
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
    return {(k if isinstance(k, tuple) else (k,)): frozenset(resp[order[bounds[i]:bounds[i + 1]]])
            for i, k in enumerate(keys)}


def _cells_for(data: pd.DataFrame, group_cols: list[str], respondent_col: str, margins: bool,
               within: str | None):
    """Cells (interior + margins) and lines (identities) of a one- or two-way table."""
    cells: list[_Cell] = []
    index: dict[tuple, int] = {}

    def add(key, members, interior, published=True):
        index[key] = len(cells)
        cells.append(_Cell(key, frozenset(members), interior, published))
        return index[key]

    for key, members in _members(data, group_cols, respondent_col).items():
        add(key, members, True)
    lines: list[tuple[int, list[int]]] = []
    if len(group_cols) == 1:
        t = add((TOTAL,), set(data[respondent_col]), False, margins)
        lines.append((t, [i for i, c in enumerate(cells) if c.interior]))
        return cells, lines
    a, b = group_cols
    interior = [i for i, c in enumerate(cells) if c.interior]
    by_a: dict = {}
    by_b: dict = {}
    for i in interior:
        by_a.setdefault(cells[i].key[0], []).append(i)
        by_b.setdefault(cells[i].key[1], []).append(i)
    a_vals = sorted(by_a, key=str)
    b_vals = sorted(by_b, key=str)
    if within is None or within == a:
        # one line per value of a: the cells (a, b*) add up to (a, All)
        members_a = _members(data, [a], respondent_col)
        for av in a_vals:
            t = add((av, TOTAL), members_a.get((av,), frozenset()), False, margins)
            lines.append((t, by_a[av]))
    if within is None or within == b:
        members_b = _members(data, [b], respondent_col)
        for bv in b_vals:
            t = add((TOTAL, bv), members_b.get((bv,), frozenset()), False, margins)
            lines.append((t, by_b[bv]))
    if within is None:
        g = add((TOTAL, TOTAL), set(data[respondent_col]), False, margins)
        lines.append((g, [index[(av, TOTAL)] for av in a_vals]))
        lines.append((g, [index[(TOTAL, bv)] for bv in b_vals]))
    return cells, lines


def _mask(cells: list[_Cell], lines, min_n: int, pop_members: dict | None, known: set | None,
          inherit: Mapping | None = None, gate=None, private: set | None = None) -> tuple[np.ndarray, list[str]]:
    hidden = np.zeros(len(cells), dtype=bool)
    status = [SHOWN] * len(cells)
    for i, c in enumerate(cells):
        if inherit and c.key in inherit:
            hidden[i], status[i] = True, inherit[c.key]
            continue
        verdict = gate(c.key) if gate is not None and c.published else None
        if verdict:
            hidden[i], status[i] = True, verdict
            continue
        if not c.published:
            hidden[i] = True
            status[i] = COMPLEMENTARY
            continue
        n = len(c.members)
        if n == 0:
            continue          # an empty cell has no value to show or to hide
        if n < min_n:
            hidden[i], status[i] = True, PRIMARY
            continue
        if pop_members is not None:
            dropped = len(pop_members.get(c.key, set()) - c.members)
            if 0 < dropped < min_n:
                hidden[i], status[i] = True, FILTER
                continue
        if known is not None:
            unknown = len(c.members - known)
            # with private people in scope, none of them answering is news about them too
            if (0 < unknown < min_n) or (private and unknown == 0):
                hidden[i], status[i] = True, KNOWN
    _protect(cells, lines, hidden, status, min_n, known)
    return hidden, status


def _cell_means(rows: pd.DataFrame, group_cols: list[str], respondent_col: str, v: str) -> dict:
    """Mean of people's means for every interior and margin cell (a person who
    sits in several cells of one margin counts once there)."""
    out: dict = {}
    if rows.empty:
        return out
    inner = rows.groupby(group_cols, sort=False)[v].mean()   # rows are already one per person and cell
    for key, val in inner.items():
        out[key if isinstance(key, tuple) else (key,)] = float(val)
    grand = float(rows.groupby(respondent_col)[v].mean().mean())
    if len(group_cols) == 1:
        out[(TOTAL,)] = grand
        return out
    a, b = group_cols
    for val_a, m in rows.groupby([a, respondent_col])[v].mean().groupby(level=0).mean().items():
        out[(val_a, TOTAL)] = float(m)
    for val_b, m in rows.groupby([b, respondent_col])[v].mean().groupby(level=0).mean().items():
        out[(TOTAL, val_b)] = float(m)
    out[(TOTAL, TOTAL)] = grand
    return out


def suppress(df: pd.DataFrame, group_cols: str | Sequence[str], respondent_col: str = "helper_id",
             value_cols: Sequence[str] = (), min_n: int = MIN_N, *, margins: bool = True,
             within: str | None = None, population: pd.DataFrame | None = None,
             known: Iterable | None = None, labels: Mapping | None = None, gate=None,
             private: Iterable | None = None) -> Suppressed:
    """Aggregate ``df`` by ``group_cols`` on distinct respondents and suppress.

    ``value_cols`` are averaged per person first, then over the people of a
    cell (booleans become shares).  One or two ``group_cols``.  ``margins``
    adds and protects totals (one-way: an ``All`` row; two-way: row, column and
    grand totals).  ``within`` (two-way only) names the group column whose
    values each have a published total over the other column — e.g.
    ``within="week_start"`` for a sub-group x week heatmap whose weekly team
    figure is shown elsewhere — and no other totals.  ``population`` is the
    unfiltered data when ``df`` is a filtered view of it; ``known`` are
    respondents the viewer may see individually, and ``private`` the people
    in scope outside ``known`` (when there are any, a cell none of them
    answered is hidden: it would say that they all stayed silent).  ``gate``
    maps a cell's key to a status when a wider audit (the release gate's
    plan) does not allow it; those cells are then protected like any other
    hidden cell.
    """
    with threadpool_limits(1):        # small decompositions per block (see plan_groups)
        return _suppress(df, group_cols, respondent_col, value_cols, min_n, margins, within, population,
                         known, labels, gate, private)


def _suppress(df, group_cols, respondent_col, value_cols, min_n, margins, within, population, known, labels,
              gate, private) -> Suppressed:
    group_cols = [group_cols] if isinstance(group_cols, str) else list(group_cols)
    if len(group_cols) not in (1, 2):
        raise ValueError("suppress() handles one- and two-way tables")
    if within is not None and (len(group_cols) != 2 or within not in group_cols):
        raise ValueError("within= names one of the two group columns")
    value_cols = list(value_cols)
    known = set(known) if known is not None else None
    private = set(private or ())
    base = df[[*group_cols, respondent_col, *value_cols]].copy()
    base = base[base[respondent_col].notna()]
    for v in value_cols:
        base[v] = _as_float(base[v])

    # one row per person and cell: their mean of each value
    per_person = base.groupby([*group_cols, respondent_col], sort=True, dropna=False)[value_cols].mean() \
        if value_cols else base.drop_duplicates([*group_cols, respondent_col]).set_index(
            [*group_cols, respondent_col])
    per_person = per_person.reset_index()

    def pop_sets(cols_data: pd.DataFrame, value: str | None):
        if population is None:
            return None
        p = population[[*group_cols, respondent_col, *([value] if value else value_cols)]].copy()
        p = p[p[respondent_col].notna()]
        if value:
            p = p[_as_float(p[value]).notna()]
        elif value_cols:
            p = p[p[value_cols].apply(_as_float).notna().any(axis=1)]
        cells, _ = _cells_for(p, group_cols, respondent_col, True, within)
        return {c.key: set(c.members) for c in cells}

    # rows that contribute to n: people with any value (or every row without values)
    any_rows = per_person if not value_cols else per_person[per_person[value_cols].notna().any(axis=1)]
    cells, lines = _cells_for(any_rows, group_cols, respondent_col, margins, within)
    hidden, status = _mask(cells, lines, min_n, pop_sets(any_rows, None), known, gate=gate, private=private)
    keys = [c.key for c in cells if c.published]
    order = [i for i, c in enumerate(cells) if c.published]
    table = pd.DataFrame(keys, columns=group_cols)
    table["n"] = pd.array([len(cells[i].members) if not hidden[i] else pd.NA for i in order], dtype="Int64")
    stat = pd.DataFrame({"n": [status[i] for i in order]})

    for v in value_cols:
        rows_v = per_person[per_person[v].notna()]
        cells_v, lines_v = _cells_for(rows_v, group_cols, respondent_col, margins, within)
        # a value is never shown where the cell's n is hidden: start from those cells
        inherit = {k: s for k, h, s in zip(keys, [hidden[i] for i in order], [status[i] for i in order]) if h}
        hidden_v, status_v = _mask(cells_v, lines_v, min_n, pop_sets(rows_v, v), known, inherit, gate=gate,
                                   private=private)
        cell_means = _cell_means(rows_v, group_cols, respondent_col, v)
        means = {c.key: (np.nan if hidden_v[i] else cell_means.get(c.key, np.nan), status_v[i])
                 for i, c in enumerate(cells_v) if c.published}
        # a cell with no answers for this value has nothing to show; it keeps n's status
        table[v] = [means.get(k, (np.nan, SHOWN))[0] for k in keys]
        stat[v] = [means[k][1] if k in means else inherit.get(k, SHOWN) for k in keys]
    # missing values for a present cell (no answers for that value) are just empty
    return Suppressed(table.reset_index(drop=True), stat.reset_index(drop=True), group_cols, value_cols,
                      min_n, {"n": "People", **dict(labels or {})})


# =========================================================================== scores for HR and leads

def helper_window(scores: pd.DataFrame, roster: pd.DataFrame, value_cols: Sequence[str],
                  as_of=None, weeks: int = 4) -> pd.DataFrame:
    """One row per helper who answered in the ``weeks`` weeks up to ``as_of``:
    roster attributes (team, role, site) + their mean of each value."""
    value_cols = list(value_cols)
    if scores.empty:
        return pd.DataFrame(columns=["helper_id", "team", "role", "site", *value_cols])
    as_of = pd.Timestamp(as_of) if as_of is not None else scores["week_start"].max()
    start = as_of - pd.Timedelta(weeks=weeks) + pd.Timedelta(days=1)
    # the window's rows, then a copy of them alone (not of every answer ever given)
    s = scores.loc[(scores["week_start"] >= start) & (scores["week_start"] <= as_of),
                   ["helper_id", "week_start", *value_cols]].copy()
    for v in value_cols:
        s[v] = _as_float(s[v])
    per = s.groupby("helper_id")[value_cols].mean().reset_index()
    per = per[per[value_cols].notna().any(axis=1)]
    attrs = roster[["helper_id", "team", "role", "site"]]
    return per.merge(attrs, on="helper_id", how="inner")[["helper_id", "team", "role", "site", *value_cols]]


def weekly_aggregate(scores: pd.DataFrame, value_col: str, min_n: int = MIN_N, *,
                     ids: Iterable | None = None, known: Iterable | None = None) -> pd.DataFrame:
    """Weekly mean of ``value_col`` over distinct respondents: ``week_start, mean, n,
    status``; weeks with fewer than ``min_n`` people (or a small private
    remainder, see ``known``) have ``mean`` and ``n`` hidden.  With ``ids``
    and ``known``, a week in which none of the private helpers (``ids`` outside
    ``known``) answered is hidden too: its ``n`` would tell who skipped."""
    s = scores
    private = set(ids) - set(known) if ids is not None and known is not None else set()
    if ids is not None:
        s = s[s["helper_id"].isin(set(ids))]
    s = s[["week_start", "helper_id", value_col]].copy()
    s[value_col] = _as_float(s[value_col])
    s = s[s[value_col].notna()]
    if s.empty:
        return pd.DataFrame(columns=["week_start", "mean", "n", "status"])
    sup = suppress(s, "week_start", "helper_id", [value_col], min_n, margins=False, known=known, private=private)
    out = sup.table[["week_start"]].copy()
    out["mean"] = sup.table[value_col]
    out["n"] = sup.table["n"]
    out["status"] = [a if a != SHOWN else b for a, b in zip(sup.status[value_col], sup.status["n"])]
    return out.sort_values("week_start").reset_index(drop=True)


def participation(roster: pd.DataFrame, scores: pd.DataFrame, min_n: int = MIN_N, *, known: Iterable | None = None,
                  as_of=None, weeks: int | None = 26) -> pd.DataFrame:
    """Weekly share of ``roster`` helpers who checked in: counts only, never who.

    ``week_start, eligible, respondents, rate, status``.  A week is hidden when
    fewer than ``min_n`` people were on the roster or checked in, and — with
    ``known`` (people the viewer sees one by one) — when the helpers outside
    ``known`` who checked in are fewer than ``min_n`` (including none, which
    would say that every one of them did not answer).
    """
    cols = ["week_start", "eligible", "respondents", "rate", "status"]
    if roster.empty:
        return pd.DataFrame(columns=cols)
    # the roster's rows found by a mask, and only the two columns needed taken, for the
    # weeks shown only: the scores are wide and hold every week since the start
    mine = scores["helper_id"].isin(set(roster["helper_id"])).to_numpy()
    week_np = pd.to_datetime(scores["week_start"]).to_numpy()
    their_weeks = week_np[mine]
    their_weeks = their_weeks[~np.isnat(their_weeks)]
    last = pd.Timestamp(as_of) if as_of is not None else (pd.Timestamp(their_weeks.max()) if len(their_weeks) else None)
    if last is None or pd.isna(last):
        return pd.DataFrame(columns=cols)
    first = pd.Timestamp(their_weeks.min()) if len(their_weeks) else last
    if weeks:
        first = max(first, last - pd.Timedelta(weeks=weeks - 1))
    all_weeks = pd.date_range(first, last, freq="7D")
    in_weeks = mine & (week_np >= first.to_datetime64()) & (week_np <= last.to_datetime64())
    start = pd.to_datetime(roster["start_date"]).to_numpy()
    end = pd.to_datetime(roster["end_date"]).to_numpy()
    # Each helper once (a code), each week a row of who answered: the counts below are sums of
    # masks over the roster, where sets of ten thousand ids a week cost most of a review's rerun.
    codes, ids = pd.factorize(roster["helper_id"], use_na_sentinel=False)
    answered = np.zeros((len(all_weeks), len(ids)), dtype=bool)
    at = pd.Index(all_weeks).get_indexer(week_np[in_weeks])
    who = ids.get_indexer(scores["helper_id"].to_numpy()[in_weeks])
    answered[at[at >= 0], who[at >= 0]] = True        # a week off the weekly grid is no week shown
    mine_known = np.asarray(ids.isin(list(known))) if known is not None else None
    rows = []
    for i, w in enumerate(all_weeks):
        w64 = np.datetime64(w)
        on = (pd.isna(start) | (start <= w64 + np.timedelta64(6, "D"))) & (pd.isna(end) | (end > w64))
        eligible = np.zeros(len(ids), dtype=bool)
        eligible[codes[on]] = True          # a helper on the roster twice is one person
        resp = answered[i] & eligible
        n_eligible, n_resp = int(eligible.sum()), int(resp.sum())
        status = SHOWN
        if n_eligible < min_n or n_resp < min_n:
            status = PRIMARY
        elif mine_known is not None:
            if (eligible & ~mine_known).any() and int((resp & ~mine_known).sum()) < min_n:
                status = KNOWN
        shown = status == SHOWN
        rows.append({"week_start": w, "eligible": n_eligible if shown else np.nan,
                     "respondents": n_resp if shown else np.nan,
                     "rate": n_resp / n_eligible if shown and n_eligible else np.nan, "status": status})
    return pd.DataFrame(rows, columns=cols)


def recoverable(sup: Suppressed, col: str, counts: Mapping | None = None) -> list:
    """Keys of hidden cells of ``col`` that a reader could solve for from the
    published cells and the structural identities (row/column totals).

    A self-check used by the tests and available for audits; an empty list is
    the promise :func:`suppress` makes.
    """
    t = sup.table
    hidden = sup.hidden[col].to_numpy()
    keys = [tuple(t.iloc[i][g] for g in sup.group_cols) for i in range(len(t))]
    idx = {k: i for i, k in enumerate(keys)}
    cells = [_Cell(k, frozenset(), all(str(x) != TOTAL for x in k)) for k in keys]
    lines: list[tuple[int, list[int]]] = []
    if len(sup.group_cols) == 1:
        if (TOTAL,) in idx:
            lines.append((idx[(TOTAL,)], [i for i, c in enumerate(cells) if c.interior]))
    else:
        for pos in (0, 1):
            for k, i in idx.items():
                if str(k[pos]) == TOTAL and str(k[1 - pos]) != TOTAL:
                    mem = [j for j, c in enumerate(cells) if c.interior and c.key[1 - pos] == k[1 - pos]]
                    lines.append((i, mem))
        g = idx.get((TOTAL, TOTAL))
        if g is not None:
            lines.append((g, [i for k, i in idx.items() if k[1] == TOTAL and k[0] != TOTAL]))
            lines.append((g, [i for k, i in idx.items() if k[0] == TOTAL and k[1] != TOTAL]))
    return [keys[i] for i in _determined(cells, lines, hidden)]


# =========================================================================== across tables

GROUP_DIMS = ("team", "role", "site")
_TOL = 1e-8


@dataclass
class Plan:
    """Which roll-up groups may be shown, audited jointly across tables.

    The HR review publishes several one-way tables over the same people (by
    team, by role, by site, each with the organisation total).  Each table is
    safe on its own, but together they can single out a small group: the total
    minus every shown site minus a team at the remaining site, or a team minus
    the one role that makes up most of it.  Every such table row is a sum over
    *atoms* — the people sharing one (team, role, site) — so a group of people
    is derivable exactly when its atom indicator lies in the row space of the
    shown rows.  :func:`plan_groups` hides rows until no small group is
    derivable (see there); views that narrow the tables (a site filter, a
    one-team report) may then only show what the audited rows already imply
    (:meth:`allows`), so no combination of views adds anything.

    The row space is kept as a few random vectors orthogonal to it (probes, see
    :func:`_space`): a group lies in the row space exactly when the sum of
    every probe over its atoms is zero, a check of a few additions per group.
    """

    min_n: int
    dims: tuple
    status: dict = field(default_factory=dict)      # column -> {group: status}
    _atoms: dict = field(default_factory=dict)      # column -> (keys, sizes)
    _probe: dict = field(default_factory=dict)      # column -> probes (atoms x _PROBES)
    _everyone: dict = field(default_factory=dict)   # column -> (keys, sizes) counting known people too
    _allowed: dict = field(default_factory=dict)    # (column, conditions) -> verdict, asked once

    def status_of(self, column: str, group: tuple) -> str:
        return self.status.get(column, {}).get(tuple(group), SHOWN)

    def __getstate__(self) -> dict:
        # The verdicts asked so far are keyed on the id() of a column's atoms, which means
        # nothing in another process (new atoms getting an old id would answer with another
        # column's verdict): they leave under their column's name and come back under the id
        # of that column's atoms as read back: a plan seeded in a fresh process asks none of
        # them again.  A copy: another thread may be asking.
        column_of: dict = {}
        for column, atoms in self._atoms.items():
            column_of.setdefault(id(atoms), column)
        allowed = {(column_of[aid], cond): v for (aid, cond), v in self._allowed.copy().items() if aid in column_of}
        return {**self.__dict__, "_allowed": allowed}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        ids = {column: id(atoms) for column, atoms in self._atoms.items()}
        self._allowed = {(ids[column], cond): v for (column, cond), v in state.get("_allowed", {}).items()
                         if column in ids}

    def allows(self, column: str, conditions: Mapping) -> bool:
        """May a cell over the people matching ``conditions`` ({dim: value or
        values}) be shown?  Only when it has ``min_n`` people or more and is a
        combination of the audited, shown rows (and of the known people)."""
        if column not in self._atoms:
            return True
        key = self._key(column, conditions)
        verdict = self._allowed.get(key)
        if verdict is None:
            verdict = self._allowed[key] = self._allows(column, conditions)
        return verdict

    def _key(self, column: str, conditions: Mapping) -> tuple:
        return (id(self._atoms[column]), tuple(sorted(_key_part(d, v) for d, v in dict(conditions).items())))

    def _keys(self, column: str, fixed: Mapping, dim: str, values: Sequence) -> list[tuple]:
        """``[self._key(column, {**fixed, dim: v}) for v in values]``, the fixed conditions' part
        sorted once: the conditions are sorted by dimension, each named once, so every key is
        the fixed part with ``dim``'s part put at its one place."""
        rest = sorted(_key_part(d, v) for d, v in dict(fixed).items() if d != dim)
        at = sum(d < dim for d, _ in rest)
        before, after, aid = tuple(rest[:at]), tuple(rest[at:]), id(self._atoms[column])
        return [(aid, (*before, _key_part(dim, v), *after)) for v in values]

    def allows_each(self, column: str, fixed: Mapping, dim: str, values: Sequence) -> list[bool]:
        """``[self.allows(column, {**fixed, dim: v}) for v in values]`` (each ``v`` one value),
        asked together: a weekly table asks each week's audit about thousands of teams, and
        matching every atom's text once per team cost most of the time.  The same verdicts
        (each group's people counted from the same atoms, the same row-space check on the
        same indicator), kept as :meth:`allows` keeps them."""
        if column not in self._atoms:
            return [True] * len(values)
        keys = self._keys(column, fixed, dim, values)
        out = [self._allowed.get(k) for k in keys]
        todo = [i for i, v in enumerate(out) if v is None]
        if todo:
            for i, v in zip(todo, self._allows_each(column, fixed, dim, [values[i] for i in todo])):
                out[i] = self._allowed[keys[i]] = v
        return out

    def _allows_each(self, column: str, fixed: Mapping, dim: str, values: list) -> list[bool]:
        rest = {d: v for d, v in dict(fixed).items() if d != dim}
        d = list(self.dims).index(dim)
        words = [str(v) for v in values]
        names = pd.Index(pd.unique(pd.Series(words, dtype=object)))
        at = names.get_indexer(words)                 # each value's text, once

        def matched(cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            # _indicator of the fixed conditions, and each atom's value of ``dim`` as a text code
            base = _indicator(cols, self.dims, rest) if len(cols) else np.ones(0)
            codes = names.get_indexer(cols[:, d]) if len(cols) else np.zeros(0, dtype=np.intp)
            return base, codes
        every_cols, every_sizes = self._everyone.get(column, self._atoms[column])
        base_e, codes_e = matched(every_cols)
        sizes = np.asarray(every_sizes, dtype=float) * base_e
        hit = codes_e >= 0
        # people in each group: the sizes of its atoms (whole numbers: the same sum in any order)
        n = np.bincount(codes_e[hit], weights=sizes[hit], minlength=len(names)) if len(every_cols) \
            else np.zeros(len(names))
        base_c, codes_c = matched(self._atoms[column][0])
        return [self._verdict(column, float(n[i]), lambda i=i: base_c * (codes_c == i)) for i in at]

    def _allows(self, column: str, conditions: Mapping) -> bool:
        every_cols, every_sizes = self._everyone.get(column, self._atoms[column])
        n = float(every_sizes @ _indicator(every_cols, self.dims, conditions)) if len(every_cols) else 0.0
        return self._verdict(column, n, lambda: _indicator(self._atoms[column][0], self.dims, conditions))

    def _verdict(self, column: str, n: float, indicator: Callable[[], np.ndarray]) -> bool:
        """The verdict on a group of ``n`` people (counting the known ones) whose audited atoms
        ``indicator()`` marks: the one rule :meth:`allows` and :meth:`allows_each` both apply."""
        if n == 0:
            return True
        if n < self.min_n:
            return False
        if not len(self._atoms[column][0]):
            return True        # everyone in it is known to the reader already
        return _in_rowspace(self._probe[column], indicator())


def _indicator(cols: np.ndarray, dims: Sequence[str], conditions) -> np.ndarray:
    """1 for the atoms inside a group; ``cols`` holds each atom's (team, role,
    site) as text, one row per atom."""
    x = np.ones(len(cols))
    for d, want in dict(conditions).items():
        values = want if isinstance(want, (list, tuple, set, frozenset)) else [want]
        x *= np.isin(cols[:, list(dims).index(d)], [str(v) for v in values])
    return x


_PROBES = 3
_SEED = 20261127


def _space(m, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The row space of ``m`` (rows x atoms, sparse): ``(probes, ginv)``.

    ``probes``: ``k x _PROBES`` random vectors orthogonal to every row.  A
    vector x lies in the row space exactly when it is orthogonal to the whole
    null space; for random vectors of the null space that is, with probability
    one, the same as x @ probes == 0.  The probes are random vectors less their
    projection on the row space, through the small rows x rows Gram matrix
    (``ginv`` is its pseudo-inverse, which also gives the rows a derivation
    leans on) — no atoms x atoms null-space basis.  A chance near-zero can only
    make the audit hide more, never less."""
    z = np.random.default_rng(_SEED).standard_normal((k, _PROBES))
    if m.shape[0] == 0:
        return z, np.zeros((0, 0))
    m = sparse.csr_matrix(m)
    g = (m @ m.T).toarray()
    w, v = np.linalg.eigh(g)
    keep = w > 1e-9 * max(1.0, float(w.max(initial=0.0)))
    ginv = (v[:, keep] / w[keep]) @ v[:, keep].T
    r = z - m.T @ (ginv @ (m @ z))
    return r - m.T @ (ginv @ (m @ r)), ginv      # once more, for the rounding of the first pass


def _atom_vector(atoms, k: int) -> np.ndarray:
    x = np.zeros(k)
    x[list(atoms)] = 1.0
    return x


def _in_rowspace(probe: np.ndarray, x: np.ndarray) -> bool:
    return probe.shape[1] == 0 or float(np.abs(x @ probe).max()) <= _probe_tol(probe) * max(1.0, float(np.abs(x).sum()))


def _probe_tol(probe: np.ndarray) -> float:
    return 1e-7 * max(1.0, float(np.abs(probe).max(initial=0.0)))


EXHAUSTED = "exhausted"
SEARCH_BUDGET = 3_000_000


def _exhaustive_leak(probe: np.ndarray, sizes: np.ndarray, min_n: int, budget: int | None = None,
                     published=None):
    """Every set of atoms with 1..min_n-1 people in the row space (a list of
    atom lists, ``None`` when there is none), searched over all such sets, or
    :data:`EXHAUSTED` when that would take more than ``budget`` half-sets: an
    unfinished search proves nothing, so the caller hides more and searches
    again.

    ``published`` (rows x atoms): atoms that sit in exactly the same published
    rows can only be worked out together (every vector of the row space is
    equal on them), so the search runs over those classes; fifty people in
    fifty one-person cells that only the total covers are one class of fifty.

    A set is found by meeting in the middle: every half (up to half of
    min_n - 1 classes) is listed with its probe sums, and two disjoint halves
    whose sums cancel make a set.  With min_n = 5 that is every single class
    and pair of small classes — polynomial, where trying every set of four was
    not.
    """
    budget = SEARCH_BUDGET if budget is None else budget
    k = len(sizes)
    if k == 0:
        return None
    codes = np.arange(k)
    if published is not None and published.shape[0]:
        pub = sparse.csc_matrix(published)
        keys = [tuple(pub.indices[pub.indptr[a]:pub.indptr[a + 1]]) for a in range(k)]
        codes = pd.factorize(pd.Series(keys, dtype=object))[0]
    n_cls = int(codes.max()) + 1
    csize = np.bincount(codes, weights=sizes, minlength=n_cls)
    crow = np.zeros((n_cls, probe.shape[1]))
    np.add.at(crow, codes, probe)
    small = np.flatnonzero((csize > 0) & (csize < min_n))
    if len(small) == 0:
        return None
    tol = _probe_tol(crow) * min_n
    width = max(1, (min_n - 1 + 1) // 2)     # classes per half
    # halves: (class ids padded with -1, people, probe sums), grown one class at a time
    halves_ids = [small[:, None]]
    halves_n = [csize[small]]
    halves_s = [crow[small]]
    ids, ppl, sums = halves_ids[0], halves_n[0], halves_s[0]
    total = len(small)
    for _ in range(width - 1):
        last = ids[:, -1]
        # extend each half by a later small class that keeps it under min_n people
        pos = np.searchsorted(small, last, side="right")
        count = len(small) - pos
        if total + int(count.sum()) > budget:
            return EXHAUSTED
        src = np.repeat(np.arange(len(ids)), count)
        offs = np.arange(len(src)) - np.repeat(np.cumsum(count) - count, count)
        add = small[pos[src] + offs]
        new_n = ppl[src] + csize[add]
        ok = new_n < min_n
        src, add = src[ok], add[ok]
        ids = np.hstack([ids[src], add[:, None]])
        ppl, sums = new_n[ok], sums[src] + crow[add]
        total += len(ids)
        halves_ids.append(ids)
        halves_n.append(ppl)
        halves_s.append(sums)
        if not len(ids):
            break
    w = max(h.shape[1] for h in halves_ids)
    hid = np.vstack([np.hstack([h, -np.ones((len(h), w - h.shape[1]), dtype=h.dtype)]) for h in halves_ids])
    hn = np.concatenate(halves_n)
    hs = np.vstack(halves_s)
    found: list[np.ndarray] = []
    alone = np.flatnonzero(np.abs(hs).max(axis=1) <= tol)
    found += [hid[i][hid[i] >= 0] for i in alone]
    # pairs of disjoint halves whose sums cancel (and stay under min_n people together)
    order = np.argsort(hs[:, 0], kind="stable")
    s0 = hs[order, 0]
    # each half's partners, looked up in ascending order of what they must cancel (the
    # halves in reverse): a binary search with sorted keys starts from the last answer
    back = order[::-1]
    lo, hi = np.empty(len(hs), dtype=np.intp), np.empty(len(hs), dtype=np.intp)
    lo[back] = np.searchsorted(s0, -hs[back, 0] - tol, side="left")
    hi[back] = np.searchsorted(s0, -hs[back, 0] + tol, side="right")
    cnt = np.maximum(hi - lo, 0)
    if cnt.sum() > budget:
        return EXHAUSTED
    a = np.repeat(np.arange(len(hs)), cnt)
    b = order[np.repeat(lo, cnt) + (np.arange(len(a)) - np.repeat(np.cumsum(cnt) - cnt, cnt))]
    keep = (a < b) & (hn[a] + hn[b] < min_n)
    a, b = a[keep], b[keep]
    keep = np.abs(hs[a] + hs[b]).max(axis=1) <= tol
    a, b = a[keep], b[keep]
    ia, ib = hid[a], hid[b]
    overlap = ((ia[:, :, None] == ib[:, None, :]) & (ia[:, :, None] >= 0)).any(axis=(1, 2))
    for x, y in zip(ia[~overlap], ib[~overlap]):
        found.append(np.concatenate([x[x >= 0], y[y >= 0]]))
    if not found:
        return None
    out, seen = [], set()
    for cls in found:
        key = tuple(sorted(int(c) for c in cls))
        if key not in seen:
            seen.add(key)
            out.append(sorted(int(i) for i in np.flatnonzero(np.isin(codes, key))))
    return out


def plan_groups(people: pd.DataFrame, value_cols: Sequence[str], min_n: int = MIN_N, *,
                dims: Sequence[str] = GROUP_DIMS, respondent_col: str = "helper_id",
                known: Iterable | None = None) -> Plan:
    """Audit the roll-up tables by each of ``dims`` (plus the total) jointly.

    ``people``: one row per person with ``dims`` and ``value_cols`` (NaN where
    a person has no value).  Each value column has its own respondents, and
    ``"n"`` stands for the people with any value; columns answered by the same
    people share one audit.  Rows under ``min_n`` people are hidden (primary);
    then, while a set of 1 to ``min_n - 1`` people is derivable from the shown
    rows — in the row space of the shown rows, searched over every such set
    (:func:`_exhaustive_leak`) — the smallest row of each combination that
    derives one is hidden too (complementary; the total goes last), and the
    search repeats.  When that search runs out of budget it proves nothing, so
    the smallest shown row is hidden and the search repeats (fail closed)
    until it completes or only the total is left.

    ``known``: people the reader may already know one by one (a lead's
    consenting helpers; HR material reaches managers, so HR's audit counts
    every consenting helper).  Each is an atom of their own whose value is
    published, and a derivable group is small when it holds 1 to ``min_n - 1``
    people outside ``known``.

    A column's audit depends on nothing but how many people, and how many
    unknown people, answered it in each atom (:func:`audit_atoms`); the release
    gate caches it on exactly that (``burnout.audit_cache``).
    """
    value_cols = [v for v in value_cols if v in people.columns]
    atoms = Atoms.of(people, dims, respondent_col, known)
    return atoms.plan({c: atoms.present(people[c]) for c in value_cols}, min_n)


@dataclass(frozen=True)
class ColumnAudit:
    """One column's audit: the status of every group, and the row space of the shown
    groups (``atoms``: the atoms with unknown people and their sizes, ``probe``,
    ``everyone``: every atom with its people, known or not).  ``atoms`` is None when
    nobody answered."""

    status: dict
    atoms: tuple | None = None
    probe: np.ndarray | None = None
    everyone: tuple | None = None


@dataclass(frozen=True)
class Atoms:
    """The people of an audit cut into atoms (the people sharing one value of each of
    ``dims``): ``keys`` (atoms x dims, as text, in sorted order), each person's ``code``
    (their atom), and which people the reader knows one by one.  One person, one row
    (the first of their rows)."""

    dims: tuple
    keys: np.ndarray
    code: np.ndarray
    known: np.ndarray
    rows: np.ndarray            # positions of the people's rows in the frame they came from
    names: tuple = ()           # each atom's key as a tuple (made once: audit keys are built from them)

    @classmethod
    def of(cls, people: pd.DataFrame, dims: Sequence[str] = GROUP_DIMS, respondent_col: str = "helper_id",
           known: Iterable | None = None) -> "Atoms":
        ids = people[respondent_col]
        rows = np.flatnonzero((ids.notna() & ~ids.duplicated()).to_numpy())
        dims = tuple(dims)
        base = people.iloc[rows]
        # each dimension's values in sorted order, then the atoms in the order of their
        # (team, role, site) text: the order of a groupby over the three
        uniq, codes = zip(*(np.unique(base[d].astype(str).to_numpy(dtype=str), return_inverse=True)
                            for d in dims)) if len(rows) else ((np.zeros(0, dtype=str),) * len(dims),
                                                                (np.zeros(0, dtype=np.intp),) * len(dims))
        flat = np.zeros(len(rows), dtype=np.int64)
        for u, c in zip(uniq, codes):
            flat = flat * max(1, len(u)) + c
        which, code = np.unique(flat, return_inverse=True)
        keys = np.empty((len(which), len(dims)), dtype=object)
        for j in reversed(range(len(dims))):
            radix = max(1, len(uniq[j]))
            keys[:, j] = uniq[j][which % radix].tolist() if len(which) else []
            which = which // radix
        return cls(dims, keys, code.reshape(-1).astype(np.intp),
                   base[respondent_col].isin(set(known or ())).to_numpy(), rows, tuple(map(tuple, keys.tolist())))

    def present(self, values) -> np.ndarray:
        """Who has a value in ``values`` (a column of the frame the atoms came from)."""
        return pd.notna(np.asarray(values))[self.rows]

    def counts(self, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per atom: the people present, and the present people the reader does not know."""
        k = len(self.keys)
        return (np.bincount(self.code[present], minlength=k),
                np.bincount(self.code[present & ~self.known], minlength=k))

    def columns(self, columns: Mapping[str, np.ndarray]) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """``(column, people, unknown people)`` per atom of each of ``columns`` (name -> who
        answered, :meth:`present`), after ``"n"``: anyone who answered any of them."""
        anyone = np.zeros(len(self.code), dtype=bool)
        for p in columns.values():
            anyone |= p
        return [(c, *self.counts(p)) for c, p in [("n", anyone), *columns.items()]]

    def plan(self, columns: Mapping[str, np.ndarray], min_n: int) -> Plan:
        """The plan of ``columns`` (see :meth:`columns`), every audit computed here."""
        return assemble(self.dims, min_n, [(c, audit_atoms(self.keys, every, unknown, min_n, self.dims))
                                           for c, every, unknown in self.columns(columns)])


def assemble(dims: Sequence[str], min_n: int, audits: Iterable[tuple[str, ColumnAudit]]) -> Plan:
    """A plan from its columns' audits."""
    plan = Plan(min_n=min_n, dims=tuple(dims))
    for column, a in audits:
        plan.status[column] = a.status
        if a.atoms is not None:
            plan._atoms[column], plan._probe[column], plan._everyone[column] = a.atoms, a.probe, a.everyone
    return plan


_LIMIT = None


def _one_thread():
    """BLAS limited to one thread (see :func:`audit_atoms`); the libraries are looked up once."""
    global _LIMIT
    if _LIMIT is None:
        _LIMIT = ThreadpoolController()
    return _LIMIT.limit(limits=1)


def audit_atoms(keys: np.ndarray, every: np.ndarray, unknown: np.ndarray, min_n: int,
                dims: Sequence[str] = GROUP_DIMS) -> ColumnAudit:
    """The audit of one column (see :func:`plan_groups`) from its atoms: ``keys`` (atoms x
    dims), ``every`` the people who answered in each atom and ``unknown`` those of them the
    reader does not know one by one.  Atoms nobody answered play no part."""
    # The audit's matrices are small (groups x groups): BLAS threads would only
    # spin against each other on a shared machine (0.4 s per 135 x 135
    # eigendecomposition instead of a few ms).
    with _one_thread():
        return _audit_atoms(keys, np.asarray(every), np.asarray(unknown), min_n, tuple(dims))


def _audit_atoms(keys, every, unknown, min_n, dims) -> ColumnAudit:
    st: dict[tuple, str] = {}
    on = every > 0
    if not on.any():
        return ColumnAudit(st)
    # A known person's value is published to this reader: a sum over a group is
    # as good as the sum over its unknown people, so the audit runs over those
    # alone (the same row space as adding each known person's unit row).
    every_cols, every_sizes = keys[on], every[on].astype(float)
    cols, sizes = keys[unknown > 0], unknown[unknown > 0].astype(float)
    groups: list[tuple] = [()]
    n_groups = [float(every_sizes.sum())]
    r_idx, c_idx = [np.zeros(len(cols), dtype=int)], [np.arange(len(cols))]
    for j, d in enumerate(dims):
        uniq, inv = np.unique(every_cols[:, j].astype(str), return_inverse=True)
        base_row = len(groups)
        groups += [((d, v),) for v in uniq.tolist()]
        n_groups += list(np.bincount(inv, weights=every_sizes, minlength=len(uniq)))
        r_idx.append(base_row + np.searchsorted(uniq, cols[:, j].astype(str)))
        c_idx.append(np.arange(len(cols)))
    r_all, c_all = np.concatenate(r_idx), np.concatenate(c_idx)
    full = sparse.csr_matrix((np.ones(len(r_all)), (r_all, c_all)), shape=(len(groups), len(cols)))
    full.sort_indices()
    n_groups = np.array(n_groups, dtype=float)
    # Groups with the same people (a team that is a whole site) stand or fall together.
    sig = [(full.indices[full.indptr[i]:full.indptr[i + 1]].tobytes(), n_groups[i]) for i in range(len(groups))]
    cls, _ = pd.factorize(pd.Series(sig, dtype=object))
    first = np.unique(cls, return_index=True)[1]
    m = full[first]
    names = [groups[i] for i in first]
    n = n_groups[first]
    whole = n == n_groups[0]                      # everyone: hidden last
    shown = n >= min_n
    probe, ginv = _space(m[shown], len(cols))
    # Hiding a row only shrinks the row space, so a set that was not derivable
    # stays so: one complete search, then only its finds are checked again.
    pending = None
    for _ in range(2 * len(names) + 2):
        if not len(cols):
            break
        idx = np.flatnonzero(shown)
        if pending is None:
            found = _exhaustive_leak(probe, sizes, min_n, published=m[shown])
            if found is EXHAUSTED:
                rest = [i for i in idx if not whole[i]]
                if not rest:
                    # only everyone is left: it derives nobody but everyone unknown
                    if sizes.sum() < min_n:
                        shown[idx] = False
                    break
                pick = min(rest, key=lambda i: (n[i], str(names[i])))
                shown[pick] = False
                probe, ginv = _space(m[shown], len(cols))
                continue
            pending = found or []
        else:
            pending = [atoms for atoms in pending if _in_rowspace(probe, _atom_vector(atoms, len(cols)))]
        if not pending or len(idx) == 0:
            break
        # hide, for each derivable set, the smallest row its derivation leans on
        # (everyone only last)
        ms = m[idx]
        picks: set = set()
        for atoms in pending:
            coef = ginv @ (ms @ _atom_vector(atoms, len(cols)))
            used = [i for i, c in zip(idx, coef) if abs(c) > 1e-7] or list(idx)
            if picks & set(used):
                continue
            picks.add(min(used, key=lambda i: (bool(whole[i]), n[i], str(names[i]))))
        shown[sorted(picks)] = False
        probe, ginv = _space(m[shown], len(cols))
    for g_, c in zip(groups, cls):
        st[g_] = SHOWN if shown[c] else (PRIMARY if n[c] < min_n else COMPLEMENTARY)
    return ColumnAudit(st, (cols, sizes), probe if len(cols) else np.zeros((0, _PROBES)), (every_cols, every_sizes))


def hide_all(sup: Suppressed, status: str = COMPLEMENTARY) -> Suppressed:
    """Every shown cell of ``sup`` hidden (a wider audit does not allow the table's scope)."""
    table, st = sup.table.copy(), sup.status.copy()
    for c in ["n", *sup.value_cols]:
        shown = (st[c] == SHOWN).to_numpy()
        st.loc[shown, c] = status
        table[c] = table[c].astype("Int64").mask(shown) if c == "n" else table[c].mask(shown, np.nan)
    return Suppressed(table, st, sup.group_cols, sup.value_cols, sup.min_n, sup.labels)


def _key_part(d: str, v) -> tuple:
    """One condition as a verdict's key holds it (Plan._key): a list of values as its sorted texts."""
    return (d, tuple(sorted(map(str, v))) if isinstance(v, (list, tuple, set, frozenset)) else (str(v),))


def _allows_each(plan, column: str, fixed: Mapping, dim: str, values: list) -> list[bool]:
    """``plan.allows_each`` where the plan has it (Plan, disclosure.JointPlan), else one by one
    (disclosure.allows_each, apply_plan)."""
    each = getattr(plan, "allows_each", None)
    if each is not None:
        return each(column, fixed, dim, values)
    return [plan.allows(column, {**fixed, dim: v}) for v in values]


def apply_plan(sup: Suppressed, plan: Plan, fixed: Mapping | None = None,
               column_map: Mapping | None = None) -> Suppressed:
    """Hide the cells of a one-way table that the joint audit does not allow.

    ``fixed``: conditions every row of ``sup`` shares (a one-team report, a
    site filter); the ``All`` row is then the group ``fixed`` itself.  Rows are
    checked with :meth:`Plan.allows`, which for an unfiltered table is the same
    as the audited status.  ``column_map`` maps a table column to the plan
    column whose respondents it counts (default: itself).
    """
    if len(sup.group_cols) != 1:
        raise ValueError("apply_plan() handles one-way tables")
    g = sup.group_cols[0]
    table, status = sup.table.copy(), sup.status.copy()
    fixed = dict(fixed or {})
    cols = ["n", *sup.value_cols]
    st = {c: status[c].to_numpy(dtype=object).copy() for c in cols}
    hide = {c: np.zeros(len(table), dtype=bool) for c in cols}
    keys = table[g].tolist()
    total = [str(k) == TOTAL for k in keys]
    for c in cols:
        # each shown row's group asked of the plan, every group of the column at once (allows_each)
        shown = [i for i in range(len(keys)) if st[c][i] == SHOWN]
        groups = [i for i in shown if not total[i]]
        column = (column_map or {}).get(c, c)
        verdicts = dict(zip(groups, _allows_each(plan, column, fixed, g, [keys[i] for i in groups])))
        for i in shown:
            if not (plan.allows(column, fixed) if total[i] else verdicts[i]):
                st[c][i] = FILTER if fixed else COMPLEMENTARY
                hide[c][i] = True
    for i in range(len(keys)):
        if st["n"][i] != SHOWN:
            for c in sup.value_cols:
                if st[c][i] == SHOWN:
                    st[c][i] = st["n"][i]
                    hide[c][i] = True
    for c in cols:
        status[c] = st[c]
        if hide[c].any():
            if c == "n":
                table[c] = table[c].astype("Int64").mask(hide[c])
            else:
                table[c] = table[c].mask(hide[c], np.nan)
    return Suppressed(table, status, sup.group_cols, sup.value_cols, sup.min_n, sup.labels)
