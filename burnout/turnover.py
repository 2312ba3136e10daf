"""Turnover impact of burnout: money and clients (reference/turnover-models.md).

The core is the Shanafelt, Goh & Sinsky (2017) mixture model (turnover-models.md
§1).  An organisation's overall annual turnover ``T`` is a mix of the rate among
helpers who are not burned out (``T_nb``) and among those who are (``T_b``),
with burned-out helpers ``RR`` times as likely to leave (footnote d, RR ≈ 2;
Hamidi 2018 RR 2.1; §7)::

    T     = T_nb·(1 − BO) + RR·T_nb·BO
    T_nb  = T / (1 + (RR − 1)·BO)
    T_b   = RR·T_nb
    A     = BO·(T_b − T_nb)                 # burnout-attributable turnover rate
    leavers = N·A ;  cost = N·A·C
    # an intervention BO → BO' at annual cost K (Shanafelt Figure 3),
    # holding T_nb and T_b fixed so that the overall turnover falls:
    Savings = N·(BO − BO')·(T_b − T_nb)·C ;  ROI = (Savings − K) / K

Per helper the same model is read as a probability: a helper with probability
``q`` of being burned out leaves within 12 months with probability
``p = T_nb + (T_b − T_nb)·q`` (clipped to 1), of which
``q·(T_b − T_nb)`` is attributable to burnout.  ``T_nb`` and ``T_b`` are fixed
per team kind by splitting the kind's base turnover at the burnout prevalence
that base was *observed at*:

* national or role defaults (``Settings.base_turnover``) are split at the
  reference prevalence published with them (``Settings.reference_burnout_rate``
  with its ``reference_burnout_source``), so a team with more burnout than the
  reference expects more leavers than the base rate and one with less fewer:
  ``Σp = N·T·(1 + (RR−1)·BO_team) / (1 + (RR−1)·BO_ref)``;
* the organisation's own turnover — entered (``Settings.observed_turnover``)
  or counted from the roster's leavers over the last 12–24 months
  (``leaving.observed_turnover``, which scales the burnout-adjusted national
  rates by one pooled ratio of observed to expected leavers, still split at
  the reference prevalence) — so mean predicted leaving matches what it
  observed (calibration in the large) while kinds, teams and people still
  differ by burnout.  An entered rate is split at the organisation's own
  prevalence.

All of these are split at ONE prevalence for the whole roster (the mean over
the helpers of the prevalence each helper's base was observed at), so that
every figure moves with the relative risk through one common factor: an admin
who saves the relative risk again and again learns nothing a single save does
not tell (issue 10; see SPLIT in ``helper_impact``).

Every row says which base it used (``p_leave_basis``).

Clients affected = Σ p_leave × active caseload: the expected number of clients
who lose their helper within a year (a design proposal, §8; the harm per client
is described, not priced, by the continuity evidence texts below).

Everything editable is a field of ``burnout.domain.settings.Settings``;
functions take a Settings object, or a partial mapping of overrides.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Mapping

import numpy as np
import pandas as pd

from burnout import risk as R
from burnout.domain.settings import FrozenMap, Settings, resolve
from burnout.errors import InputError
from burnout.leaving import (DEFAULT_BURNOUT_MIDPOINT, DEFAULT_BURNOUT_SCALE, burnout_probability,
                             link_parameters)

__all__ = [
    "BASIS_LABELS", "DEFAULT_BURNOUT_MIDPOINT", "DEFAULT_BURNOUT_SCALE", "shanafelt", "split_turnover", "burnout_probability",
    "helper_impact", "helper_impact_under", "with_default_cost", "team_impact", "org_impact", "what_if",
]

# The risk -> burnout link (burnout_probability, its defaults) lives in
# burnout.leaving, which fits it; re-exported here for callers of this module.


def _link(s: Settings) -> tuple[float, float]:
    return link_parameters(s)


# --------------------------------------------------------------------------- #
# Organisation-level worksheet (Shanafelt 2017, Figures 2 and 3)
# --------------------------------------------------------------------------- #

def _number(name: str, value) -> float:
    """A finite number, else InputError (inf, nan and 1e400 are not amounts)."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    return value


def _check_rate(name: str, value: float) -> float:
    value = _number(name, value)
    if not (0.0 <= value <= 1.0):
        raise InputError(f"{name} must be a rate between 0 and 1, got {value!r}")
    return value


def split_turnover(turnover_rate, burnout_rate, relative_risk: float = 2.0):
    """Split overall turnover into the rates among non-burned-out and burned-out helpers.

    ``T_nb = T / (1 + (RR − 1)·BO)`` and ``T_b = RR·T_nb`` (turnover-models.md §1).
    Works on scalars and numpy arrays alike.
    """
    bo = np.asarray(burnout_rate, dtype=float)
    t_nb = np.asarray(turnover_rate, dtype=float) / (1.0 + (relative_risk - 1.0) * bo)
    t_nb = t_nb if t_nb.ndim else float(t_nb)
    return t_nb, relative_risk * t_nb


