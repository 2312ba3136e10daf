"""The release gate: who reads a number decides whether it may be released (DESIGN §7).

The unit of protection is the reader, not the view.  A reader class gets many
views — roll-ups by team, role and site, a one-team report, a site filter, team
x week and role x week tables, participation counts, risk bands, turnover and
what-if tables, alerts and drivers, PDF, XLSX and CSV exports, CLI output — and
can put every number they receive into one linear system, together with what
they already know.  The gate audits that system once per reader and answers
set, and every view asks it before it shows a cell:

- :class:`Reader` names the class: ``hr`` (organisation-wide aggregates),
  ``lead`` of team T (who also knows the individual results of T's consenting
  helpers), ``helper`` (own data only: nothing to audit).
- :func:`plan_for` is the audit (``privacy.plan_groups``): atoms are the people
  sharing one (team, role, site); people the reader knows one by one are
  projected out (their values are published to that reader), and a group of
  1 to min_n - 1 unknown people is determined exactly when its indicator lies
  in the row space of the shown rows.  Rows are hidden until none is; when the
  search's budget runs out, more is hidden (fail closed).  HR material reaches
  managers, so the HR audit counts every consenting helper as known: the HR
  review next to a lead's consented views reveals no one who keeps their
  results private.
- :func:`cell_gate` lets a narrowed or weekly cell (a one-team report, a team x
  week heatmap, a role x week table) through only when the audit allows its
  group: such a cell is the same people's answers over the same groups, so it
  may only show what the audited rows already imply.
- A recent figure (the roll-ups over the last 4, 8 or 12 weeks: :data:`WINDOWS`,
  all of which a reader can open) is the mean of the group's answers in the window,
  a sum of the group's sums in each of its weeks; :class:`JointPlan` audits every
  window, each week of the last 12 (measures the reader can follow week by week)
  or 4-week block (other answers), and the roster (counts: who did not answer
  counts too).  A recent figure passes only when every week or block it covers
  allows the group, a weekly cell only when its own week does, whatever the
  window chosen: all windows and weeks together determine nothing the audited
  weeks and blocks alone do not.
- HR's weekly cells are audited week by week (``views.tables.hr_weekly``):
  weeks are independent blocks, each with HR's known people, and a one-team
  report's weeks follow the organisation's heatmap.
- The lead's weekly figures go through ``privacy.weekly_aggregate`` with the
  lead's ``known`` and the team's private helpers: a week is hidden when the
  private helpers who answered are fewer than min_n, including none.  A lead
  also reads HR material, so every lead figure over private helpers must be a
  group the HR plan allows (:func:`lead_allows`).

The audit (``privacy.plan_groups``) keeps the row space as three random
vectors orthogonal to it and searches every set of 1 to min_n - 1 people by
meeting in the middle; hiding a row only shrinks the row space, so after one
complete search only its finds are checked again.  At 5,000 helpers it takes
about 10 CPU-s at its first build and 0.1 s after a check-in (benchmarks/results/hrplan.txt).

The plan depends only on who answered in which group, never on the answers:
each column of each week's, block's, window's and the roster's audit is cached
on how many people (and unknown people) answered it in each atom
(``burnout.audit_cache``, bounded, shared by every session), so new scores for
the same people reuse the whole plan and a check-in recomputes only the audits
whose counts it changed.  Nothing here imports streamlit.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from burnout import audit_cache, privacy

HR, LEAD, HELPER = "hr", "lead", "helper"
_PLANS: "OrderedDict[tuple, object]" = OrderedDict()
PLAN_CACHE_SIZE = 32     # joint plans (one per reader, window and answers; their audits: audit_cache)


@dataclass(frozen=True)
class Reader:
    """Who receives the released numbers, and whom they know one by one."""

    kind: str
    team: str | None = None
    known: frozenset = frozenset()
    helper_id: str | None = None

    @classmethod
    def hr(cls, people: pd.DataFrame) -> "Reader":
        return cls(HR, known=frozenset(consenting(people)))

    @classmethod
    def lead(cls, team: str, known: Iterable) -> "Reader":
        return cls(LEAD, team=team, known=frozenset(known))

    @classmethod
    def helper(cls, helper_id: str) -> "Reader":
        return cls(HELPER, helper_id=helper_id, known=frozenset({helper_id}))


def consenting(people: pd.DataFrame) -> set:
    """Every helper who shares their results with their lead (known to some lead,
    and so — HR material reaching managers — to the HR reader)."""
    if "consent_lead_view" not in people.columns:
        return set()
    return set(people.loc[people["consent_lead_view"].fillna(False).astype(bool), "helper_id"])


WEEK_SEP = "@week-"
# The answers windows a reader can choose (weeks): the reader can open all of them, so the gate
# audits all of them together.  Each is a whole number of 4-week blocks.
WINDOWS = (4, 8, 12)
BLOCK_WEEKS = 4
AUDIT_WEEKS = max(WINDOWS)
# The roster audit's column: every active person, whether they answered or not.
EVERYONE = "everyone"
# A plan column "n:<column>": the count of the people with a value of <column> (risk bands,
# "People with a risk estimate"); having a value means having answered, so it is a count.
COUNT_OF = "n:"


def count_of(column: str) -> str:
    return f"{COUNT_OF}{column}"


def week_column(measure: str, i: int) -> str:
    """The people frame's column of ``measure`` in the ``i``-th week before the latest
    (0: the latest week)."""
    return f"{measure}{WEEK_SEP}{i}"


def is_week_column(column: str, measure: str | None = None) -> bool:
    head, sep, _ = column.partition(WEEK_SEP)
    return bool(sep) and (measure is None or head == measure)


def week_index(column: str) -> int:
    return int(column.rpartition(WEEK_SEP)[2])


def in_blocks(series: pd.DataFrame, last_week) -> pd.DataFrame:
    """``series`` (``week_start`` per row) with each row's ``week_start`` set to the first
    week of its 4-week block, the blocks aligned with :data:`WINDOWS` (block 0: the 4 weeks
    up to ``last_week``); rows after ``last_week`` are dropped."""
    if series.empty or last_week is None:
        return series.iloc[:0] if last_week is None else series
    last = pd.Timestamp(last_week)
    i = (last - pd.to_datetime(series["week_start"])).dt.days // 7
    out = series[i >= 0].copy()
    k = i[i >= 0] // BLOCK_WEEKS
    out["week_start"] = last - pd.to_timedelta((k * BLOCK_WEEKS + BLOCK_WEEKS - 1) * 7, unit="D")
    return out


@dataclass(frozen=True)
class JointPlan:
    """The reader's audit of every answers window they can choose, of each week and 4-week
    block those windows cover, and of the roster.

    All the figures a reader can obtain of one measure form one linear system over
    person-weeks (one variable per answer):

    - a recent figure of a window is the sum of its group's answers over the window's
      weeks, so it is the sum of the group's sums in each week (or 4-week block) of it;
    - a weekly cell (a team x week table, a trend) is the group's sum of one week.

    Weeks are separate variables, so the system determines a small set of people exactly
    when it does within one week (or block).  Hence: a recent figure of a measure the reader
    can follow week by week (``weekly``) is shown only when the audit of each of the
    window's weeks allows the group, and of any other measure over answers (``blocked``,
    e.g. secondary traumatic stress, asked every 12 weeks) only when each of its 4-week
    blocks allows it; a weekly cell only when its own week's audit allows it (weeks older
    than any window: the weekly table's own protection, ``tables.by_week``).  None of this
    depends on the window chosen, so the figures of every window and every weekly cell
    shown under any choice lie together in the span of the audited weeks and blocks, which
    holds no small group: the 8-week figure less the 4-week one is a sum of weeks 5 to 8,
    each audited.

    Counts of who answered say who did not answer too (Alpha's 6 beside its 6 nurses says
    that Alpha's one psychologist did not), so every count — the roll-ups' People in every
    window, a weekly cell's people, participation — is over a group the roster audit
    allows: there every active person is a variable, answered or not, the same for every
    week and window.

    Each window's own audit (over people, ``windows``) still applies to its figures; a
    figure over the latest estimates (risk, caseload) is the same in every window.
    """

    windows: Mapping
    window: int
    weeks: tuple = ()
    weekly: frozenset = frozenset()
    blocks: tuple = ()
    blocked: frozenset = frozenset()
    roster: "privacy.Plan | None" = None
    last_week: "pd.Timestamp | None" = None

    @property
    def plan(self) -> privacy.Plan:
        """The chosen window's own audit."""
        return self.windows[self.window]

    @property
    def audits(self) -> tuple:
        """Every audit of the joint plan: the windows', the weeks', the blocks' and the roster's."""
        return (*self.windows.values(), *self.weeks, *self.blocks, *([self.roster] if self.roster else []))

    @property
    def status(self) -> dict:
        return self.plan.status

    @property
    def min_n(self) -> int:
        return self.plan.min_n

    def status_of(self, column: str, group: tuple) -> str:
        return self.plan.status_of(column, group)

    def counts_allow(self, conditions: Mapping) -> bool:
        """May a count of who answered among the people matching ``conditions`` be shown?"""
        return self.roster is None or self.roster.allows(EVERYONE, conditions)

    def allows(self, column: str, conditions: Mapping, window: int | None = None) -> bool:
        """May the figure of ``column`` over the last ``window`` weeks (default: the chosen
        window) for the people matching ``conditions`` be shown?"""
        if column.startswith(COUNT_OF):     # who has a value says who did not answer: the roster audit too
            return self.counts_allow(conditions) and self.allows(column[len(COUNT_OF):], conditions, window)
        w = self.window if window is None else window
        if not self.windows[w].allows(column, conditions):
            return False
        if column == "n" and not self.counts_allow(conditions):
            return False
        if column in self.weekly and not all(p.allows(column, conditions) for p in self.weeks[:w]):
            return False
        n_blocks = -(-w // BLOCK_WEEKS)
        return column not in self.blocked or all(p.allows(column, conditions) for p in self.blocks[:n_blocks])

    def allows_each(self, column: str, fixed: Mapping, dim: str, values: Sequence,
                    window: int | None = None) -> list[bool]:
        """``[self.allows(column, {**fixed, dim: v}, window) for v in values]``, each audit asked
        about every value at once (``privacy.Plan.allows_each``): the same audits, in the same
        conjunction."""
        values = list(values)
        if column.startswith(COUNT_OF):
            return [a and b for a, b in zip(self._roster_each(fixed, dim, values),
                                            self.allows_each(column[len(COUNT_OF):], fixed, dim, values, window))]
        w = self.window if window is None else window
        audits = [self.windows[w]]
        if column in self.weekly:
            audits += list(self.weeks[:w])
        if column in self.blocked:
            audits += list(self.blocks[:-(-w // BLOCK_WEEKS)])
        ok = self._roster_each(fixed, dim, values) if column == "n" else [True] * len(values)
        for p in audits:
            live = [i for i, v in enumerate(ok) if v]
            for i, v in zip(live, p.allows_each(column, fixed, dim, [values[i] for i in live])):
                ok[i] = v
        return ok

    def _roster_each(self, fixed: Mapping, dim: str, values: list) -> list[bool]:
        return [True] * len(values) if self.roster is None else self.roster.allows_each(EVERYONE, fixed, dim, values)

    def allows_cell(self, column: str, conditions: Mapping, week, span: int = 1) -> bool:
        """May a weekly cell (the mean and the people of ``column`` in the ``span`` weeks
        from the week starting ``week``) over the people matching ``conditions`` be shown?
        The same answer under every window choice.  A measure audited in 4-week blocks
        (``blocked``) has cells of whole blocks only: a single week of it is a part of a
        block the audit never saw, so it is refused."""
        if not self.counts_allow(conditions):
            return False
        audits = self.cell_audits(column, week, span)
        return audits is not None and all(p.allows(column, conditions) for p in audits)

    def allows_cell_each(self, column: str, fixed: Mapping, dim: str, values: Sequence, week,
                         span: int = 1) -> list[bool]:
        """``[self.allows_cell(column, {**fixed, dim: v}, week, span) for v in values]``, each
        audit asked about every value at once (``privacy.Plan.allows_each``)."""
        values = list(values)
        audits = self.cell_audits(column, week, span)
        ok = self._roster_each(fixed, dim, values)
        if audits is None:
            return [False] * len(values)
        for p in audits:
            live = [i for i, v in enumerate(ok) if v]
            for i, v in zip(live, p.allows_each(column, fixed, dim, [values[i] for i in live])):
                ok[i] = v
        return ok

    def cell_audits(self, column: str, week, span: int = 1) -> tuple | None:
        """The audits that must each allow a weekly cell of ``column`` in ``week``
        (:meth:`allows_cell`, beside the roster's); None: no such cell is shown."""
        if column in self.blocked:
            i = self._week_index(week)
            if span != BLOCK_WEEKS or (i is not None and (i + 1) % BLOCK_WEEKS):
                return None
            if i is None:
                return self.blocks
            k = i // BLOCK_WEEKS
            return (self.blocks[k],) if 0 <= k < len(self.blocks) else ()
        if column in self.weekly:
            i = self._week_index(week)
            if i is None:        # the week is not known: every audited week must allow it
                return self.weeks
            return (self.weeks[i],) if 0 <= i < len(self.weeks) else ()
        # over the latest estimates (risk), or counts: the same in every window's audit
        return tuple(self.windows.values())

    def _week_index(self, week) -> int | None:
        if self.last_week is None or week is None or pd.isna(week):
            return None
        return int((pd.Timestamp(self.last_week) - pd.Timestamp(week)).days // 7)


def plan_for(reader: Reader, people: pd.DataFrame, value_cols: Sequence[str], min_n: int,
             weekly: Sequence[str] = (), window: int | None = None) -> JointPlan:
    """The reader's audit of the roll-up tables over ``people`` (one row per active person:
    team, role, site, a value per column — NaN where they gave none — and, for the measures
    over answers, the columns :func:`week_column` of the last :data:`AUDIT_WEEKS` weeks;
    ``people.attrs``: the chosen ``window`` and the latest week, ``as_of``).  ``weekly``:
    the measures the reader can also obtain week by week.  Every window of :data:`WINDOWS`
    is audited, with every week (``weekly``) or 4-week block (the other measures over
    answers) they cover, and the roster (:class:`JointPlan`).

    Each column of each of these audits is taken from ``audit_cache`` under who answered it
    in which group (never the answers): after a check-in only the audits whose counts it
    changed are computed again."""
    cols = [c for c in value_cols if c in people.columns]
    week_cols: dict = {}
    for c in people.columns:
        if is_week_column(c):
            week_cols.setdefault(c.partition(WEEK_SEP)[0], []).append(c)
    over_answers = [m for m in cols if m in week_cols]
    weekly = [m for m in weekly if m in over_answers]
    blocked = [m for m in over_answers if m not in weekly]
    window = int(window or people.attrs.get("window") or WINDOWS[0])
    windows = sorted(set(WINDOWS) | {window})
    n_weeks = max(windows)
    last = people.attrs.get("as_of")
    atoms = privacy.Atoms.of(people, known=reader.known)
    # who answered each measure in each audited week: one row per person, one column per week
    answered = {m: (np.array([week_index(c) for c in week_cols[m]]), atoms.present(people[week_cols[m]]))
                for m in over_answers}

    def present(measure: str, weeks: range) -> np.ndarray:
        index, matrix = answered[measure]
        return matrix[:, (index >= weeks.start) & (index < weeks.stop)].any(axis=1)

    def audit(columns: dict) -> tuple:
        return audit_cache.plan(atoms, columns, min_n)

    plans = {w: audit({c: present(c, range(w)) if c in answered else atoms.present(people[c]) for c in cols})
             for w in windows}
    weeks = tuple(audit({m: present(m, range(i, i + 1)) for m in weekly}) for i in range(n_weeks)) if weekly else ()
    blocks = tuple(audit({m: present(m, range(k, k + BLOCK_WEEKS)) for m in blocked})
                   for k in range(0, n_weeks, BLOCK_WEEKS)) if blocked else ()
    roster = audit({EVERYONE: np.ones(len(atoms.rows), dtype=bool)})
    # the same audits again (a rerun, another view): the same joint plan, with the verdicts it gave
    key = ("joint", min_n, window, tuple(cols), tuple(weekly), tuple(blocked), str(last),
           tuple(s for s, _ in plans.values()), tuple(s for s, _ in weeks), tuple(s for s, _ in blocks), roster[0])
    joint = _PLANS.get(key)
    if joint is not None:
        _PLANS.move_to_end(key)
        return joint
    joint = _PLANS[key] = JointPlan({w: p for w, (_, p) in plans.items()}, window, tuple(p for _, p in weeks),
                                    frozenset(weekly), tuple(p for _, p in blocks), frozenset(blocked), roster[1],
                                    pd.Timestamp(last) if last is not None else None)
    while len(_PLANS) > PLAN_CACHE_SIZE:
        _PLANS.popitem(last=False)
    return joint


def cell_gate(plan: "privacy.Plan | JointPlan | None", group_col: str, measure: str, fixed: Mapping | None = None,
              span: int = 1):
    """A ``privacy.suppress(gate=...)`` check for a table of ``group_col`` x week (or x
    ``span`` weeks) under the conditions ``fixed`` share: a cell passes only when ``plan``
    allows its group in its week (the ``All`` row: the scope itself;
    :meth:`JointPlan.allows_cell`)."""
    if plan is None:
        return None
    column = measure if measure in plan.status else "n"
    fixed = dict(fixed or {})
    joint = isinstance(plan, JointPlan)
    verdicts: dict = {}
    # A joint plan's verdict on a group's cell rests on the audits of its week and the roster
    # alone, so weeks with the same audits (every week older than the audited ones: the roster's
    # only) share their verdicts: kept by group and those audits' identity (alive as long as
    # the plan, and this gate with it), a fresh process asks about each team once, not once a
    # week (about 100 weeks x 1,000 teams x 4 measures at 10,000 helpers).
    shared: dict = {}

    on_of: dict = {}

    def resting_on(week) -> tuple | None:
        """The identity of the audits a cell of ``week`` rests on (once a week: the suppression
        asks cell by cell); None: no such cell is shown."""
        if week not in on_of:
            audits = plan.cell_audits(column, week, span)
            on_of[week] = None if audits is None else tuple(map(id, audits))
        return on_of[week]

    def gate(key):
        group = key[0]
        week = key[1] if joint and len(key) > 1 else None
        if (group, week) not in verdicts:
            on = resting_on(week) if joint and str(group) != privacy.TOTAL else None
            if on is not None and (group, on) in shared:      # asked for another week (each)
                verdicts[(group, week)] = shared[(group, on)]
            else:
                cond = dict(fixed)
                if str(group) != privacy.TOTAL:
                    cond[group_col] = group
                ok = plan.allows_cell(column, cond, week, span) if joint else plan.allows(column, cond)
                verdicts[(group, week)] = None if ok else privacy.COMPLEMENTARY
        return verdicts[(group, week)]

    def basis(week) -> tuple:
        """What the verdicts of ``week``'s cells rest on: (the audits, a hashable rest).
        Two weeks (of two gates) with the same audits and rest give every group the same
        verdict, so tables.by_week keeps a week's verdicts across gates."""
        audits = plan.cell_audits(column, week, span) if joint else None
        rest = (group_col, column, repr(sorted(fixed.items(), key=str)), span, joint, audits is None)
        return ((plan.roster, *(audits or ())) if joint else (plan,)), rest

    def each(groups: Sequence, week) -> list:
        """``[gate((g, week)) for g in groups]``, the plan asked about every group at once."""
        on = resting_on(week) if joint else None
        if on is None:
            return [gate((g, week)) for g in groups]
        todo = [g for g in dict.fromkeys(groups) if (g, on) not in shared and str(g) != privacy.TOTAL]
        if todo:
            for g, ok in zip(todo, plan.allows_cell_each(column, fixed, group_col, todo, week, span)):
                shared[(g, on)] = None if ok else privacy.COMPLEMENTARY
        # the suppression of the weeks not kept asks the gate cell by cell: answered from ``shared``
        return [gate((g, week)) if str(g) == privacy.TOTAL else shared[(g, on)] for g in groups]
    gate.basis = basis
    gate.each = each
    return gate

def allows(plan: "privacy.Plan | JointPlan | None", conditions: Mapping, column: str = "n") -> bool:
    """May counts (or ``column``) over the people matching ``conditions`` be released?"""
    return plan is None or plan.allows(column, dict(conditions))


def allows_each(plan: "privacy.Plan | JointPlan | None", fixed: Mapping, dim: str, values: Sequence,
                column: str = "n") -> list[bool]:
    """``[allows(plan, {**fixed, dim: v}, column) for v in values]``, asked together."""
    values = list(values)
    return [True] * len(values) if plan is None else privacy._allows_each(plan, column, dict(fixed), dim, values)


def lead_allows(plan: "privacy.Plan | JointPlan | None", team: str, private: Iterable, column: str = "n",
                fixed: Mapping | None = None) -> bool:
    """May a lead's figure over team ``team`` (its people matching ``fixed``) be released?

    HR material reaches managers, so a lead reads the HR review too, and the
    HR audit (``plan``) already counts every consenting helper as known: a lead
    figure that the audited HR rows imply adds nothing to what HR and the lead
    hold together.  A figure over consenting helpers only (no ``private``
    helper in its basis) is the lead's own knowledge and always passes; any
    other must be a group the joint plan allows — otherwise the HR team figure
    minus the lead's figure (or minus the consenting helpers' values) could
    describe a helper who keeps their results private.
    """
    if not set(private):
        return True
    return allows(plan, {**dict(fixed or {}), "team": team}, column)


def weeks_shown(verdicts: "Mapping | None", team: str, weeks: Iterable) -> bool:
    """May a lead's figure over private helpers that rests on team ``team``'s ``weeks`` (a
    team alert's "now 47 (6 respondents)", a shift over 12 weeks) be released?

    HR material reaches managers, so such a figure is the HR heatmap's cell of the team in
    each of those weeks: it passes only when ``verdicts`` (the heatmap's ``(team, week) ->
    status`` for the figure's measure) shows the team in every one of them.  With no verdicts
    for the measure nothing passes (fail closed): HR's week total and the other teams' cells
    minus the lead's figure would give a cell HR hides to protect a small group."""
    if verdicts is None:
        return False
    return all(verdicts.get((str(team), pd.Timestamp(w))) == privacy.SHOWN for w in weeks)


# The turnover figures' assumptions (relative risk, base turnover, prevalence they were
# observed at) are the organisation's saved settings, which an admin can save again and
# again.  Each save is a new release of the same answers, so the figures of all saves
# together must say no more than one save: turnover.helper_impact makes every helper's
# figures move with the relative risk through one common factor (one split prevalence for
# everyone), so each group's figures under any relative risk are two sums over its people,
# the sums one save already releases.  A chance of leaving cut at 100 % would break that
# (the cut bends each helper's figure at its own relative risk, and a run of saves would
# find where), so no group's figure is shown when the burned-out rate passes 100 %.
# Whether it does depends only on the saved settings and the split prevalence, never on one
# person's answers.
ASSUMPTIONS = "assumptions"


def turnover_withheld(impact: pd.DataFrame) -> bool:
    """Must the turnover figures of ``impact`` (turnover.helper_impact rows) be withheld
    because the saved assumptions put the turnover among burned-out helpers above 100 %?"""
    if impact is None or not len(impact) or "turnover_burned_out" not in impact:
        return False
    t_b = pd.to_numeric(impact["turnover_burned_out"], errors="coerce")
    fitted = impact.get("p_leave_basis", pd.Series("", index=impact.index)).astype(str).str.startswith("fitted")
    return bool((t_b[~fitted] > 1.0).any())


# A replacement cost is saved per role (a multiplier of salary, or a fixed amount).  Two saves
# of one role's figure move every released turnover cost by that role's people's own sum in
# it, so a role with 1 to min_n - 1 people in some released cell (a shown group, or the
# hidden groups together, which the total less the shown rows gives) would have their
# expected cost found.  Such roles take the default multiplier; when the people on the
# default are themselves that few in some cell, every role does, and then one factor scales
# every figure and a save says nothing new.  Only private helpers are counted: a helper who
# shares with their lead is known to the HR reader (HR material reaches managers; the lead
# sees their risk, HR their salary), so a cell's 1 private nurse among 4 sharing ones is
# 1 unknown, and two saves of the nurses' cost gave her own; a role whose only people in a
# cell share adds nothing the reader did not know.
NO_ROLE = ""
HIDDEN_CELL = "\0hidden"


def _release_cells(helpers: pd.DataFrame, cell_col: str, shown: Iterable) -> pd.Series:
    cell = helpers[cell_col].astype("string").fillna("(no team)")
    return cell.where(cell.isin({str(k) for k in shown}), HIDDEN_CELL)


def _private(helpers: pd.DataFrame, known: Iterable) -> pd.DataFrame:
    h = helpers.drop_duplicates("helper_id")
    known = set(known)
    return h[~h["helper_id"].isin(known)] if known else h


def roles_on_default_cost(helpers: pd.DataFrame, cell_col: str, shown: Iterable, min_n: int,
                          known: Iterable = ()) -> frozenset:
    """The roles of ``helpers`` (``helper_id, role`` and ``cell_col``) that must take the
    default replacement cost in a table released by ``cell_col`` whose shown groups are
    ``shown`` (the total not counted), ``known`` (the helpers who share with their lead,
    :func:`consenting`) not counted: the rule above."""
    h = _private(helpers, known)
    if not len(h):
        return frozenset()
    role = h["role"].astype("string").str.strip().str.lower().fillna(NO_ROLE)
    counts = pd.crosstab(_release_cells(h, cell_col, shown), role)
    counts.loc["\0total"] = counts.sum(axis=0)

    def few(n) -> bool:
        return bool(((n > 0) & (n < min_n)).any())

    roles = {r for r in counts.columns if r != NO_ROLE and few(counts[r])}
    on_default = counts[[r for r in counts.columns if r in roles or r == NO_ROLE]].sum(axis=1)
    if few(on_default):
        roles = set(counts.columns) - {NO_ROLE}
    return frozenset(roles)


def salary_default_usable(helpers: pd.DataFrame, cell_col: str, shown: Iterable, min_n: int,
                          known: Iterable = ()) -> bool:
    """May the saved default salary stand in for missing salaries in that table?  Not when
    1 to min_n - 1 private helpers (``known`` not counted, as above) without a salary are in
    some released cell: two saves of it would give their expected cost (their cost is then
    unknown, counted as such)."""
    h = _private(helpers, known)
    salary = pd.to_numeric(h["annual_salary"], errors="coerce") if "annual_salary" in h else pd.Series(
        np.nan, index=h.index)
    missing = salary.isna().groupby(_release_cells(h, cell_col, shown).to_numpy()).sum()
    missing = np.append(missing.to_numpy(), missing.sum())     # each cell, then the total
    return not bool(((missing > 0) & (missing < min_n)).any())
