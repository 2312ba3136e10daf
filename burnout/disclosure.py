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
- A recent figure (the roll-ups over the last weeks) is the mean of the group's
  weekly answers in the window, a sum of the weekly cells of the same weeks; for
  the measures a reader can also follow week by week, :class:`JointPlan` lets
  it (and a weekly cell) through only when the audit of each week of the
  window allows the group, so windows and weeks together determine nothing
  the weeks alone do not.
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
about 5 s once per change of who answered (benchmarks/bench_gate.py).

The plan depends only on who answered in which group, never on the answers,
so it is cached on that structure (bounded): new scores for the same people
reuse it.  Nothing here imports streamlit.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from burnout import privacy

HR, LEAD, HELPER = "hr", "lead", "helper"
_PLANS: "OrderedDict[tuple, object]" = OrderedDict()
PLAN_CACHE_SIZE = 64     # a reader's window plan and one per week of it, for a few windows


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


def week_column(measure: str, i: int) -> str:
    """The people frame's column of ``measure`` in the ``i``-th week of the recent window
    (0: the latest week)."""
    return f"{measure}{WEEK_SEP}{i}"


def is_week_column(column: str, measure: str | None = None) -> bool:
    head, sep, _ = column.partition(WEEK_SEP)
    return bool(sep) and (measure is None or head == measure)


@dataclass(frozen=True)
class JointPlan:
    """The reader's audit of the recent window and of each of its weeks.

    A recent figure of a measure that the reader can also follow week by week (a team x
    week table, a trend) is the mean of the group's weekly answers over the window, so
    its sum is the sum of the group's weekly sums: it may be shown only when every one
    of those weeks' audits allows the group, and a weekly cell only when they allow it
    too.  Then everything the reader holds of one week lies in the row space of that
    week's audited rows, and the weeks are separate blocks (other numbers), so nothing
    small is determined by the weeks and the window together — nor by windows of other
    lengths, which are other sums of the same weekly blocks.
    """

    window: privacy.Plan
    weeks: tuple = ()
    weekly: frozenset = frozenset()

    @property
    def status(self) -> dict:
        return self.window.status

    @property
    def min_n(self) -> int:
        return self.window.min_n

    def status_of(self, column: str, group: tuple) -> str:
        return self.window.status_of(column, group)

    def allows(self, column: str, conditions: Mapping) -> bool:
        if not self.window.allows(column, conditions):
            return False
        return column not in self.weekly or all(p.allows(column, conditions) for p in self.weeks)


def _cached(reader: Reader, frame: pd.DataFrame, cols: list, min_n: int) -> privacy.Plan:
    structure = pd.concat([frame[["helper_id", *privacy.GROUP_DIMS]], frame[cols].notna()], axis=1)
    key = (min_n, tuple(cols), int(pd.util.hash_pandas_object(structure, index=False).sum()),
           hash(reader.known))
    plan = _PLANS.get(key)
    if plan is None:
        plan = privacy.plan_groups(frame, cols, min_n, known=reader.known)
        _PLANS[key] = plan
        while len(_PLANS) > PLAN_CACHE_SIZE:
            _PLANS.popitem(last=False)
    else:
        _PLANS.move_to_end(key)
    return plan


def plan_for(reader: Reader, people: pd.DataFrame, value_cols: Sequence[str], min_n: int,
             weekly: Sequence[str] = ()) -> JointPlan:
    """The reader's audit of the roll-up tables over ``people`` (one row per person: team,
    role, site and a value per column, NaN where they gave none).  ``weekly``: the
    measures the reader can also obtain week by week; each week of the recent window
    (the columns :func:`week_column`) is audited too (:class:`JointPlan`)."""
    cols = [c for c in value_cols if c in people.columns]
    weekly = [m for m in weekly if m in cols]
    week_cols = [c for c in people.columns if any(is_week_column(c, m) for m in weekly)]
    # asked again with the same people answering (a rerun, another view): one hash, no rebuild
    key = ("joint", min_n, tuple(cols), tuple(week_cols), hash(reader.known),
           int(pd.util.hash_pandas_object(pd.concat([people[["helper_id", *privacy.GROUP_DIMS]],
                                                     people[cols + week_cols].notna()], axis=1),
                                          index=False).sum()))
    joint = _PLANS.get(key)
    if joint is not None:
        _PLANS.move_to_end(key)
        return joint
    window = _cached(reader, people[["helper_id", *privacy.GROUP_DIMS, *cols]], cols, min_n)
    n_weeks = max([int(c.rpartition(WEEK_SEP)[2]) + 1 for c in week_cols], default=0)
    weeks = []
    for i in range(n_weeks):
        frame = people[["helper_id", *privacy.GROUP_DIMS]].copy()
        for m in weekly:
            col = week_column(m, i)
            frame[m] = people[col] if col in people.columns else np.nan
        weeks.append(_cached(reader, frame, weekly, min_n))
    joint = _PLANS[key] = JointPlan(window, tuple(weeks), frozenset(weekly))
    while len(_PLANS) > PLAN_CACHE_SIZE:
        _PLANS.popitem(last=False)
    return joint


def cell_gate(plan: "privacy.Plan | JointPlan | None", group_col: str, measure: str, fixed: Mapping | None = None):
    """A ``privacy.suppress(gate=...)`` check for a table of ``group_col`` (x week)
    under the conditions ``fixed`` share: a cell passes only when ``plan``
    allows its group (the ``All`` row: the scope itself)."""
    if plan is None:
        return None
    column = measure if measure in plan.status else "n"
    fixed = dict(fixed or {})

    verdicts: dict = {}      # a group's verdict is the same in every week: asked once

    def gate(key):
        group = key[0]
        if group not in verdicts:
            cond = dict(fixed)
            if str(group) != privacy.TOTAL:
                cond[group_col] = group
            verdicts[group] = None if plan.allows(column, cond) else privacy.COMPLEMENTARY
        return verdicts[group]
    return gate


def allows(plan: "privacy.Plan | JointPlan | None", conditions: Mapping, column: str = "n") -> bool:
    """May counts (or ``column``) over the people matching ``conditions`` be released?"""
    return plan is None or plan.allows(column, dict(conditions))


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