def shanafelt(helpers: float, burnout_rate: float, turnover_rate: float,
              cost_per_departure: float, relative_risk: float = 2.0,
              target_burnout_rate: float | None = None,
              intervention_cost: float | None = None) -> dict:
    """Burnout-attributable turnover and, with a target, intervention ROI.

    Shanafelt, Goh & Sinsky 2017 (JAMA Intern Med 177:1826), turnover-models.md §1::

        T_nb = T / (1 + (RR − 1)·BO)      T_b = RR·T_nb
        A    = BO·(T_b − T_nb)            leavers = N·A      cost = N·A·C
        Savings = N·(BO − BO')·(T_b − T_nb)·C      ROI = (Savings − K) / K

    ``T_nb`` and ``T_b`` stay fixed when burnout falls (Figure 3), so the
    overall turnover falls to ``T' = T_nb + (T_b − T_nb)·BO'``.

    Returns a JSON-able dict of plain floats with the keys
    ``turnover_not_burned_out, turnover_burned_out, attributable_turnover_rate,
    attributable_leavers, attributable_cost`` plus ``expected_leavers`` (N·T),
    ``expected_turnover_cost`` (N·T·C); with a target also ``savings, roi``,
    ``turnover_after, leavers_after, leavers_avoided,
    attributable_turnover_rate_after``.  ``roi`` is None when no (or a zero)
    intervention cost is given.  Money is rounded to cents.

    Example (the paper's own, §1a): 450 physicians, BO 0.50 → 0.40, T 7.5 %,
    $500k per departure, K $1M → A 2.5 %, 11.25 leavers, $5.625M, savings
    $1.125M, ROI 12.5 %.
    """
    n = _number("helpers", helpers)
    if n < 0:
        raise InputError(f"helpers must be zero or more, got {helpers!r}")
    bo = _check_rate("burnout rate", burnout_rate)
    t = _check_rate("turnover rate", turnover_rate)
    c = _number("cost per departure", cost_per_departure)
    if c < 0:
        raise InputError(f"cost per departure must be zero or more, got {cost_per_departure!r}")
    rr = _number("relative risk", relative_risk)
    if not rr > 0:
        raise InputError(f"relative risk must be above 0, got {relative_risk!r}")

    t_nb, t_b = split_turnover(t, bo, rr)
    a = bo * (t_b - t_nb)
    out = {
        "helpers": n,
        "burnout_rate": bo,
        "turnover_rate": t,
        "relative_risk": rr,
        "cost_per_departure": c,
        "turnover_not_burned_out": t_nb,
        "turnover_burned_out": t_b,
        "attributable_turnover_rate": a,
        "attributable_leavers": n * a,
        "attributable_cost": round(n * a * c, 2),
        "expected_leavers": n * t,
        "expected_turnover_cost": round(n * t * c, 2),
    }
    if target_burnout_rate is not None:
        bo2 = _check_rate("target burnout rate", target_burnout_rate)
        savings = round(n * (bo - bo2) * (t_b - t_nb) * c, 2)
        t_after = t_nb + (t_b - t_nb) * bo2
        roi = None
        if intervention_cost is not None:
            k = _number("intervention cost", intervention_cost)
            if k < 0:
                raise InputError(f"intervention cost must be zero or more, got {intervention_cost!r}")
            roi = (savings - k) / k if k > 0 else None
        out.update({
            "target_burnout_rate": bo2,
            "intervention_cost": None if intervention_cost is None else float(intervention_cost),
            "turnover_after": t_after,
            "leavers_after": n * t_after,
            "leavers_avoided": n * (bo - bo2) * (t_b - t_nb),
            "attributable_turnover_rate_after": bo2 * (t_b - t_nb),
            "savings": savings,
            "roi": roi,
        })
    return out


# --------------------------------------------------------------------------- #
# Per helper, team and organisation
# --------------------------------------------------------------------------- #

# What each row's probability of leaving rests on, in the words pages and exports show.
BASIS_LABELS = {
    "national": "from national defaults",
    "entered": "calibrated to the turnover your organisation entered",
    "observed": "calibrated to your organisation's turnover",
    "fitted": "fitted on your organisation",
}


def _lookup(keys: pd.Series, table: Mapping, default) -> pd.Series:
    """Map keys through ``table`` case-insensitively, ``default`` where absent."""
    lowered = {str(k).strip().lower(): v for k, v in (table or {}).items()}
    mapped = keys.astype("string").str.strip().str.lower().map(lowered)
    return mapped.astype(float).fillna(np.nan if default is None else float(default))


