"""The HR / wellness review: what an HR reviewer sees, as one typed object.

:func:`build_review` assembles it for ``scope="org"`` or ``"team:ID"``:
roll-ups by team, role and site, risk bands, the weekly trend and a
sub-group x week heatmap, participation, turnover impact and a what-if
scenario.  Every table is a :class:`privacy.Suppressed` (distinct people,
minimum group, complementary suppression, the organisation's joint audit)
and every figure is drawn from those tables, so the page, the PDF and the
XLSX show the same numbers and obey the same rules.  Free-text comments are
never part of it.  The writers in :mod:`burnout.export` only render a
:class:`Review`.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sqlalchemy.engine import Engine

from burnout import charts, disclosure, privacy, risk, turnover, uncertainty
from burnout.domain import measures
from burnout.domain.settings import Settings, client_word_for, team_kind_label
from burnout.instruments import with_client_word
from burnout.domain.time import now
from burnout.errors import InputError
from burnout.store import frames
from burnout.views.data import (BLOCK_MEASURES, PERCENT, TREND_MEASURES, OrgData, active_roster, load_data,
                                merged_settings, org_people, series_for)
from burnout.views.tables import (band_shares, heatmap_cells, hr_known, hr_weekly, last_weeks, narrowing,
                                  org_week_rows, participation_display, participation_table, review_plan, rollup,
                                  trend_from)

DEFAULT_SCENARIO = {"burnout_reduction_points": 10.0, "cap_caseload": True, "intervention_cost": 0.0}
# The turnover assumptions a reader may try out for one review: none.  A value per role
# (replacement cost) or per kind of team (base turnover) weighs one subset of people apart from
# the rest: the same total under two settings differs by that subset's sum alone (one case
# manager's expected cost, issue 10).  The relative risk weighs people through their own
# probability of burnout and their kind of team's prevalence, so the totals under many values are
# a non-linear function with one pole per kind of team, and enough values separate the kinds: a
# hidden team of 4, alone of its kind, came out exact from seven values (tests/test_attack_levers.py).
# With one value per review every released figure is a sum the audit covers; the relative risk's
# stated range (1.5-2.7) is in every range shown.  All of these stay the organisation's saved settings.
SESSION_ASSUMPTIONS: frozenset = frozenset()
CALIBRATION_TITLE = "How the risk model was checked"
TURNOVER_COLUMNS = ("helpers_with_risk", "burnout_prevalence", "expected_leavers", "attributable_leavers",
                    "expected_turnover_cost", "attributable_cost", "clients_affected",
                    "attributable_clients_affected")
# Every leaver, money and client total carries <name>_low / <name>_high: the
# 2.5-97.5 % of burnout.uncertainty's Monte Carlo over the stated assumption ranges;
RANGED = tuple(uncertainty.FIGURES.values())
# expected leavers and clients also next year's likely count: _low / _high only, chance included
COUNTED = tuple(uncertainty.COUNTS.values())
# said where a group's figures are shown but its count of people with an estimate is not
COUNT_HIDDEN = "not shown: the count would say who did not check in"
MONEY = frozenset(n for n in RANGED if n.endswith("cost"))


@dataclasses.dataclass(frozen=True)
class Section:
    """One part of the review: a heading, a sentence on how it is counted, the table
    as shown (hidden cells in words) and the figures drawn with it."""

    key: str
    title: str
    text: str
    display: pd.DataFrame
    figures: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What losing a helper means for clients of one kind of team."""

    kind: str
    label: str
    text: str


@dataclasses.dataclass(frozen=True)
class TurnoverImpact:
    """Turnover impact per ``group_col`` and in total, suppressed like the roll-ups,
    and the what-if scenario for the whole scope (None when the scope is hidden)."""

    table: pd.DataFrame
    group_col: str
    evidence: tuple[Evidence, ...]
    what_if: Mapping | None
    scenario: Mapping
    resolved: Settings            # the turnover model's inputs in force (with the fitted link)
    link: Mapping
    # the draws behind every _low/_high (2,000 x helpers x 6 figures: hundreds of MB at 5,000
    # helpers), used while the review is built and then dropped; scope_ranges keeps the scope's totals
    ranges: "uncertainty.Ranges | None" = None
    basis: str = ""                                # what the probabilities rest on, in words
    scope_ranges: Mapping | None = None            # ranges.total(): the whole scope's totals with ranges
    pool_kinds: frozenset = frozenset()            # kinds of team that take one pooled base (turnover_impact)

    def words(self, name: str, row: pd.Series | None = None) -> str:
        """A total of ``name`` as people read it: "about $110k (range $66k–$160k)"."""
        r = self.total if row is None else row
        return uncertainty.format_range(r.get(name), r.get(f"{name}_low"), r.get(f"{name}_high"),
                                        money=name in MONEY)

    def interval_of(self, keys) -> dict:
        """The ranged totals over the groups ``keys`` (values of ``group_col``)."""
        if self.ranges is None:
            return {}
        if self.ranges.grouped is not None:      # each group's draws summed once (turnover_impact)
            return self.ranges.grouped.total(keys)
        col = self.ranges.impact[self.group_col].astype("string").fillna("(no team)")
        return self.ranges.total(col.isin(set(map(str, keys))).to_numpy())

    @property
    def total(self) -> pd.Series:
        """The scope's total row (its ``status`` says whether it is shown)."""
        return self.table[self.table[self.group_col] == privacy.TOTAL].iloc[0]

    @property
    def groups(self) -> pd.DataFrame:
        return self.table[self.table[self.group_col] != privacy.TOTAL]


@dataclasses.dataclass(frozen=True)
class Calibration:
    """How the leaving model was checked (risk.LeavingModel), in words and figures."""

    title: str
    used: str
    lines: tuple[str, ...]
    display: pd.DataFrame
    details: Mapping