def _burnout_prob(frame: pd.DataFrame, s: Settings) -> pd.Series:
    """q per helper: an explicit ``p_burned_out`` wins, then the risk score, then
    a ``burned_out`` flag; NaN when none is known."""
    q = pd.Series(np.nan, index=frame.index, dtype=float)
    if "p_burned_out" in frame:
        q = pd.to_numeric(frame["p_burned_out"], errors="coerce").clip(0, 1)
    if "risk_score" in frame:
        from_risk = pd.Series(burnout_probability(pd.to_numeric(frame["risk_score"], errors="coerce"),
                                                  *_link(s)),
                              index=frame.index)
        q = q.fillna(from_risk)
    if "burned_out" in frame:
        flag = frame["burned_out"].map({True: 1.0, False: 0.0, 1: 1.0, 0: 0.0})
        q = q.fillna(pd.to_numeric(flag, errors="coerce"))
    return q


def helper_impact(roster: pd.DataFrame, risk_latest: pd.DataFrame | None = None,
                  settings: Settings | Mapping | None = None, calibration=None,
                  observed=None, pool_kinds: frozenset = frozenset()) -> pd.DataFrame:
    """Expected leaving, cost and clients affected per helper in ``roster``.

    ``roster`` needs ``helper_id``; it uses ``team, team_kind, role,
    annual_salary`` when present.  ``risk_latest`` (one row per helper, e.g.
    ``risk.latest_risk``) supplies ``risk_score`` and ``active_cases``; an
    explicit ``p_burned_out`` or a ``burned_out`` flag also works.

    Per helper, with T the base turnover of the team kind and q the probability
    of being burned out (logistic in the risk, ``leaving.burnout_probability``)::

        T, BO_ref    = national base and the reference prevalence it was observed at
                       | the organisation's entered turnover and its own prevalence now
                       | ``observed`` (leaving.observed_turnover): the national rate scaled
                         to its own leavers, a 12-month chance at its mean rate
        BO_ref       = one value: the mean of the helpers' BO_ref
        T_nb, T_b    = split_turnover(T, BO_ref, RR)
        p_leave_12m  = min(1, T_nb + (T_b − T_nb)·q)        (q unknown: the kind's prevalence)
        attributable = (T_b − T_nb)·q  (= p_leave_12m·(RR − 1)·q / (1 + (RR − 1)·q) below 1)
        cost         = annual_salary × multiplier(role)  or  the absolute figure for the role
        expected_turnover_cost = p_leave_12m × cost
        clients_affected       = p_leave_12m × active_cases

    ``pool_kinds``: kinds of team whose helpers all take one base turnover, the mean
    of theirs (the release gate's pooling of kinds with hidden teams, see
    views.review.turnover_impact).

    With a fitted ``calibration`` (``leaving.CalibrationResult`` with ``used ==
    'fitted'``) the organisation's own model gives ``p_leave_12m`` instead, and
    its attributable part is ``p_leave_12m`` times the population-attributable
    fraction ``BO_ref·(RR − 1) / (1 + (RR − 1)·BO_ref)``.

    Returns one row per roster helper: ``helper_id, team, team_kind, role,
    risk_score, p_burned_out, base_turnover, reference_prevalence,
    turnover_not_burned_out, turnover_burned_out, p_leave_12m, p_leave_basis,
    attributable_p_leave, cost_per_departure, expected_turnover_cost,
    attributable_cost, active_cases, clients_affected,
    attributable_clients_affected``.  Unknown inputs give NaN, never 0.
    """
    s = resolve(settings)
    rr = float(s.relative_risk)
    df = roster.copy()
    for col in ("team", "team_kind", "role", "annual_salary"):
        if col not in df:
            df[col] = np.nan
    df = df.drop_duplicates("helper_id")
    if risk_latest is not None and len(risk_latest):
        keep = [c for c in risk_latest.columns if c not in ("team", "team_kind", "role", "annual_salary")]
        df = df.merge(risk_latest[keep].drop_duplicates("helper_id"), on="helper_id", how="left")
    for col in ("risk_score", "active_cases"):
        if col not in df:
            df[col] = np.nan
    df = df.reset_index(drop=True)

    q = _burnout_prob(df, s)
    kind_key = df["team_kind"].astype("string").fillna("(unknown)")
    # the organisation's own prevalence per kind now (a kind with no estimate
    # borrows the organisation's; with none anywhere it stays unknown, never 0)
    own = q.groupby(kind_key).transform("mean").fillna(q.mean())

    national = _lookup(df["team_kind"], s.base_turnover, s.default_base_turnover)
    ref = s.reference_burnout_rate
    if isinstance(ref, Mapping):
        bo_ref = _lookup(df["team_kind"], ref, None)
    elif ref is not None:
        bo_ref = pd.Series(float(ref), index=df.index)
    else:
        bo_ref = pd.Series(np.nan, index=df.index)
    # no reference prevalence configured: the organisation's own (then its
    # expected leavers equal N·T, the split only redistributes them)
    org_prevalence = q.mean()
    bo_ref = bo_ref.fillna(org_prevalence)
    base = national.copy()
    basis = pd.Series("national", index=df.index, dtype=object)

    if observed is not None and getattr(observed, "used", False):
        obs_rate = pd.Series([observed.rate_for(k if isinstance(k, str) else None, n)
                              for k, n in zip(df["team_kind"], national)], index=df.index, dtype=float)
        ok = obs_rate.notna()
        # the organisation's own count is leavers per helper-year: its 12-month chance is
        # 1 − exp(−rate), taken at the organisation's mean rate R as one factor for every
        # kind, (1 − e^−R)/R (one curve per kind would separate the kinds, see SPLIT below)
        mean_rate = float(obs_rate[ok].mean()) if ok.any() else float("nan")
        to_chance = -np.expm1(-mean_rate) / mean_rate if mean_rate > 0 else 1.0
        base = base.where(~ok, obs_rate * to_chance)
        basis = basis.where(~ok, "observed")
    entered = dict(s.observed_turnover or {})
    if entered:
        rate = kind_key.map({str(k): float(v) for k, v in entered.items()}).astype(float)
        if "all" in entered:
            rate = rate.fillna(float(entered["all"]))
        ok = rate.notna()
        base = base.where(~ok, rate)
        bo_ref = bo_ref.where(~ok, org_prevalence)
        basis = basis.where(~ok, "entered")

    if pool_kinds:
        pooled = kind_key.isin({str(k) for k in pool_kinds}).to_numpy() & base.notna().to_numpy()
        if pooled.any():
            base = base.where(~pooled, float(base[pooled].mean()))

    # SPLIT: every helper's base is split at ONE prevalence for the whole roster (the
    # helper-weighted mean of the prevalences the bases were observed at), never at one
    # per kind of team.  Then each helper's chance of leaving is
    #     p = T·(1 + (q − BO)·φ)   and its burnout-attributable part   T·q·φ,   φ = (RR−1)/(1 + (RR−1)·BO),
    # so every figure of every group moves with the relative risk through the one factor φ:
    # a group's figures under any number of saved relative risks say no more than under
    # one (two sums over its people).  With a prevalence per kind each kind had its own
    # pole in RR, and seven saved values separated a hidden team of 4 alone of its kind
    # (issue 10; tests/test_attack_levers.py).
    bo_split = float(bo_ref.mean()) if bo_ref.notna().any() else float("nan")
    bo_ref = pd.Series(bo_split, index=df.index, dtype=float)
    t_nb, t_b = split_turnover(base.to_numpy(), bo_ref.to_numpy(), rr)
    # a helper whose burnout is unknown counts at the kind's prevalence: not
    # "not burned out"; with no estimate anywhere, at the reference (p = T)
    q_used = q.fillna(own).fillna(bo_ref)
    lam = t_nb + (t_b - t_nb) * q_used.to_numpy()
    # above 1 only where T_b > 1: the release gate then shows no group's figures
    # (disclosure.turnover_withheld), as a cut at 1 per helper would be non-linear in RR
    p_leave = pd.Series(np.minimum(1.0, lam), index=df.index)
    p_leave = p_leave.fillna(base)
    # For p_leave = T this is exactly Shanafelt's population-attributable rate
    # A = BO·(RR−1)·T / (1 + (RR−1)·BO); NaN when no burnout is known anywhere.
    q_known_or_prevalence = q.fillna(own)
    attr_p = pd.Series(np.minimum((t_b - t_nb) * q_known_or_prevalence.to_numpy(), p_leave.to_numpy()),
                       index=df.index)
    if calibration is not None and getattr(calibration, "used", None) == "fitted":
        fitted = pd.Series(np.asarray(calibration.predict_p_leave(df), dtype=float), index=df.index)
        basis = basis.where(fitted.isna(), "fitted")
        p_leave = fitted.fillna(p_leave)
        # the fitted chance times the organisation's population-attributable fraction
        # BO·(RR−1)/(1 + (RR−1)·BO) = BO·φ: the same one factor φ (a share of each helper's
        # own fitted chance that grew with their own q would give each helper a pole in RR)
        paf = bo_split * (rr - 1.0) / (1.0 + (rr - 1.0) * bo_split)
        attr_p = attr_p.where(fitted.isna(), fitted * paf).where(q_known_or_prevalence.notna())

    cost = _lookup(df["role"], s.cost_per_departure, None)
    salary = pd.to_numeric(df["annual_salary"], errors="coerce")
    if s.default_annual_salary is not None:
        salary = salary.fillna(float(s.default_annual_salary))
    mult = _lookup(df["role"], s.cost_multiplier, s.default_cost_multiplier)
    cost = cost.fillna(salary * mult)
    cases = pd.to_numeric(df["active_cases"], errors="coerce")

    out = pd.DataFrame({
        "helper_id": df["helper_id"],
        "team": df["team"],
        "team_kind": df["team_kind"],
        "role": df["role"],
        "risk_score": pd.to_numeric(df["risk_score"], errors="coerce"),
        "p_burned_out": q,
        "base_turnover": base,
        "reference_prevalence": bo_ref,
        "turnover_not_burned_out": t_nb,
        "turnover_burned_out": t_b,
        "p_leave_12m": p_leave,
        "p_leave_basis": basis.map(BASIS_LABELS),
        "attributable_p_leave": attr_p,
        "cost_per_departure": cost,
        "expected_turnover_cost": p_leave * cost,
        "attributable_cost": attr_p * cost,
        "active_cases": cases,
        "clients_affected": p_leave * cases,
        "attributable_clients_affected": attr_p * cases,
    })
    return out


def with_default_cost(settings: Settings, roles: frozenset, salary_default: bool = True) -> Settings:
    """``settings`` with ``roles`` (lower case) on the default replacement cost: their own
    multiplier and fixed amount are not used; without ``salary_default`` no saved default
    salary stands in for a missing one (``disclosure.roles_on_default_cost`` and
    ``disclosure.salary_default_usable`` say when, and why)."""
    if not salary_default and settings.default_annual_salary is not None:
        settings = dataclasses.replace(settings, default_annual_salary=None)
    if not roles:
        return settings

    def keep(table: Mapping) -> FrozenMap:
        return FrozenMap({k: v for k, v in table.items() if str(k).strip().lower() not in roles})
    return dataclasses.replace(settings, cost_multiplier=keep(settings.cost_multiplier),
                               cost_per_departure=keep(settings.cost_per_departure))


def helper_impact_under(model, roster: pd.DataFrame, risk_latest: pd.DataFrame | None = None,
                        settings: Settings | Mapping | None = None, pool_kinds: frozenset = frozenset()) -> pd.DataFrame:
    """:func:`helper_impact` under a ``leaving.LeavingModel``: its fitted Cox
    probability of leaving when accepted (else the Shanafelt mixture), its
    fitted risk → burnout link unless an admin set one, and the organisation's
    own recent turnover when the roster holds it.  The ``risk`` command and the
    HR review both call this, so they always agree."""
    return helper_impact(roster, risk_latest, model.turnover_settings(settings), calibration=model.calibration,
                         observed=getattr(model, "observed", None), pool_kinds=pool_kinds)