@dataclasses.dataclass(frozen=True)
class Review:
    title: str
    scope: str
    scope_label: str
    team: str | None
    generated_at: dt.datetime
    as_of: pd.Timestamp | None
    window_weeks: int
    min_n: int
    privacy_note: str
    filter: Mapping
    assumptions: pd.DataFrame
    sections: tuple[Section, ...]
    tables: Mapping[str, privacy.Suppressed]
    turnover: TurnoverImpact
    participation: pd.DataFrame
    trend: pd.DataFrame
    figures: Mapping[str, go.Figure]
    calibration: Calibration
    summary: "Summary | None" = None

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        return self.turnover.evidence

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    def about(self) -> list[tuple[str, str]]:
        """The report's heading lines: scope, dates, privacy, filter."""
        rows = [("Report", self.title), ("Scope", self.scope_label),
                ("Generated", self.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
                ("Data up to the week starting",
                 self.as_of.strftime("%Y-%m-%d") if self.as_of is not None else "no data"),
                ("Privacy", self.privacy_note)]
        if self.filter:
            rows.append(("Filter", "; ".join(f"{k}: {', '.join(map(str, v))}"
                                             for k, v in self.filter.items() if v)))
        return rows


# =========================================================================== turnover

def turnover_impact(data: OrgData, people: pd.DataFrame, min_n: int, scenario: Mapping | None = None,
                    group_col: str = "team", *, plan: privacy.Plan | None = None,
                    fixed: Mapping | None = None) -> TurnoverImpact:
    """Turnover impact per ``group_col`` and in total, suppressed like the roll-ups,
    and the what-if ``scenario`` for the whole scope (none asked: none worked out, see
    :func:`with_scenario`)."""
    settings = data.settings
    model = data.leaving_model
    ts = model.turnover_settings(settings)
    roster = active_roster(data.roster, data.as_of)
    roster = roster[roster["helper_id"].isin(set(people["helper_id"]))]
    latest = data.latest[data.latest["helper_id"].isin(set(roster["helper_id"]))]
    # The mask counts the people behind the burnout estimate: distinct helpers whose
    # risk rests on their own answers (people_frame blanks caseload-only risks).
    basis = roster.drop_duplicates("helper_id")[["helper_id", group_col]].merge(
        people[["helper_id", "risk_score"]], on="helper_id", how="left")
    mask = privacy.suppress(basis, group_col, "helper_id", ["risk_score"], min_n,
                            labels={group_col: group_col.capitalize()})
    if plan is not None:
        mask = privacy.apply_plan(mask, plan, fixed, column_map={"n": "risk_score"})
    status = dict(zip(mask.table[group_col].astype(str), mask.status["risk_score"]))
    # A base turnover is saved per kind of team, and two saves of one kind's base move the
    # total by that kind's own sum: with hidden teams of several kinds that would separate
    # them.  So every kind with a hidden team takes one base, the mean of theirs: then a save
    # moves the total by the sum of all those kinds, less the shown teams' (their rows), the
    # hidden teams together, which one release already gives.
    pool = frozenset()
    if group_col == "team":
        kinds = roster.drop_duplicates("helper_id")
        hidden = {k for k, st in status.items() if k != privacy.TOTAL and st != privacy.SHOWN}
        pool = frozenset(kinds.loc[kinds["team"].astype("string").fillna("(no team)").isin(hidden), "team_kind"]
                         .astype("string").fillna("(unknown)"))
    # a role too few in some released group takes the default replacement cost (the rule: disclosure)
    shown = [k for k, st in status.items() if k != privacy.TOTAL and st == privacy.SHOWN]
    known = disclosure.consenting(roster)
    on_default = disclosure.roles_on_default_cost(roster, group_col, shown, min_n, known)
    salary_default = disclosure.salary_default_usable(roster, group_col, shown, min_n, known)
    settings, ts = (turnover.with_default_cost(x, on_default, salary_default) for x in (settings, ts))
    impact = turnover.helper_impact_under(model, roster, latest, settings, pool_kinds=pool)  # as the risk command
    impact = impact.merge(roster[["helper_id", "site"]], on="helper_id", how="left")
    # how many have an estimate says how many did not answer: that count passes the roster audit too
    keys, counted, scope = list(mask.table[group_col]), disclosure.count_of("risk_score"), dict(fixed or {})
    groups = [k for k in keys if str(k) != privacy.TOTAL]
    allowed = dict(zip(map(str, groups), disclosure.allows_each(plan, scope, group_col, groups, counted)))
    allowed[privacy.TOTAL] = disclosure.allows(plan, scope, counted)
    n_risk = {str(k): n for k, n in zip(keys, mask.table["n"]) if allowed[str(k)]}
    if group_col == "team":
        per = turnover.team_impact(impact, ts)
    else:
        per = turnover.group_impact(impact, impact[group_col]).reset_index()
        per["team_kind"] = None
    org = turnover.org_impact(impact, ts)
    # one Monte Carlo for the scope; each group's range is summed within the draws
    sims = uncertainty.simulate(impact, ts, model.observed, model.calibration if model.fitted else None)
    by_group = sims.total_by(sims.impact[group_col].astype("string").fillna("(no team)").astype(object))
    bounds = [f"{n}_{e}" for n in RANGED + COUNTED for e in ("low", "high")]

    def ranged(tot) -> dict:
        return {f"{n}_{e}": tot[n][e] if tot else None for n in RANGED + COUNTED for e in ("low", "high")}

    cols = list(TURNOVER_COLUMNS)
    rows = []
    for r in per.to_dict("records"):
        key = str(r[group_col])
        rows.append({group_col: key, "team_kind": r.get("team_kind"), **{c: r.get(c) for c in cols},
                     **ranged(by_group.get(key)),
                     "status": status.get(key, privacy.PRIMARY)})
    rows.append({group_col: privacy.TOTAL, "team_kind": None, **{c: org.get(c) for c in cols},
                 **ranged(sims.total()), "status": status.get(privacy.TOTAL, privacy.PRIMARY)})
    table = pd.DataFrame(rows)
    withheld = disclosure.turnover_withheld(impact)
    if withheld:
        table["status"] = disclosure.ASSUMPTIONS
    hidden = table["status"] != privacy.SHOWN
    table[bounds] = table[bounds].astype(float)
    table.loc[hidden, cols + bounds] = np.nan
    table["helpers_with_risk"] = [n_risk.get(k, np.nan) if s == privacy.SHOWN else np.nan
                                  for k, s in zip(table[group_col], table["status"])]
    shown_kinds = sorted({k for k, s in zip(table["team_kind"], table["status"])
                          if s == privacy.SHOWN and isinstance(k, str)})
    evidence = tuple(Evidence(k, team_kind_label(k), settings.continuity_for(k))
                     for k in (shown_kinds or sorted(set(impact["team_kind"].dropna().astype(str)))))
    bases = impact["p_leave_basis"].dropna().astype(str).unique() if "p_leave_basis" in impact else []
    tb = TurnoverImpact(table=table, group_col=group_col, evidence=evidence, what_if=None,
                        scenario={**DEFAULT_SCENARIO, **(scenario or {})}, resolved=ts, link=data.burnout_link,
                        ranges=sims, basis="; ".join(sorted(bases)), pool_kinds=pool)
    if scenario is None:
        return tb
    inputs = WhatIfInputs.of(data, people, tb)
    return dataclasses.replace(tb, what_if=inputs.scenario_result(tb.scenario))


@dataclasses.dataclass(frozen=True)
class WhatIfInputs:
    """What the what-if scenario and its levers read (the scope's active helpers, their
    latest risk, the turnover model in force), and the results already worked out for it:
    a review for another scenario on the same data reuses them (a lever alone is the same
    simulation under many scenarios)."""

    roster: pd.DataFrame
    latest: pd.DataFrame
    resolved: Settings
    weights: object
    calibration: object
    scope_ok: bool                 # the scope's total is shown: otherwise no scenario is estimated
    pool_kinds: frozenset = frozenset()   # kinds of team with one pooled base (turnover_impact says why)
    done: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)
    # turnover.what_if's memo: the helpers' figures before any scenario (per relative risk) and
    # their capped-caseload risk are the same for every scenario and lever on these inputs
    memo: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, compare=False, repr=False)

    @classmethod
    def of(cls, data: OrgData, people: pd.DataFrame, tb: TurnoverImpact) -> "WhatIfInputs":
        roster = active_roster(data.roster, data.as_of)
        roster = roster[roster["helper_id"].isin(set(people["helper_id"]))]
        latest = data.latest[data.latest["helper_id"].isin(set(roster["helper_id"]))]
        return cls(roster, latest, tb.resolved, data.settings.risk_weights, data.leaving_model.calibration,
                   tb.total["status"] == privacy.SHOWN, tb.pool_kinds)

    def run(self, points: float, cap: bool, cost: float) -> dict:
        """uncertainty.what_if_ranges for these inputs (read-only: it may be shared)."""
        key = (float(points), bool(cap), float(cost or 0))
        with self.lock:
            hit = self.done.get(key)
        if hit is None:
            hit = uncertainty.what_if_ranges(self.roster, self.latest, self.resolved,
                                             burnout_reduction_points=key[0], cap_caseload=key[1],
                                             intervention_cost=key[2], weights=self.weights,
                                             calibration=self.calibration, pool_kinds=self.pool_kinds,
                                             memo=self.memo)
            with self.lock:
                if len(self.done) >= 256:     # a page's slider can ask for many: keep the memory bounded
                    self.done.clear()
                hit = self.done.setdefault(key, hit)
        return hit

    def scenario_result(self, sc: Mapping) -> dict | None:
        """The scenario ``sc`` (DEFAULT_SCENARIO's keys and ``cap_shown``), None when the scope is hidden."""
        if not self.scope_ok:
            return None
        return self.run(sc["burnout_reduction_points"], bool(sc["cap_caseload"]) and sc.get("cap_shown", True),
                        sc["intervention_cost"])