def _aggregate(g: pd.DataFrame) -> dict:
    sums = lambda col: float(g[col].sum(min_count=1)) if g[col].notna().any() else float("nan")  # noqa: E731
    return {
        "helpers": int(len(g)),
        "helpers_with_risk": int(g["risk_score"].notna().sum()),
        "burnout_prevalence": float(g["p_burned_out"].mean()) if g["p_burned_out"].notna().any() else float("nan"),
        "expected_leavers": sums("p_leave_12m"),
        "expected_turnover_cost": sums("expected_turnover_cost"),
        "attributable_leavers": sums("attributable_p_leave"),
        "attributable_cost": sums("attributable_cost"),
        "clients_affected": sums("clients_affected"),
        "attributable_clients_affected": sums("attributable_clients_affected"),
        # a total that silently skipped helpers would read as complete
        "helpers_without_cost": int(g["cost_per_departure"].isna().sum()),
        "helpers_without_caseload": int(g["active_cases"].isna().sum()),
    }


def team_impact(impact: pd.DataFrame, settings: Settings | Mapping | None = None) -> pd.DataFrame:
    """Sum ``helper_impact`` rows per team.

    Columns: ``team, team_kind, helpers, helpers_with_risk, burnout_prevalence,
    expected_leavers, expected_turnover_cost, attributable_leavers,
    attributable_cost, clients_affected, attributable_clients_affected,
    helpers_without_cost, helpers_without_caseload, continuity_evidence``.
    Sums skip unknown values and the ``helpers_without_*`` counts say how many.
    Minimum-group suppression is privacy.py's job; ``helpers_with_risk`` is the
    respondent count it needs.
    """
    s = resolve(settings)
    keys = impact["team"].astype("string").fillna("(no team)").rename("team")
    out = group_impact(impact, keys)
    kind = impact["team_kind"].groupby(keys, sort=True).first()     # the first known kind of each team
    out.insert(0, "team_kind", [k if isinstance(k, str) else None for k in kind.reindex(out.index)])
    out = out.reset_index()
    out["team"] = out["team"].astype(object)
    out["continuity_evidence"] = [s.continuity_for(k) for k in out["team_kind"]]
    cols = ["team", "team_kind", "helpers", "helpers_with_risk", "burnout_prevalence",
            "expected_leavers", "expected_turnover_cost", "attributable_leavers", "attributable_cost",
            "clients_affected", "attributable_clients_affected", "helpers_without_cost",
            "helpers_without_caseload", "continuity_evidence"]
    return out[cols] if len(out) else pd.DataFrame(columns=cols)


def group_impact(impact: pd.DataFrame, by: pd.Series) -> pd.DataFrame:
    """The ``_aggregate`` figures of ``helper_impact`` rows per value of ``by`` (a
    Series aligned with ``impact``; its name names the index; missing values are
    left out), sorted by value: a review of hundreds of teams sorts the rows once
    and sums each team's slice with the same arithmetic as ``_aggregate``."""
    codes, uniques = pd.factorize(by, sort=True)
    order = np.argsort(codes, kind="stable")
    order = order[codes[order] >= 0]
    edges = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    spans = list(zip(edges[:-1], edges[1:]))

    def column(col):
        v = impact[col].to_numpy(float)[order]
        return v, np.isnan(v), np.where(np.isnan(v), 0.0, v)

    out = pd.DataFrame(index=pd.Index(uniques, name=by.name))
    out["helpers"] = [int(hi - lo) for lo, hi in spans]
    _, missing, _ = column("risk_score")
    out["helpers_with_risk"] = [int((~missing[lo:hi]).sum()) for lo, hi in spans]
    _, missing, filled = column("p_burned_out")
    # Series.mean and Series.sum: NaN filled with 0, summed, divided by the count known
    out["burnout_prevalence"] = [filled[lo:hi].sum() / (~missing[lo:hi]).sum() if (~missing[lo:hi]).any()
                                 else np.nan for lo, hi in spans]
    for name, col in (("expected_leavers", "p_leave_12m"), ("expected_turnover_cost", "expected_turnover_cost"),
                      ("attributable_leavers", "attributable_p_leave"), ("attributable_cost", "attributable_cost"),
                      ("clients_affected", "clients_affected"),
                      ("attributable_clients_affected", "attributable_clients_affected")):
        _, missing, filled = column(col)
        out[name] = [float(filled[lo:hi].sum()) if (~missing[lo:hi]).any() else np.nan for lo, hi in spans]
    for name, col in (("helpers_without_cost", "cost_per_departure"), ("helpers_without_caseload", "active_cases")):
        _, missing, _ = column(col)
        out[name] = [int(missing[lo:hi].sum()) for lo, hi in spans]
    return out.astype({"helpers": int, "helpers_with_risk": int, "burnout_prevalence": float,
                       "helpers_without_cost": int, "helpers_without_caseload": int})


def org_impact(impact: pd.DataFrame, settings: Settings | Mapping | None = None) -> dict:
    """Organisation totals of ``helper_impact`` rows, plus evidence per team kind.

    Returns a JSON-able dict: the ``_aggregate`` figures (see ``team_impact``)
    and ``continuity_evidence`` mapping each team kind present to its text.
    """
    s = resolve(settings)
    out = _aggregate(impact)
    kinds = sorted(set(impact["team_kind"].dropna().astype(str)))
    out["continuity_evidence"] = {k: s.continuity_for(k) for k in kinds}
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}


# --------------------------------------------------------------------------- #
# What-if
# --------------------------------------------------------------------------- #

def _capped_risk(risk_latest: pd.DataFrame, weights: dict | None) -> pd.Series:
    """Risk with each helper's caseload capped at the role standard.

    Assumed mechanism: cases above the standard move to other (new) staff, so
    the active, high-acuity and outside-specialty counts shrink by the same
    factor ``min(1, standard/active)``; the caseload component is recomputed
    at the capped ratio.  Trauma exposures, incidents, overtime and the
    self-reported scores are left as they are: we do not assume that capping
    improves them, so the estimate is conservative.
    """
    comps = risk_latest.copy()
    ratio = pd.to_numeric(comps.get("caseload_ratio"), errors="coerce")
    if ratio is None or not ratio.notna().any():
        return pd.to_numeric(comps["risk_score"], errors="coerce")
    shrink = np.minimum(1.0, 1.0 / ratio.where(ratio > 0))
    capped = {"caseload": np.minimum(ratio, 1.0)}
    for name, raw in (("acuity", "acuity_rel"), ("mismatch", "mismatch_rel")):
        if raw in comps:
            capped[name] = pd.to_numeric(comps[raw], errors="coerce") * shrink
    for name, raw in capped.items():
        col = f"c_{name}"
        if col in comps:
            new = R.pressure(name, np.asarray(raw, dtype=float))
            old = pd.to_numeric(comps[col], errors="coerce").to_numpy()
            # capping never raises a pressure, and a missing component stays missing
            comps[col] = np.where(np.isnan(new), old, np.minimum(old, new))
    recomputed = R.combine(comps, weights)
    return recomputed.where(recomputed.notna(), pd.to_numeric(comps["risk_score"], errors="coerce"))