WITHHELD_WORDS = "not shown: the saved assumptions put turnover among burned-out helpers above 100 %"


def _turnover_hidden(status: str, min_n: int) -> str:
    return WITHHELD_WORDS if status == disclosure.ASSUMPTIONS else privacy.hidden_label(status, min_n)


def turnover_display(block: TurnoverImpact, min_n: int) -> pd.DataFrame:
    t = block.table
    g = block.group_col
    out = pd.DataFrame({g.capitalize(): t[g]})
    spec = [("helpers_with_risk", "People with a risk estimate", 0, 1),
            ("burnout_prevalence", "Estimated burnout prevalence (%)", 1, 100),
            ("expected_leavers", "Expected leavers per year", 1, 1),
            ("attributable_leavers", "Of which attributable to burnout", 2, 1),
            ("expected_turnover_cost", "Expected turnover cost per year ($)", 0, 1),
            ("attributable_cost", "Burnout-attributable cost per year ($)", 0, 1),
            ("clients_affected", "Clients who would lose their helper", 0, 1)]
    for col, name, dec, scale in spec:
        vals = []
        for v, s in zip(t[col], t["status"]):
            if s != privacy.SHOWN:
                vals.append(_turnover_hidden(s, min_n))
            elif v is None or (isinstance(v, float) and math.isnan(v)):
                vals.append(COUNT_HIDDEN if col == "helpers_with_risk" else "")
            else:
                x = float(v) * scale
                vals.append(int(round(x)) if dec == 0 else round(x, dec))
        out[name] = vals
        if f"{col}_low" in t:
            # the figure stays a number (sortable, summable in a spreadsheet); its range sits beside it
            out[f"{name.replace(' ($)', '')}: range"] = [
                uncertainty.format_span(lo, hi, money=col in MONEY) if s == privacy.SHOWN
                else _turnover_hidden(s, min_n) for lo, hi, s in zip(t[f"{col}_low"], t[f"{col}_high"],
                                                                         t["status"])]
        count = uncertainty.COUNTS.get(col)
        if count and f"{count}_low" in t:
            # the range above is for the expected number; next year's count also varies by chance
            out[f"{name}: next year's count likely"] = [
                uncertainty.count_span(lo, hi) if s == privacy.SHOWN else privacy.hidden_label(s, min_n)
                for lo, hi, s in zip(t[f"{count}_low"], t[f"{count}_high"], t["status"])]
    return out


def what_if_display(result: Mapping | None) -> pd.DataFrame:
    if not result:
        return pd.DataFrame({"Figure": ["Scenario"], "Value": ["not enough people to estimate"], "Range": [""]})
    roi = result.get("roi")

    def span(key, money=False):
        return uncertainty.format_span(result.get(f"{key}_low"), result.get(f"{key}_high"), money=money)

    roi_span = ("" if roi is None or result.get("roi_low") is None
                else f"{result['roi_low'] * 100:.0f}% to {result['roi_high'] * 100:.0f}%")
    rows = [
        ("Helpers in scope", result.get("helpers"), ""),
        ("Expected leavers per year now", _r(result.get("expected_leavers_before"), 1), ""),
        ("Expected leavers per year with the scenario", _r(result.get("expected_leavers_after"), 1), ""),
        ("Leavers avoided per year", _r(result.get("leavers_avoided"), 2), span("leavers_avoided")),
        ("Expected turnover cost now ($)", _r(result.get("expected_cost_before"), 0), ""),
        ("Expected turnover cost with the scenario ($)", _r(result.get("expected_cost_after"), 0), ""),
        ("Cost saved per year ($)", _r(result.get("cost_saved"), 0), span("cost_saved", money=True)),
        ("Clients spared a change of helper per year", _r(result.get("clients_spared"), 1), span("clients_spared")),
        ("Intervention cost per year ($)", _r(result.get("intervention_cost"), 0), ""),
        ("Return on investment", "enter an intervention cost" if roi is None else f"{roi * 100:.0f}%", roi_span),
    ]
    return pd.DataFrame(rows, columns=["Figure", "Value", "Range"]).astype({"Value": object})