def capped_helpers(risk_latest: pd.DataFrame, weights: dict | None = None) -> set:
    """The helpers whose risk capping caseloads changes (what_if's ``cap_caseload`` moves
    only theirs, so its figures are sums over them alone)."""
    if risk_latest is None or not len(risk_latest) or "caseload_ratio" not in risk_latest:
        return set()
    rl = risk_latest.drop_duplicates("helper_id").reset_index(drop=True)
    old = pd.to_numeric(rl["risk_score"], errors="coerce").to_numpy(dtype=float)
    new = _capped_risk(rl, weights).to_numpy(dtype=float)
    moved = ~np.isnan(old) & ~np.isnan(new) & (np.abs(new - old) > 1e-9)
    return set(rl.loc[moved, "helper_id"])


def what_if(roster: pd.DataFrame, risk_latest: pd.DataFrame, settings: Settings | Mapping | None = None,
            burnout_reduction_points: float = 0, cap_caseload: bool = False,
            intervention_cost: float = 0, weights: dict | None = None, calibration=None,
            pool_kinds: frozenset = frozenset(), memo: dict | None = None) -> dict:
    """Expected leavers, cost and clients before and after a scenario.

    ``burnout_reduction_points`` lowers burnout *prevalence* by that many
    percentage points (10 = 50 % → 40 %), as in Shanafelt Figure 3: each
    helper's probability of being burned out is scaled by ``(BO − r)/BO`` so
    the mean falls by exactly ``r``.  Prevalence cannot fall below 0 %: a
    larger reduction is capped at ``BO``, and the result says so
    (``burnout_reduction_applied_points``, ``burnout_reduction_capped`` and
    the assumptions text report what was actually applied).  ``cap_caseload`` first
    caps every caseload at the role standard (see ``_capped_risk`` for the
    assumed mechanism) and re-derives the probabilities from the new risk.
    ``T_nb`` and ``T_b`` per kind stay fixed at their *before* values, so the
    overall turnover falls::

        leavers  = Σ T_nb + (T_b − T_nb)·q_i          (before: q, after: q')
        saved    = Σ (p_i − p'_i)·C_i        ROI = (saved − K) / K

    Returns a JSON-able dict: ``expected_leavers_before/after``,
    ``leavers_avoided``, ``expected_cost_before/after``, ``cost_saved``,
    ``clients_affected_before/after``, ``clients_spared``,
    ``burnout_prevalence_before/after``, ``burnout_reduction_requested_points``,
    ``burnout_reduction_applied_points``, ``burnout_reduction_capped``,
    ``intervention_cost``, ``roi`` (None when K = 0) and ``assumptions``
    (plain-text list).

    The *change* always comes from the mixture model, because only the mixture
    says how leaving changes when burnout does.  With a fitted ``calibration``
    (as used for the turnover table, ``risk.leaving_model``) the *before*
    figures are the fitted ones and each helper's leaving probability falls by
    the mixture's ``(T_b − T_nb)·(q − q')``, so "now" matches the table; not cut at 0 per
    helper (a cut would bend each figure at one helper's own reduction, issue 10).

    ``memo``: a dict kept by a caller that asks for several scenarios and relative risks
    on the same ``roster``, ``risk_latest``, ``weights``, ``calibration``, ``pool_kinds``
    (uncertainty.what_if_ranges, the review's levers, which vary ``relative_risk``):
    the helpers' *before* figures per settings and their capped-caseload
    risk are worked out once there instead of once per call (read-only results: it may
    be shared between threads).
    """
    s = resolve(settings)
    r = float(burnout_reduction_points) / 100.0
    if r < 0 or r > 1:
        raise InputError(f"burnout reduction must be between 0 and 100 points, got {burnout_reduction_points!r}")
    fitted = calibration is not None and getattr(calibration, "used", None) == "fitted"
    # keyed on the whole settings, not only the relative risk the callers vary: a memo handed
    # settings that differ in anything else then works the figures out again, never reuses them
    key = ("before", s)
    before = None if memo is None else memo.get(key)
    if before is None:
        before = helper_impact(roster, risk_latest, s, calibration=calibration if fitted else None,
                               pool_kinds=pool_kinds)
        if memo is not None:
            before = memo.setdefault(key, before)
    q_after = before["p_burned_out"].copy()
    assumptions = [
        f"Burned-out helpers are {s.relative_risk:g} times as likely to leave (Shanafelt 2017; Hamidi 2018).",
        "Turnover among burned-out and not burned-out helpers stays fixed; only how many are burned out "
        "changes (Shanafelt 2017, Figure 3).",
    ]
    if cap_caseload and risk_latest is not None and "caseload_ratio" in risk_latest:
        # the helpers and their risk are the same under every relative risk: only the link reads s
        key = ("capped", _link(s))
        q_new = None if memo is None else memo.get(key)
        if q_new is None:
            rl = risk_latest.drop_duplicates("helper_id").reset_index(drop=True)
            new_risk = pd.Series(_capped_risk(rl, weights).to_numpy(), index=rl["helper_id"])
            risk_after = before["helper_id"].map(new_risk).fillna(before["risk_score"])
            q_new = pd.Series(burnout_probability(risk_after, *_link(s)),
                              index=before.index)
            if memo is not None:
                q_new = memo.setdefault(key, q_new)
        # an explicitly given probability is not a function of the risk, so it stays
        if "p_burned_out" not in risk_latest.columns:
            q_after = q_new.where(before["risk_score"].notna(), q_after)
        assumptions.append(
            "Capping caseloads moves cases above the role standard to other staff; the caseload, "
            "high-acuity and outside-specialty parts of the risk are recomputed, everything else "
            "(self-reported scores, trauma exposures, overtime) is left unchanged.")
    applied = 0.0
    if r > 0:
        bo = q_after.mean()
        if not (bo > 0):   # NaN (no estimate) or already 0 %
            assumptions.append(f"Burnout prevalence was to fall by {r * 100:g} percentage points, but "
                               + ("there is no burnout estimate to lower" if pd.isna(bo) else
                                  "it is already estimated at 0 %") + ", so it is unchanged.")
        else:
            applied = min(r, float(bo))
            q_after = q_after * ((bo - applied) / bo)
            if applied < r - 1e-12:
                assumptions.append(
                    f"Burnout prevalence was to fall by {r * 100:g} percentage points, but it is estimated at "
                    f"{bo * 100:.1f} % and cannot go below 0 %, so the reduction is capped at "
                    f"{applied * 100:.1f} points (to 0 %).")
            else:
                assumptions.append(f"Burnout prevalence falls by {r * 100:g} percentage points, spread in "
                                   "proportion to each helper's current probability.")
    t_nb = before["turnover_not_burned_out"]
    t_b = before["turnover_burned_out"]
    if fitted:
        # the organisation's own model says how many leave now; the mixture says by how much less.
        # Not cut at 0 per helper: where the mixture's change passes a helper's fitted chance, a
        # cut bends every group's figure at that helper's own reduction, and reductions swept on
        # the page found their burnout and fitted chance (issue 10, tests/test_attack_levers.py).
        # Whole, every figure is a line in the reduction and in the one factor T·φ: group sums.
        p_after = before["p_leave_12m"] - (t_b - t_nb) * (before["p_burned_out"] - q_after)
        p_after = p_after.fillna(before["p_leave_12m"])
        assumptions.append("Leaving now comes from the organisation's own fitted model; the scenario lowers it "
                           "by the burnout effect of the mixture model.")
    else:
        p_after = np.minimum(1.0, t_nb + (t_b - t_nb) * q_after).fillna(before["p_leave_12m"])
    cost_after = p_after * before["cost_per_departure"]
    clients_after = p_after * before["active_cases"]

    def total(x):
        x = pd.Series(x)
        return float(x.sum()) if x.notna().any() else None

    k = float(intervention_cost or 0)
    exp_before, exp_after = total(before["p_leave_12m"]), total(p_after)
    cost_b, cost_a = total(before["expected_turnover_cost"]), total(cost_after)
    cl_b, cl_a = total(before["clients_affected"]), total(clients_after)
    saved = None if cost_b is None else round(cost_b - cost_a, 2)
    return {
        "helpers": int(len(before)),
        "expected_leavers_before": exp_before,
        "expected_leavers_after": exp_after,
        "leavers_avoided": None if exp_before is None else exp_before - exp_after,
        "expected_cost_before": None if cost_b is None else round(cost_b, 2),
        "expected_cost_after": None if cost_a is None else round(cost_a, 2),
        "cost_saved": saved,
        "clients_affected_before": cl_b,
        "clients_affected_after": cl_a,
        "clients_spared": None if cl_b is None else cl_b - cl_a,
        "burnout_prevalence_before": (float(before["p_burned_out"].mean())
                                      if before["p_burned_out"].notna().any() else None),
        "burnout_prevalence_after": float(q_after.mean()) if q_after.notna().any() else None,
        "burnout_reduction_requested_points": r * 100,
        "burnout_reduction_applied_points": applied * 100,
        "burnout_reduction_capped": bool(applied < r - 1e-12),
        "intervention_cost": k,
        "roi": (saved - k) / k if (k > 0 and saved is not None) else None,
        "assumptions": assumptions,
    }