def drivers_by(people: pd.DataFrame, group_col: str, min_n: int, plan: privacy.Plan | None, team: str | None,
               weights=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Causes and symptoms (risk.team_causes / team_symptoms) for the scope and
    each ``group_col`` the audit lets through: one row per factor, one column of
    risk points per shown group.  A group counts only the people whose risk rests
    on their own answers, and needs ``min_n`` of them."""
    df = people[people["risk_score"].notna()]
    scope_cond = {} if team is None else {"team": team}
    keys = df[group_col].astype("string").fillna("(none)")
    people_in = df["helper_id"].groupby(keys, sort=True).nunique()
    shown = [str(k) for k, n in people_in.items()
             if n >= min_n and disclosure.allows(plan, {**scope_cond, group_col: k})]
    out = []
    for rank, names, factors in ((risk.team_causes, "Workplace factor", risk.CAUSES),
                                 (risk.team_symptoms, "What people report", risk.SYMPTOMS)):
        cols, rows = {}, {}
        if df["helper_id"].nunique() >= min_n and disclosure.allows(plan, scope_cond):
            r = rank(df, weights)
            cols[privacy.TOTAL] = dict(zip(r["component"], r["points"].round(1)))
            rows = {c: (lab, act) for c, lab, act in zip(r["component"], r["label"],
                                                           r.get("action", pd.Series([""] * len(r))))}
        # every group's mean points from one pass over its people (the ranking's own points)
        means = pd.DataFrame(risk.points_added(df, weights, factors), columns=list(factors),
                             index=df.index).groupby(keys, sort=True).mean()
        if privacy.TOTAL not in cols:
            out.append(pd.DataFrame({names: [f"not shown: fewer than {min_n} people with a risk estimate"]}))
            continue
        order = list(rows)
        table = {names: [rows[c][0] for c in order],
                 "All: adds (risk points)": [cols[privacy.TOTAL].get(c, 0.0) for c in order]}
        # a factor a group's people do not have adds 0 (all the shown groups at once: hundreds of teams)
        pick = [list(factors).index(c) for c in order]
        shown_means = means.loc[shown, list(factors)].to_numpy(float) if shown else np.empty((0, len(factors)))
        added = np.where(shown_means > 0, np.round(shown_means, 1), 0.0)
        for i, key in enumerate(shown):
            table[f"{key}"] = list(added[i, pick])
        if rank is risk.team_causes:
            table["Suggested first step"] = [rows[c][1] for c in order]
        out.append(pd.DataFrame(table))
    return out[0], out[1]


def cap_shown(data: OrgData, people: pd.DataFrame, plan, team: str | None, min_n: int) -> bool:
    """May the caseload cap's effect be shown for ``team`` (None: the organisation)?

    Capping changes only the risk of the helpers above their role standard, so the cap's
    figures (alone, or "both" minus "lower only") are sums over them alone: shown only when
    they are none or at least ``min_n`` in the scope, and, for the organisation, also in the
    teams whose own report does not show it (the organisation's figure minus the teams'
    would give theirs).  Helpers the reader knows one by one (every sharing helper, as HR
    material reaches managers) do not count.  ``people``: the whole organisation
    (views.data.people_frame)."""
    capped = (turnover.capped_helpers(data.latest, data.settings.risk_weights) & set(people["helper_id"])) \
        - disclosure.consenting(people)

    def fine(k: int) -> bool:
        return k == 0 or k >= min_n

    def team_shows(t, with_risk: int, in_cap: int) -> bool:
        return with_risk >= min_n and disclosure.allows(plan, {"team": t}, "risk_score") and fine(in_cap)
    if team is not None:
        mine = people[people["team"] == team]
        return team_shows(team, int(mine["risk_score"].notna().sum()), len(capped & set(mine["helper_id"])))
    # each team's counts in one pass (a frame per team was most of the time at hundreds of teams)
    counts = pd.DataFrame({"risk": people["risk_score"].notna(),
                           "capped": people["helper_id"].where(people["helper_id"].isin(capped))}
                          ).groupby(people["team"], observed=True).agg(risk=("risk", "sum"), capped=("capped", "nunique"))
    rest = sum(int(c) for t, r, c in zip(counts.index, counts["risk"], counts["capped"])
               if not team_shows(t, int(r), int(c)))
    return fine(len(capped)) and fine(rest)


def _r(v, dec):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return int(round(float(v))) if dec == 0 else round(float(v), dec)


def _scenario_text(sc: Mapping, result: Mapping | None = None) -> str:
    asked = float(sc["burnout_reduction_points"])
    applied = (result or {}).get("burnout_reduction_applied_points")
    if applied is not None and float(applied) < asked - 1e-9:
        parts = [f"burnout prevalence {float(applied):.1f} percentage points lower (asked {asked:g}; "
                 f"prevalence cannot fall below 0 %)"]
    else:
        parts = [f"burnout prevalence {asked:g} percentage points lower"]
    if sc.get("cap_caseload") and not sc.get("cap_shown", True):
        parts.append("caseloads capped at the role standard: not applied here, as too few helpers are above "
                     "their role standard to show its effect without singling them out")
    elif sc.get("cap_caseload"):
        parts.append("caseloads capped at the role standard")
    if sc.get("intervention_cost"):
        parts.append(f"an intervention costing ${float(sc['intervention_cost']):,.0f} a year")
    return "Scenario: " + "; ".join(parts) + "."


def assumption_rows(tb: TurnoverImpact, settings: Settings, window_weeks: int, min_n: int) -> list[tuple]:
    """The review's "Assumptions used" table as rows; the what-if's rows come last."""
    s = tb.resolved
    rows = [("Minimum group size (people)", min_n),
            ("Answers window (weeks)", window_weeks),
            ("Relative risk of leaving when burned out", s.relative_risk),
            ("Default annual base turnover", f"{float(s.default_base_turnover) * 100:.1f}%"),
            ("Default replacement cost (x annual salary)", s.default_cost_multiplier)]
    for kind, rate in sorted(s.base_turnover.items()):
        rows.append((f"Base turnover: {team_kind_label(kind)}", f"{float(rate) * 100:.1f}%"))
    if tb.pool_kinds:       # said, so that a total set beside the risk command's is understood
        rows.append(("Base turnover: kinds of team with a team not shown",
                     "one shared rate, the mean of theirs, so that no saved setting can single out a small "
                     "team; the risk command's per-helper figures use each kind's own rate, so its totals "
                     "can differ from this report's"))
    for role, mult in sorted(s.cost_multiplier.items()):
        rows.append((f"Replacement cost (x salary): {role}", mult))
    for role, cost in sorted(s.cost_per_departure.items()):
        rows.append((f"Cost per departure: {role} ($)", cost))
    own = {str(r).strip().lower() for r in (*s.cost_multiplier, *s.cost_per_departure)}
    unused = sorted({str(r) for r in (*settings.cost_multiplier, *settings.cost_per_departure)
                     if str(r).strip().lower() not in own})
    if settings.default_annual_salary is not None and s.default_annual_salary is None:
        rows.append(("Default annual salary", "not used in this report: too few people without a salary in a "
                     "group of it; their cost is counted as unknown"))
    if unused:
        rows.append(("Replacement cost: roles on the default", f"{', '.join(unused)}: too few people of the role, or "
                     "on the default, in a group of this report for figures of their own"))
    link = tb.link or {}
    set_by_org = settings.burnout_midpoint is not None
    how = ("set by the organisation" if set_by_org else "fitted to the organisation's single-item ratings"
           if link.get("used") == "fitted" else "default assumption")
    mid = s.burnout_midpoint if s.burnout_midpoint is not None else turnover.DEFAULT_BURNOUT_MIDPOINT
    scale = s.burnout_scale if s.burnout_scale is not None else turnover.DEFAULT_BURNOUT_SCALE
    rows.append(("Burnout probability from risk", f"logistic, midpoint {float(mid):.1f}, "
                                                   f"scale {float(scale):.1f} ({how})"))
    return rows + _scenario_rows(tb.scenario)


def _scenario_rows(sc: Mapping) -> list[tuple]:
    return [("What-if: burnout prevalence lower by (points)", sc["burnout_reduction_points"]),
            ("What-if: caseloads capped at the role standard",
             ("asked; not applied (too few people above the standard)" if not sc.get("cap_shown", True) else "yes")
             if sc["cap_caseload"] else "no"),
            ("What-if: intervention cost per year ($)", sc["intervention_cost"])]


def _assumptions(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["Assumption", "Value"]).astype({"Value": object})


# =========================================================================== summary

LEVERS = (("Burnout prevalence lower only", True, False), ("Caseloads capped at the role standard only", False, True),
          ("Both together", True, True))
# Team kinds whose people are not comparable when counted together (a student's
# counsellor is not a patient's nurse): the summary says so when both appear.
SERVES_MANY = {"school_counselling"}


@dataclasses.dataclass(frozen=True)
class Summary:
    """What the first page of the PDF says: the review's headline in one page."""

    headline: pd.DataFrame        # Figure, Estimate, Range
    top_teams: pd.DataFrame       # the shown teams where burnout-attributable cost is highest
    levers: pd.DataFrame          # each what-if lever alone, then combined
    best_lever: str | None
    clients: pd.DataFrame         # clients who would lose their helper, by team kind, in each team's word
    clients_note: str | None
    participation: str
    hidden: str


def what_if_levers(inputs: WhatIfInputs, scenario: Mapping | None) -> pd.DataFrame:
    """Each lever of the what-if alone, then combined, so HR sees what each one buys.
    ``inputs`` keeps the results already worked out: the review's own scenario is one of
    the levers, and a lever alone is the same under many scenarios."""
    sc = {**DEFAULT_SCENARIO, **(scenario or {})}
    rows, saved = [], []
    for name, lower, cap in LEVERS:
        label = name.replace("lower", f"{float(sc['burnout_reduction_points']):g} points lower")
        if cap and not sc.get("cap_shown", True):
            rows.append({"Lever": label, **{k: "not shown: too few people above the standard" for k in
                                            ("Leavers avoided per year", "Leavers avoided: range",
                                             "Cost saved per year ($)", "Cost saved: range",
                                             "Clients spared a change of helper", "Clients spared: range")}})
            saved.append("not shown")
            continue
        r = inputs.run(float(sc["burnout_reduction_points"]) if lower else 0.0, cap, sc["intervention_cost"])
        rows.append({"Lever": label, "Leavers avoided per year": _r(r.get("leavers_avoided"), 2),
                     "Leavers avoided: range": uncertainty.format_span(r.get("leavers_avoided_low"),
                                                                       r.get("leavers_avoided_high")),
                     "Cost saved per year ($)": _r(r.get("cost_saved"), 0),
                     "Cost saved: range": uncertainty.format_span(r.get("cost_saved_low"), r.get("cost_saved_high"),
                                                                  money=True),
                     "Clients spared a change of helper": _r(r.get("clients_spared"), 1),
                     "Clients spared: range": uncertainty.format_span(r.get("clients_spared_low"),
                                                                      r.get("clients_spared_high"))})
        saved.append(uncertainty.format_range(r.get("cost_saved"), r.get("cost_saved_low"), r.get("cost_saved_high"),
                                              money=True))
    out = pd.DataFrame(rows)
    out.attrs["cost_saved_words"] = saved         # "about $31k (range $11k–$61k)" per lever
    return out


def clients_by_kind(tb: TurnoverImpact, words: Mapping[str, str]) -> tuple[pd.DataFrame, str | None]:
    """Clients who would lose their helper, per team kind, each in its teams' own word.

    Only shown rows are split out; hidden teams are one line together (their sum is
    already implied by the total and the shown rows)."""
    if tb.group_col != "team":
        return pd.DataFrame(), None
    t = tb.groups
    shown = t[t["status"] == privacy.SHOWN]
    rows = []
    for kind, g in shown.groupby(shown["team_kind"].fillna("other")):
        word = words.get(kind) or client_word_for(kind)
        plural = with_client_word("clients", word)
        ci = tb.interval_of(g[tb.group_col]).get("clients_affected", {})
        rows.append({"Kind of team": team_kind_label(kind) if kind != "other" else "Other",
                     "People served": plural, "Teams": len(g),
                     "Would lose their helper per year": int(round(float(g["clients_affected"].sum()))),
                     "Range": uncertainty.format_span(ci.get("low"), ci.get("high"))})
    total = tb.total
    rest = float(total["clients_affected"]) - float(shown["clients_affected"].sum()) \
        if total["status"] == privacy.SHOWN and pd.notna(total["clients_affected"]) else None
    if rest is not None and len(t) > len(shown):
        # the hidden teams' sum is implied by the total; their own range is not, so it stays unsaid
        rows.append({"Kind of team": "Teams not shown (too few people)", "People served": "mixed",
                     "Teams": len(t) - len(shown), "Would lose their helper per year": int(round(rest)),
                     "Range": "not shown"})
    out = pd.DataFrame(rows)
    note = None
    kinds = set(shown["team_kind"].dropna())
    if kinds & SERVES_MANY and kinds - SERVES_MANY:
        many = ", ".join(team_kind_label(k) for k in sorted(kinds & SERVES_MANY))
        note = (f"Not comparable: {many} teams serve a whole school roll, so each helper has far more people than a "
                "caseload of patients or clients. Read each line on its own; do not add them up.")
    return out, note


def _headline(data: OrgData, people: pd.DataFrame, tb: TurnoverImpact) -> pd.DataFrame:
    total = tb.total
    if total["status"] != privacy.SHOWN:
        return pd.DataFrame({"Figure": ["Turnover impact"], "Estimate": ["not enough people to estimate"]})
    def est(name):
        if total.get(name) is None or pd.isna(total.get(name)):
            return "not enough data yet"        # e.g. a roster without answers: said in words, never "nan"
        return tb.words(name)

    def count(name):
        # the ranges above are for the expected number; who actually leaves also varies by chance
        span = uncertainty.count_span(total.get(f"{name}_low"), total.get(f"{name}_high"))
        return f"likely between {span.replace('–', ' and ')}" if span else "not enough data yet"

    prev = (uncertainty.prevalence_interval(tb.ranges.impact["p_burned_out"]) if tb.ranges is not None
            else {"mid": None})
    prevalence = ("not enough data yet" if prev["mid"] is None or total.get("burnout_prevalence") is None
                  or pd.isna(total.get("burnout_prevalence"))
                  else uncertainty.format_range(total["burnout_prevalence"], prev["low"], prev["high"], percent=True))
    rows = [("Burnout prevalence (estimated)", prevalence),
            ("Expected leavers per year", est("expected_leavers")),
            ("Next year's count of leavers (chance included)", count("leavers_next_year")),
            ("Of which attributable to burnout", est("attributable_leavers")),
            ("Expected turnover cost per year", est("expected_turnover_cost")),
            ("Burnout-attributable turnover cost per year", est("attributable_cost")),
            ("People who would lose their helper per year", est("clients_affected")),
            ("Next year's count of people who lose their helper (chance included)", count("clients_next_year")),
            ("Probabilities of leaving", tb.basis or "not known")]
    return pd.DataFrame(rows, columns=["Figure", "Estimate"])


def build_summary(engine: Engine, data: OrgData, people: pd.DataFrame, tb: TurnoverImpact,
                  part: pd.DataFrame, tables: Mapping[str, privacy.Suppressed], min_n: int) -> Summary:
    """The one-page summary: headline with ranges, where burnout costs most, participation,
    and what was hidden and why; each lever of the what-if comes with the scenario
    (:func:`scenario_summary`)."""
    top = tb.groups[tb.groups["status"] == privacy.SHOWN].sort_values("attributable_cost", ascending=False).head(3)
    top_teams = pd.DataFrame({tb.group_col.capitalize(): top[tb.group_col],
                              "Burnout-attributable cost per year ($)":
                                  pd.to_numeric(top["attributable_cost"], errors="coerce").round(0),
                              "Cost: range": [uncertainty.format_span(a, b, money=True) for a, b in
                                              zip(top["attributable_cost_low"], top["attributable_cost_high"])],
                              "Attributable leavers": pd.to_numeric(top["attributable_leavers"], errors="coerce").round(1),
                              "Leavers: range": [uncertainty.format_span(a, b) for a, b in
                                                 zip(top["attributable_leavers_low"], top["attributable_leavers_high"])]})
    words = {}
    teams_df = frames.teams_frame(engine)
    for kind, g in teams_df.groupby(teams_df["kind"].fillna("other")):
        w = g["client_word"].dropna()
        if len(w):
            words[kind] = str(w.iloc[0])
    clients, note = clients_by_kind(tb, words)
    shown_weeks = part[part["status"] == privacy.SHOWN] if "status" in part else part
    if len(shown_weeks):
        last = shown_weeks.iloc[-1]
        participation = (f"{float(last['rate']) * 100:.0f} % of active helpers checked in in the week of "
                         f"{pd.Timestamp(last['week_start']):%d %b %Y}; "
                         f"{float(shown_weeks['rate'].tail(4).mean()) * 100:.0f} % on average over 4 weeks.")
    else:
        participation = f"Participation is hidden: fewer than {min_n} people in the weeks shown."
    hidden = hidden_words(tables, min_n)
    return Summary(headline=_headline(data, people, tb), top_teams=top_teams, levers=pd.DataFrame(), best_lever=None,
                   clients=clients, clients_note=note, participation=participation, hidden=hidden)


def hidden_words(tables: Mapping[str, privacy.Suppressed], min_n: int) -> str:
    """The summary's line on what the roll-ups hid and why."""
    hidden_bits = []
    for key, sup in tables.items():
        if key == "weekly" or not hasattr(sup, "status"):
            continue
        st_ = sup.status.iloc[:, 0] if isinstance(sup.status, pd.DataFrame) else pd.Series(dtype=object)
        n_p, n_c = int((st_ == privacy.PRIMARY).sum()), int((st_ == privacy.COMPLEMENTARY).sum())
        if n_p or n_c:
            hidden_bits.append(f"{key.replace('by_', 'by ').replace('_', ' ')}: {n_p} group(s) with fewer than "
                               f"{min_n} people" + (f", {n_c} more so they cannot be worked out" if n_c else ""))
    return ("Hidden: " + "; ".join(hidden_bits) + ". Small groups are hidden so no one's answers can be "
            "singled out.") if hidden_bits else f"Nothing was hidden: every group had {min_n} or more people."


def scenario_summary(summary: Summary, inputs: WhatIfInputs, tb: TurnoverImpact) -> Summary:
    """``summary`` with each lever of ``tb``'s scenario alone, then combined, and the best of them."""
    levers = what_if_levers(inputs, tb.scenario) if tb.what_if else pd.DataFrame()
    best = None
    saved = pd.to_numeric(levers["Cost saved per year ($)"], errors="coerce") if len(levers) else pd.Series(dtype=float)
    if len(levers) and saved.iloc[:2].max() > 0 and pd.notna(saved.iloc[2]):
        single = levers.iloc[:2]
        b = single.loc[saved.iloc[:2].idxmax()]
        words = levers.attrs["cost_saved_words"]
        best = (f"{b['Lever']}: {words[int(saved.iloc[:2].idxmax())]} a year on its own; both levers together: "
                f"{words[2]}.")
    return dataclasses.replace(summary, levers=levers, best_lever=best)


# =========================================================================== the review

def _risk_band_words() -> str:
    """"low < 40, moderate 40-64, high 65+" from the risk measure's band edges."""
    low, high = measures.RISK_BAND_EDGES
    return f"low < {low:g}, moderate {low:g}-{high - 1:g}, high {high:g}+"


def parse_scope(engine: Engine, scope: str) -> str | None:
    """``"org"`` -> None; ``"team:ID"`` -> ID after checking the team exists."""
    scope = (scope or "org").strip()
    if scope == "org":
        return None
    if not scope.startswith("team:") or not scope[5:].strip():
        raise InputError(f"scope must be 'org' or 'team:ID', got {scope!r}", column="scope")
    team = scope[5:].strip()
    known = set(frames.teams_frame(engine)["team_id"])
    if team not in known:
        raise InputError(f"there is no team {team!r}; teams: {', '.join(sorted(known)) or 'none'}",
                         column="scope")
    return team


class Figures(Mapping):
    """The review's charts by name, each drawn the first time it is asked for and kept:
    the tables alone (the workbook, the CLI, the privacy checks) never pay for drawing,
    and a review for another scenario shares the charts that do not depend on it
    (``base``).  Shared by the sessions of a page cache, so drawing is under a lock."""

    def __init__(self, makers: Mapping[str, Callable[[], go.Figure]], base: "Figures | None" = None):
        self._makers = dict(makers)
        self._made: dict[str, go.Figure] = {}
        self._base = base
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> go.Figure:
        if name not in self._makers:
            if self._base is None:
                raise KeyError(name)
            return self._base[name]
        with self._lock:
            if name not in self._made:
                self._made[name] = self._makers[name]()
            return self._made[name]

    def __iter__(self) -> Iterator[str]:
        yield from (self._base or {})
        yield from (k for k in self._makers if k not in (self._base or {}))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __reduce__(self):          # a pickled review carries its charts drawn
        return dict, (dict(self.items()),)


@dataclasses.dataclass(frozen=True)
class ReviewBase:
    """A review without its what-if scenario: everything that does not depend on it
    (roll-ups, bands, weekly figures, drivers, turnover impact and their charts), built
    once per data and choice of measure, window and filter; :func:`with_scenario` adds a
    scenario.  ``review`` has neither the what-if section nor the levers."""

    review: Review
    inputs: WhatIfInputs
    assumptions: tuple                     # the "Assumptions used" rows before the what-if's
    # what refiltered() needs to redo the roll-ups alone: the scope's people and the audit
    people: pd.DataFrame | None = dataclasses.field(default=None, compare=False, repr=False)
    plan: object = dataclasses.field(default=None, compare=False, repr=False)


def build_review(engine: Engine, scope: str = "org", settings_override: Mapping | None = None, *,
                 as_of=None, window_weeks: int = 4, scenario: Mapping | None = None,
                 where: Mapping | None = None, trend_measure: str = "pulse_strain",
                 data: OrgData | None = None, heat_weeks: int = 26) -> Review:
    """The HR review for ``scope`` ("org" or "team:ID"; an unknown team is an InputError)
    under the what-if ``scenario`` (burnout_reduction_points, cap_caseload, intervention_cost;
    missing ones from DEFAULT_SCENARIO): :func:`with_scenario` of :func:`review_base`, whose
    arguments are the others."""
    return with_scenario(review_base(engine, scope, settings_override, as_of=as_of, window_weeks=window_weeks,
                                     where=where, trend_measure=trend_measure, data=data, heat_weeks=heat_weeks),
                         scenario)


def _rollups(people: pd.DataFrame, groupings: list, heat_group: str, min_n: int, where: Mapping | None, plan,
             fixed: Mapping, window_weeks: int) -> list[tuple[Section, privacy.Suppressed]]:
    """The "Wellbeing by team / role / site" sections and their tables: all of the review
    that the filter ``where`` changes (with the pressure chart and the summary's hidden line)."""
    out = []
    for g in groupings:
        sup = rollup(people, g, min_n, where=where, plan=plan, fixed=fixed)
        out.append((Section(f"by_{g}", f"Wellbeing by {g}",
                            f"The mean of every weekly answer given in the last {window_weeks} weeks, per {g}; "
                            "People: who answered in those weeks. "
                            "Burnout risk and caseload are the latest estimates.",
                            sup.display(percent=PERCENT), ("pressure",) if g == heat_group else ()), sup))
    return out


def _pressure_chart(tables: Mapping[str, privacy.Suppressed], heat_group: str) -> Callable[[], go.Figure]:
    interior = tables[f"by_{heat_group}"].interior().table.rename(columns={heat_group: "label"})
    return lambda: charts.pressure_scatter(
        interior, y="burned_out", size_col="n", label_points=True,
        title=f"Caseload pressure and reported burnout by {heat_group}",
        subtitle=f"One dot per {heat_group} shown in the table; the larger the dot, the more people.")


def review_base(engine: Engine, scope: str = "org", settings_override: Mapping | None = None, *,
                as_of=None, window_weeks: int = 4, where: Mapping | None = None,
                trend_measure: str = "pulse_strain", data: OrgData | None = None,
                heat_weeks: int = 26, plan: disclosure.JointPlan | None = None) -> ReviewBase:
    """The part of the HR review for ``scope`` that does not depend on the what-if scenario.

    ``settings_override``: the assumptions in SESSION_ASSUMPTIONS (none: every figure rests on
    the saved settings, see there) on top of the saved settings; any other is an InputError.
    ``where``: a narrowing filter for the roll-ups, e.g.
    ``{"site": [...]}``; it is protected against the unfiltered tables.
    ``heat_weeks``: how many recent weeks the heatmap draws (its table keeps all).
    ``plan``: the organisation's joint audit of exactly this read (``data``), when the caller
    holds it already (a stored release audit's, ``release_store``: the same people, the same
    plan); used only when made for this window and minimum group, else the review audits.
    """
    team = parse_scope(engine, scope)
    odd = sorted(set(settings_override or {}) - SESSION_ASSUMPTIONS)
    if odd:
        raise InputError(f"a review cannot change {', '.join(odd)} for itself: figures under many values "
                         "(or a value per role or kind of team) would single out people; the ranges shown "
                         "cover the stated assumption ranges, and an admin changes the saved settings",
                         column="settings")
    settings = merged_settings(engine, settings_override)
    min_n = settings.min_group_size
    if data is not None and data.answers_weeks is not None and window_weeks > data.answers_weeks:
        data = load_data(engine, as_of=as_of)   # the review's read keeps fewer weeks than this window
    data = (data if data is not None else load_data(engine, as_of=as_of, settings=settings)).with_settings(settings)
    people = org_people(data, weeks=window_weeks)
    # One audit over every roll-up an HR reviewer can see; a team report or a
    # filter then shows only what those audited tables already imply.
    if plan is None or plan.window != window_weeks or plan.min_n != min_n:
        plan = review_plan(people, min_n)
    fixed = narrowing(where, team)
    scenario = {**DEFAULT_SCENARIO, "cap_shown": cap_shown(data, people, plan, team, min_n)}
    if team is not None:
        people = people[people["team"] == team]
    groupings = ["role", "site"] if team is not None else ["team", "role", "site"]
    heat_group = "team" if team is None else "role"
    # The turnover figures (mostly their Monte Carlo) need none of the sections before them:
    # worked out on a thread of their own meanwhile.  numpy lets go of the GIL in the
    # simulation's array work, so a second core shortens the reviewer's wait (at L after a
    # check-in, by about the turnover's own time); a failure there is raised below.
    pool = ThreadPoolExecutor(1, thread_name_prefix="review-turnover")
    turnover_job = pool.submit(turnover_impact, data, people, min_n, None, group_col=heat_group, plan=plan,
                               fixed=narrowing(None, team))
    pool.shutdown(wait=False)
    sections: list[Section] = []
    tables: dict[str, privacy.Suppressed] = {}
    rolled = _rollups(people, groupings, heat_group, min_n, where, plan, fixed, window_weeks)
    sections += [sec for sec, _ in rolled]
    tables.update({sec.key: sup for sec, sup in rolled})
    band_by = "team" if team is None else None
    bands = band_shares(people, band_by, min_n, plan=plan, fixed=narrowing(None, team))
    tables["risk_bands"] = bands
    sections.append(Section("risk_bands", "Burnout risk bands",
                            f"Share of people in each band of the 0-100 risk ({_risk_band_words()}).",
                            bands.display(percent=PERCENT, decimals=0), ("risk_bands",)))

    roster = data.roster
    # the weekly cells are audited week by week and pass the roll-ups' audit too (a heatmap
    # row of a team the roll-ups hide would undo it); see tables.hr_weekly.  The organisation's
    # rows of a weekly measure are kept between reads (tables.org_week_rows).
    series, rows = None, None
    if team is None and trend_measure not in BLOCK_MEASURES:
        rows = org_week_rows(data, trend_measure)
    else:
        all_series = series_for(data, trend_measure)
        series = all_series[all_series["helper_id"].isin(set(active_roster(roster, data.as_of)["helper_id"]))]
    weekly = hr_weekly(series, roster, trend_measure, min_n, plan=plan, known=hr_known(roster), team=team, rows=rows)
    tables["weekly"] = weekly
    trend = trend_from(weekly, trend_measure)
    weekly_display = weekly.display(percent=PERCENT, labels={
        "week_start": "Week starting", heat_group: heat_group.capitalize(),
        trend_measure: measures.label(trend_measure)})
    weekly_display["Week starting"] = _dates(weekly.table["week_start"])
    measure_name = TREND_MEASURES.get(trend_measure, trend_measure)
    # a measure asked every 4 weeks is shown in 4-week periods, aligned with the answers windows
    blocks = trend_measure in BLOCK_MEASURES
    period = f"{disclosure.BLOCK_WEEKS}-week period" if blocks else "week"
    if blocks:      # a cell's "Week starting" is its period's first week
        heat_weeks = -(-heat_weeks // disclosure.BLOCK_WEEKS)
    sections.append(Section("weekly", f"{measure_name} by {period}",
                            (f"The mean of every answer given in each {period} (asked every "
                             f"{disclosure.BLOCK_WEEKS} weeks); " if blocks else "Weekly means over distinct people; ")
                            + f"each {period}'s total is protected against its {heat_group}s.",
                            weekly_display, ("trend", "heatmap")))

    scope_ids = roster["helper_id"] if team is None else roster.loc[roster["team"] == team, "helper_id"]
    part = participation_table(data, scope_ids, min_n,
                               allowed=team is None or disclosure.allows(plan, {"team": team}))
    sections.append(Section("participation", "Check-in participation",
                            "Share of active helpers who checked in each week. Counts only: never who.",
                            participation_display(part, min_n)))

    causes, symptoms = drivers_by(people, heat_group, min_n, plan, team, settings.risk_weights)
    sections.append(Section("causes", "What is driving it",
                            "Workplace factors, ranked by how much each adds to the risk on average (risk points), "
                            "the same ranking as each helper's own drivers; each with a suggested first step. "
                            f"A {heat_group} appears once {min_n} or more people in it have a risk estimate.", causes))
    sections.append(Section("symptoms", "What people report",
                            "How people say they are (their answers and their trend), ranked the same way. These "
                            "describe strain; the workplace factors above are what can be changed.", symptoms))

    tb = dataclasses.replace(turnover_job.result(), scenario=scenario)      # DEFAULT_SCENARIO's keys and cap_shown, for with_scenario
    sections.append(Section("turnover", "Turnover impact",
                            "Expected leavers and cost next year (Shanafelt, Goh & Sinsky 2017 mixture model) "
                            "and the share attributable to burnout; clients affected = expected leavers x "
                            "their active caseload.", turnover_display(tb, min_n), ("turnover_cost",)))

    model = data.leaving_model
    calibration = Calibration(CALIBRATION_TITLE, model.calibration.used, tuple(model.describe()), model.table(),
                              model.to_dict())
    label = "Organisation" if team is None else f"Team {team}"
    band_table = bands.interior().table if band_by else bands.table
    heat_cells = last_weeks(heatmap_cells(weekly, trend_measure), heat_weeks)
    groups, gcol = tb.groups, tb.group_col     # not tb itself: the charts must not keep its Monte Carlo draws
    figures = Figures({
        "risk_bands": lambda: charts.risk_distribution(band_table, band_by, title="Burnout risk bands"
                                                       + (" by team" if band_by else "")),
        "trend": lambda: charts.team_trend(trend, trend_measure, min_n,
                                           title=f"{label}: {measure_name.lower()} by {period}"),
        "heatmap": lambda: charts.heatmap(heat_cells, heat_group, measure=trend_measure,
                                          title=f"{measure_name} by {heat_group} and {period}", min_n=min_n),
        "pressure": _pressure_chart(tables, heat_group),
        "participation": lambda: charts.participation(part, min_n=min_n, y_label="% of active helpers who answered"),
        "turnover": lambda: charts.turnover_impact(groups, group_col=gcol),
        "turnover_cost": lambda: charts.turnover_impact(groups, metric="cost", group_col=gcol),
    })
    rows = assumption_rows(tb, settings, window_weeks, min_n)
    review = Review(
        title=f"Helper wellbeing review: {label.lower() if team is None else label}",
        scope="org" if team is None else f"team:{team}", scope_label=label, team=team,
        generated_at=now(), as_of=data.as_of, window_weeks=window_weeks, min_n=min_n,
        privacy_note=privacy.privacy_note(min_n), filter=dict(where or {}),
        assumptions=_assumptions(rows), sections=tuple(sections),
        tables=tables, turnover=_without_draws(tb), participation=part, trend=trend, figures=figures,
        calibration=calibration, summary=build_summary(engine, data, people, tb, part, tables, min_n))
    return ReviewBase(review, WhatIfInputs.of(data, people, tb), tuple(rows[:-len(_scenario_rows(scenario))]),
                      people, plan)


def _dates(col: pd.Series) -> pd.Series:
    """``pd.to_datetime(col).dt.strftime("%Y-%m-%d")``, each distinct week written once
    (a team x week table repeats every week hundreds of times)."""
    codes, weeks = pd.factorize(pd.to_datetime(col))
    words = np.append(weeks.strftime("%Y-%m-%d").to_numpy(dtype=object), np.nan)     # code -1 (NaT): NaN
    return pd.Series(words[codes], index=col.index, name=col.name, dtype=object)


def refiltered(base: ReviewBase, where: Mapping | None) -> ReviewBase:
    """``base`` (built for the same data, scope, measure and window) under the filter ``where``:
    only the roll-ups, their pressure chart and the summary's hidden line are worked out again,
    the rest (bands, weekly cells, drivers, turnover) does not depend on the filter."""
    r = base.review
    heat_group = "team" if r.team is None else "role"
    groupings = ["role", "site"] if r.team is not None else ["team", "role", "site"]
    rolled = _rollups(base.people, groupings, heat_group, r.min_n, where, base.plan, narrowing(where, r.team),
                      r.window_weeks)
    tables = {**r.tables, **{sec.key: sup for sec, sup in rolled}}
    sections = tuple(sec for sec, _ in rolled) + r.sections[len(rolled):]
    review = dataclasses.replace(
        r, filter=dict(where or {}), sections=sections, tables=tables, generated_at=now(),
        figures=Figures({"pressure": _pressure_chart(tables, heat_group)}, base=r.figures),
        summary=dataclasses.replace(r.summary, hidden=hidden_words(tables, r.min_n)))
    return dataclasses.replace(base, review=review)


def with_scenario(base: ReviewBase, scenario: Mapping | None = None) -> Review:
    """The review of ``base`` under the what-if ``scenario``: only the what-if, its levers,
    its charts and its assumption rows are worked out; the rest is ``base``'s, shared."""
    r = base.review
    sc = {**DEFAULT_SCENARIO, **(scenario or {}), "cap_shown": r.turnover.scenario["cap_shown"]}
    result = base.inputs.scenario_result(sc)
    tb = dataclasses.replace(r.turnover, scenario=sc, what_if=result)
    figures = Figures({"what_if": lambda: charts.what_if(result), "what_if_bars": lambda: charts.what_if_bars(result)},
                      base=r.figures)
    section = Section("what_if", "What-if scenario", _scenario_text(sc, result), what_if_display(result), ("what_if",))
    return dataclasses.replace(
        r, generated_at=now(), turnover=tb, figures=figures, sections=r.sections + (section,),
        assumptions=_assumptions(list(base.assumptions) + _scenario_rows(sc)),
        summary=scenario_summary(r.summary, base.inputs, tb))


def _without_draws(tb: TurnoverImpact) -> TurnoverImpact:
    """The finished review keeps its figures and ranges, not the Monte Carlo draws
    behind them: a page cache pickles the review on every rerun."""
    if tb.ranges is None:
        return tb
    return dataclasses.replace(tb, ranges=None, scope_ranges=tb.ranges.total())
