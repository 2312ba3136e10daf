"""Burnout risk 0–100 per helper per week, its drivers, and calibration.

Model (DESIGN §8; docs/MODELS.md).  Every input becomes a *pressure*
``p ∈ [0, 1]``.  A self-reported score is anchored on its instrument's
published norms (``measures.NORM_SHARES``): the score 40 % of a normative
population reach maps to 0.40 and the score 16 % reach to 0.65 — the same
numbers as the risk bands — linear in the normative z-score in between and
beyond (clipped to 0–1), so "moderate" and "high" select similar shares on
every instrument (the pulse, without published norms, keeps its own bands).  The pressures then play two roles:

* the helper's **own answers** set the level.  ``S`` is the weighted mean of
  the self-reported pressures that are available (ProQOL burnout and STS, the
  three CBI scales, the single item, the weekly pulse, low compassion
  satisfaction);
* **workload and context** (trend, caseload, acuity, trauma, incidents,
  overtime, mismatch, missed check-ins) can only *raise* it.  Each context
  input counts only by how far it is above its normal level ``a_k``, as a
  share of the room left above it, and ``E`` is the weighted sum of those
  excesses over *all* context weights (a context input that is not recorded
  adds nothing and lowers the confidence instead)::

    S          = Σ_self,avail w_k·p_k / Σ_self,avail w_k
    x_k        = max(0, p_k − a_k) / (1 − a_k)          (context k; 0 when missing)
    E          = Σ_context w_k·x_k / Σ_context w_k       (0 … 1)
    risk       = 100 · (S + (1 − S)·α·E)                  α = CONTEXT_ALPHA = 0.25
    confidence = Σ_available w_k / Σ_all w_k
    band       = low (< 40) | moderate (40 – < 65) | high (≥ 65)

So every answer at its instrument's normative high anchor scores 65 (high)
and at the moderate anchor 40, whatever the workload; a normal workload (at the
role standard, no rise, a few missed check-ins) never pulls the score down;
and more overload never lowers it (the risk rises with S because αE < 1, and
with every x_k).  ``α = 0.25``: the workload can lift the score by at most a
quarter of the room left above the answers.  Caseload and the other workplace
inputs act on leaving *through* exhaustion (Kim & Kao 2014: caseload did not
predict turnover intention directly; Chung & Choo 2019), so once the answers
are known they add little about who will leave — counting them fully counts
the same strain twice.  They nudge the score and, above all, name the causes.
On development organisations (benchmarks/develop_risk.py, seeds 101–106, never
the validation's) every step down from α = 0.9 (the first version) through 0.5
to 0.25 ranked 12-month leavers better.  Moderate answers with every context
input at its high threshold (E ≈ 0.46) score about 47; one factor alone moves a
score by a point or two.

Without any self-reported score in its window (``MAX_AGE_WEEKS``) there is
**no risk score** (NaN, empty band): a caseload log alone says nothing about how
a person is doing.  The drivers may still name the workload, and
``confidence`` says how much was known.  A helper with only the weekly pulse
gets a score from the pulse alone, with the pulse's low weight showing as a
low confidence.  A missing input is never counted as zero.

Components, default weights and the evidence behind them (section numbers are
reference/turnover-models.md).  Self-report weights are relative to each other
(S re-normalises over the available ones); context weights are relative to the
context total (0.40):

===============  ======  =====================================================
component        weight  input and evidence
===============  ======  =====================================================
*self-report: sets the level S*
burnout          0.12    ProQOL burnout, 10–50 (norm 22.8 ± 5.4).  Burnout is the
                         strongest predictor of leaving (Mor Barak 2001, §7).
cbi_work         0.12    CBI work-related burnout, 0–100 (norm 33.0 ± 17.6).
                         Emotional exhaustion → intent to leave β = 0.52
                         (Chung & Choo 2019, §7).
cbi_personal     0.08    CBI personal burnout (exhaustion), 0–100.
cbi_client       0.06    CBI client-related burnout, 0–100 (Kristensen 2005):
                         one facet (work with clients) of the exhaustion above.
sts              0.03    ProQOL secondary traumatic stress, 10–50.  STS acts
                         on leaving mostly through exhaustion (Chung & Choo
                         2019: β = 0.09 against 0.52 for exhaustion; §9), so
                         about a quarter of the exhaustion weight.
sib              0.08    single-item burnout 1–5, ≥ 3 = burning out; r = 0.64
                         with MBI exhaustion (Rohland 2004; Dolan 2015).
pulse_strain     0.07    weekly pulse strain 0–100: the project's own screening
                         pulse, not a validated measure, hence a lower weight.
low_cs           0.04    ProQOL compassion satisfaction, protective: low
                         satisfaction raises the pressure; a resource, not
                         burnout itself, hence a third of the burnout weight.
*context: can only raise the level (normal level a_k in brackets)*
trend            0.08    [a = 0: no rise] the steepest sustained rise among the
                         scores above (slope over recent administrations, less
                         two standard errors, so one noisy point does not count).
caseload         0.08    [a = 0.40: at the role standard] active cases / (role
                         standard × FTE), 4-week mean (CWLA standards, §9).
                         Kept modest: caseload did not predict turnover
                         intention directly (Kim & Kao 2014), it works through
                         stress and exhaustion.
acuity           0.04    [a = 0.40: 25 % of the standard] high-acuity cases
                         relative to the role standard.
trauma           0.05    [a = 0.40: 2 a week] trauma exposures per FTE-week,
                         4-week mean; exposure → STS → distress (PMC7671948;
                         Bride 2007, §9).
incidents        0.04    [a = 0.40: 1 in 8 weeks] critical incidents in the
                         last 8 weeks.
overtime         0.05    [a = 0.40: 4 h a week] overtime hours per week, 4-week
                         mean (role overload β = 0.12 via exhaustion, Chung &
                         Choo 2019).
mismatch         0.03    [a = 0.40: 15 % of the standard] cases outside the
                         helper's specialties relative to the role standard
                         (role stress, Kim & Stoner 2008).
missed_checkins  0.03    [a = 0.40: 2 of 6 weeks] share of the last 6 completed
                         weeks without a check-in (Peakon: leavers respond
                         15 % less often).
===============  ======  =====================================================

The weights are judgement informed by the cited effect sizes, not fitted
values (``MODEL_VERSION`` names this set: the stored helper weeks are recomputed
when it changes); ``calibrate`` fits the organisation's own model of leaving once it has
enough separations, and ``leaving_model`` decides — for the ``risk`` command
and the HR review alike — whether that model or the documented defaults give
the probability of leaving.

Acuity and specialty mismatch are measured against the role *standard*, not
the current caseload, so that adding cases never lowers the risk (a share of
the current caseload would fall as the caseload grows).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from burnout import instruments
from burnout.domain import measures
from burnout.domain.settings import Settings, client_word_for, resolve
from burnout.domain.time import monday_day_numbers

logger = logging.getLogger(__name__)

__all__ = [
    "CAUSES", "COMPONENTS", "COMPONENT_LABELS", "CONTEXT", "CONTEXT_ALPHA", "DEFAULT_WEIGHTS", "MODEL_VERSION",
    "NORMAL_PRESSURE",
    "SELF_REPORT", "SIGNALS", "SUGGESTED_ACTIONS", "SYMPTOMS", "band", "combine", "compute_risk", "driver_points",
    "latest_risk", "points_added", "pressure", "team_causes", "team_symptoms", "top_drivers",
]

RISK = measures.get("risk_score")
# Changes whenever the formula, a default weight or a window changes, so that
# the materialised helper weeks (burnout/materialise.py) are rebuilt on upgrade.
MODEL_VERSION = "2026-11-28 weights 12/12/8/6/3/8/7/4, level windows 8/8/12/1, alpha 0.25"

# A component names a driver only when it is clearly elevated: above the
# midpoint between its moderate and high thresholds (0.40/0.65 → 0.5) ...
DRIVER_MIN_PRESSURE = 0.5
# ... and drivers are ranked by how many risk points they add: a self-report by
# its share of S above the moderate threshold, 100·w·(p − 0.40)/Σw_self, a
# context input by what it adds on top of S, 100·(1 − S)·α·w·x/Σw_context.
DRIVER_REFERENCE = 0.40


@dataclass(frozen=True)
class Component:
    name: str
    weight: float
    xp: tuple          # raw-value anchors (increasing)
    fp: tuple          # pressures at the anchors


_UP = (0.0, 0.40, 0.65, 1.0)

# Self-reported components and the score each reads (burnout.domain.measures).
SELF_MEASURE = {"burnout": "burnout", "cbi_work": "work_burnout", "cbi_personal": "personal_burnout",
                "cbi_client": "client_burnout", "sts": "secondary_traumatic_stress", "sib": "sib_level",
                "pulse_strain": "pulse_strain", "low_cs": "compassion_satisfaction"}


def _edge_anchors(measure_id: str) -> tuple[float, float]:
    """The low/moderate and moderate/high edges of a measure's own bands (the
    instrument YAML).  On a sum of whole-number answers (ProQOL) an edge lies
    half a point between the last score of one band and the first of the next
    (s <= 22 low, 23 moderate: 22.5; s < 42: 41.5); on a mean it is the edge."""
    m = measures.get(measure_id)
    sub = next(s for s in instruments.load(m.instrument).subscales if s.column == measure_id)
    half = 0.5 if sub.method == "sum" else 0.0
    out = []
    for b in m.bands[:2]:
        out.append(b.up_to + half if b.up_to is not None else b.below - half)
    return out[0], out[1]


def _self_component(name: str, weight: float) -> "Component":
    """A self-report component anchored on its instrument's published norms.

    The moderate anchor (pressure 0.40) is the score that 40 % of a normative
    population reaches and the high anchor (0.65) the score 16 % reach
    (``measures.NORM_SHARES``), so "moderate" and "high" select similar shares
    on every instrument (issue: a normative ProQOL burnout of 22.8 used to sit
    at the moderate edge while a normative CBI work score of 33 sat at 0.26).
    A measure without published norms (the project's own weekly pulse) keeps
    its own band edges.  The bands a helper sees are the manual's, unchanged."""
    m = measures.get(SELF_MEASURE[name])
    lo, hi = m.range
    a = m.norm_anchor(measures.NORM_SHARES[0])
    b = m.norm_anchor(measures.NORM_SHARES[1])
    if a is None:
        a, b = _edge_anchors(m.id)
        if not m.higher_is_worse:
            return Component(name, weight, (lo, b, a, hi), (1.0, 0.65, 0.40, 0.0))
        return Component(name, weight, (lo, a, b, hi), _UP)
    if m.flag_at is not None or "at_least" in m.norms:
        # a few ordered levels: the anchors are levels, the ends the scale's ends
        return Component(name, weight, (lo, a, b, hi), _UP)
    # Published mean and SD: the pressure is linear in the normative z-score
    # (0.40 at the 40 % anchor, 0.65 at the 16 % anchor, clipped to 0–1), so
    # the top of a scale is not squeezed: a score 2 SD above the norm counts
    # for more than one just past the high anchor on every instrument alike.
    step = (b - a) / 0.25                     # raw points per unit of pressure (negative if protective)
    x0, x1 = a - 0.40 * step, b + 0.35 * step  # where the line reaches 0 and 1
    ends = sorted([(x0, 0.0), (x1, 1.0)])
    (u, pu), (v, pv) = ends
    if u < lo:
        u, pu = lo, 0.40 + (lo - a) / step
    if v > hi:
        v, pv = hi, 0.40 + (hi - a) / step
    pts = sorted([(u, pu), (a, 0.40), (b, 0.65), (v, pv)])
    return Component(name, weight, tuple(x for x, _ in pts), tuple(float(np.clip(y, 0, 1)) for _, y in pts))


COMPONENTS: tuple[Component, ...] = (
    _self_component("burnout", 0.12),
    _self_component("cbi_work", 0.12),
    _self_component("cbi_personal", 0.08),
    _self_component("cbi_client", 0.06),
    _self_component("sts", 0.03),
    _self_component("sib", 0.08),
    _self_component("pulse_strain", 0.07),
    _self_component("low_cs", 0.04),
    # fitted rise over the trend window, as a share of the scale's range
    Component("trend", 0.08, (0.0, 0.10, 0.20, 0.35), _UP),
    # caseload / standard: at the standard = moderate edge, 125 % = high edge
    Component("caseload", 0.08, (0.5, 1.0, 1.25, 1.75), _UP),
    Component("acuity", 0.04, (0.0, 0.25, 0.40, 0.70), _UP),
    Component("trauma", 0.05, (0.0, 2.0, 4.0, 8.0), _UP),
    Component("incidents", 0.04, (0.0, 1.0, 2.0, 4.0), _UP),
    Component("overtime", 0.05, (0.0, 4.0, 8.0, 15.0), _UP),
    Component("mismatch", 0.03, (0.0, 0.15, 0.30, 0.60), _UP),
    Component("missed_checkins", 0.03, (0.0, 0.34, 0.67, 1.0), _UP),
)
_BY_NAME = {c.name: c for c in COMPONENTS}
NAMES = tuple(c.name for c in COMPONENTS)
DEFAULT_WEIGHTS: dict[str, float] = {c.name: c.weight for c in COMPONENTS}
COMPONENT_COLUMNS = tuple(f"c_{n}" for n in NAMES)

# The helper's own answers set the level; the context can only raise it.
SELF_REPORT = ("burnout", "cbi_work", "cbi_personal", "cbi_client", "sts", "sib", "pulse_strain", "low_cs")
CONTEXT = ("trend", "caseload", "acuity", "trauma", "incidents", "overtime", "mismatch", "missed_checkins")
# Pressure at a context input's normal level: no rise for the trend; the
# low/moderate anchor (0.40) for the rest — caseload at the role standard,
# 2 trauma exposures or 4 overtime hours a week, 1 incident in 8 weeks, 2 of 6
# check-ins missed.  Only the part above it raises the risk.
NORMAL_PRESSURE: dict[str, float] = {"trend": 0.0, **{n: 0.40 for n in CONTEXT if n != "trend"}}
# How far the context can lift the self-reported level towards 100 (module
# docstring): moderate answers + every context input at its high threshold ≈ 47.
CONTEXT_ALPHA = 0.25
_IS_SELF = np.array([n in SELF_REPORT for n in NAMES])
_ANCHOR = np.array([NORMAL_PRESSURE.get(n, 0.0) for n in NAMES])

# Plain names of the components for team-level driver counts.
COMPONENT_LABELS = {
    **{name: measures.get(col).title for name, col in SELF_MEASURE.items() if name != "low_cs"},
    "low_cs": "Low compassion satisfaction",
    "trend": "Scores rising over recent weeks", "caseload": "Caseload above the role standard",
    "acuity": "Many high-acuity cases", "trauma": "Trauma exposure at work",
    "incidents": "Critical incidents", "overtime": "Overtime hours",
    "mismatch": "Cases outside specialty", "missed_checkins": "Check-ins missed",
}
# A score older than this (weeks) no longer describes the helper: about two
# to three missed administrations at the default schedule's cadence.
MAX_AGE_WEEKS = {"pulse": 4, "sib": 4, "cbi": 12, "proqol5": 26}
# The level of a score is the mean of its administrations over this many weeks
# up to the latest one: one answer is a noisy reading (a single item or a
# weekly pulse more so than a 10-item scale), and the mean of a few readings
# ranks people more reliably, while a sustained change still shows within
# weeks (and the trend component catches a rise sooner).  Two months of weekly
# answers and the last three monthly CBIs: a year's leaving follows sustained
# strain, and on the development organisations these windows ranked leavers
# better than one month and two CBIs (docs/MODELS.md §5).
LEVEL_WINDOW_WEEKS = {"pulse": 8, "sib": 8, "cbi": 12, "proqol5": 1}
# Trend windows hold 3–8 administrations at the usual cadence.
TREND_WINDOW_WEEKS = {"pulse": 8, "sib": 8, "cbi": 16, "proqol5": 36}
WORKLOAD_WINDOW = 4      # weeks averaged for caseload, acuity, trauma, overtime, mismatch
INCIDENT_WINDOW = 8      # weeks summed for critical incidents
CHECKIN_WINDOW = 6       # completed weeks looked back for missed check-ins
OVER_STANDARD = 1.0      # a week counts towards "for N weeks" above this ratio
# A rise counts only beyond two standard errors of its slope (about the lower
# end of a 95 % interval), so week-to-week noise does not read as a trend.
TREND_SE = 2.0
# latest_risk needs no more history than the longest window plus staleness
_LOOKBACK_WEEKS = max(TREND_WINDOW_WEEKS.values()) + max(MAX_AGE_WEEKS.values())



# --------------------------------------------------------------------------- #
# Small public helpers
# --------------------------------------------------------------------------- #

def pressure(name: str, raw) -> np.ndarray:
    """Raw input → pressure 0–1 for component ``name`` (NaN stays NaN)."""
    c = _BY_NAME[name]
    return np.interp(np.asarray(raw, dtype=float), c.xp, c.fp)


def band(risk) -> np.ndarray:
    """'low' (< 40), 'moderate' (40 – < 65), 'high' (≥ 65); None where risk is NaN
    (the risk measure's bands, burnout.domain.measures)."""
    out = RISK.band(np.asarray(risk, dtype=float))
    return np.where(pd.isna(out), None, out).astype(object)


def _weights(weights: dict | None) -> np.ndarray:
    w = dict(DEFAULT_WEIGHTS)
    if weights:
        unknown = set(weights) - set(w)
        if unknown:
            raise ValueError(f"unknown risk components: {sorted(unknown)}")
        w.update({k: float(v) for k, v in weights.items()})
    arr = np.array([w[n] for n in NAMES], dtype=float)
    if not np.isfinite(arr).all() or (arr < 0).any() or arr[_IS_SELF].sum() <= 0:
        raise ValueError("risk weights must be zero or more, and the self-reported ones not all zero")
    return arr


def _parts(P: np.ndarray, w: np.ndarray):
    """Rows of pressures → (S, E, X, self weight available).

    S: weighted mean of the available self-report pressures (NaN: none);
    X: each context input's excess over its normal level, 0–1 (0 when missing
    or normal; 0 in self-report columns); E: Σ w·X over all context weights."""
    nan = np.isnan(P)
    w_self = np.where(_IS_SELF, w, 0.0)
    w_ctx = np.where(_IS_SELF, 0.0, w)
    avail_self = (~nan).astype(float) @ w_self
    with np.errstate(invalid="ignore", divide="ignore"):
        S = np.where(avail_self > 0, np.where(nan, 0.0, P) @ w_self / avail_self, np.nan)
        X = np.clip((P - _ANCHOR) / (1.0 - _ANCHOR), 0.0, 1.0)
    X = np.where(nan | _IS_SELF, 0.0, X)
    total_ctx = w_ctx.sum()
    E = X @ w_ctx / total_ctx if total_ctx > 0 else np.zeros(len(P))
    return S, E, X, avail_self


def _combine(P: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """risk = 100·(S + (1 − S)·α·E) (NaN without a self-report);
    confidence = Σ_avail w / Σ w (rows of P)."""
    S, E, _, _ = _parts(P, w)
    risk = np.round(100.0 * (S + (1.0 - S) * CONTEXT_ALPHA * E), 9)   # 0.65 → 65, not 64.999…
    return risk, (~np.isnan(P)).astype(float) @ w / w.sum()


def combine(frame: pd.DataFrame, weights: dict | None = None) -> pd.Series:
    """Risk recomputed from the ``c_<component>`` pressure columns of ``frame``
    (NaN where no self-reported component is available)."""
    w = _weights(weights)
    risk = np.empty(len(frame))
    # a slice of rows at a time: each row's risk is its own, and the whole history at once
    # (a million rows at L, the leaving model's fit) held half a GB of intermediate arrays
    for lo in range(0, len(frame), COMBINE_ROWS):
        part = frame.iloc[lo:lo + COMBINE_ROWS]
        P = np.column_stack([pd.to_numeric(part[c], errors="coerce").to_numpy(float) if c in part
                             else np.full(len(part), np.nan) for c in COMPONENT_COLUMNS])
        risk[lo:lo + len(part)] = _combine(P, w)[0]
    return pd.Series(risk, index=frame.index)


COMBINE_ROWS = 100_000


def driver_points(P: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Risk points each component adds (rows of P; −inf where it is not a driver).

    A component is a driver only when its pressure is at least
    ``DRIVER_MIN_PRESSURE``.  Self-report: 100·w·(p − 0.40)/Σw_self,avail — its
    pull on S above the moderate threshold.  Context: 100·(1 − S)·α·w·x/Σw_context
    — what it adds on top of S (with S unknown, as if S were 0)."""
    S, _, X, avail_self = _parts(P, w)
    w_ctx_total = np.where(_IS_SELF, 0.0, w).sum() or 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        pts_self = 100.0 * w * (P - DRIVER_REFERENCE) / avail_self[:, None]
        room = (1.0 - np.nan_to_num(S, nan=0.0))[:, None]
        pts_ctx = 100.0 * room * CONTEXT_ALPHA * w * X / w_ctx_total
        pts = np.where(_IS_SELF, pts_self, pts_ctx)
        ok = (P >= DRIVER_MIN_PRESSURE) & (w > 0) & np.where(_IS_SELF, True, X > 0)
    return np.where(ok & np.isfinite(pts), pts, -np.inf)


def top_drivers(P: np.ndarray, w: np.ndarray, top: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``top`` drivers: component indices (into ``NAMES``) ranked by
    :func:`driver_points`, and whether each slot holds a driver at all.  The one
    ranking: a helper's own driver texts and the team's driver counts use it."""
    excess = driver_points(P, w)
    order = np.argsort(-excess, axis=1, kind="stable")[:, :top]
    chosen = np.take_along_axis(excess, order, axis=1) > -np.inf if len(P) else np.zeros((0, top), bool)
    return order, chosen


def driver_components(frame: pd.DataFrame, weights: dict | None = None, top: int = 3) -> list[list[str]]:
    """The component names of each row's top drivers, from its ``c_<component>``
    pressure columns (``compute_risk`` output), under ``weights`` — the same
    ranking as the row's driver texts."""
    P = np.column_stack([pd.to_numeric(frame[c], errors="coerce").to_numpy(float) if c in frame
                         else np.full(len(frame), np.nan) for c in COMPONENT_COLUMNS])
    order, chosen = top_drivers(P, _weights(weights), top)
    return [[NAMES[k] for k, ok in zip(o, c) if ok] for o, c in zip(order, chosen)]


# --------------------------------------------------------------------------- #
# Causes apart from symptoms
# --------------------------------------------------------------------------- #

# What the team *reports* (its own answers and their trend) is kept apart from
# what is *driving* it (the workplace: load, acuity, exposure, incidents,
# hours, fit with the helper's specialty).  Missed check-ins are neither: a
# signal to ask, shown with the reports.
SYMPTOMS = SELF_REPORT + ("trend",)
CAUSES = ("caseload", "acuity", "trauma", "incidents", "overtime", "mismatch")
SIGNALS = ("missed_checkins",)

# A plain, non-judgmental first step per workplace driver (about the work, not
# the person).  An action note about a driver links it by the component's own
# name (store.notes: link_kind "driver", link_ref e.g. "caseload"), so that is
# the ``notes_topic`` the rankings carry.
SUGGESTED_ACTIONS: dict[str, dict[str, str]] = {
    "caseload": {"action": "Review caseload allocation against the role standard; pause new assignments for "
                           "those above it until cases close or move."},
    "acuity": {"action": "Spread high-acuity cases more evenly across the team and add case consultation for "
                         "the most complex ones."},
    "trauma": {"action": "Offer regular reflective or trauma-informed supervision and time to decompress after "
                         "difficult contacts."},
    "incidents": {"action": "Hold a debrief after each critical incident and make follow-up support available "
                            "within a few days."},
    "overtime": {"action": "Look at where the extra hours come from (cover, paperwork, on-call) and plan cover or "
                           "time off in lieu so they do not become routine."},
    "mismatch": {"action": "Route cases to people with the matching specialty where possible, or pair them with "
                           "a specialist and offer training."},
}


def _pressures(frame: pd.DataFrame) -> np.ndarray:
    return np.column_stack([pd.to_numeric(frame[c], errors="coerce").to_numpy(float) if c in frame
                            else np.full(len(frame), np.nan) for c in COMPONENT_COLUMNS])


def points_added(frame: pd.DataFrame, weights: dict | None, names: tuple[str, ...]) -> np.ndarray:
    """Rows of ``frame`` x ``names``: the risk points each component adds for that
    helper (0 where it is not a driver) — what a group's ranking averages, so a
    review of many groups computes it once and averages per group."""
    pts = driver_points(_pressures(frame), _weights(weights))[:, [NAMES.index(n) for n in names]]
    return np.where(np.isfinite(pts), pts, 0.0)


def _team_ranking(frame: pd.DataFrame, weights: dict | None, names: tuple[str, ...]) -> pd.DataFrame:
    w = _weights(weights)
    P = _pressures(frame)
    order, chosen = top_drivers(P, w)
    points = points_added(frame, weights, names)
    rows = []
    n = len(frame)
    for j, name in enumerate(names):
        k = NAMES.index(name)
        added = points[:, j]
        among_top = int((chosen & (order == k)).any(axis=1).sum()) if n else 0
        rows.append({"component": name, "label": COMPONENT_LABELS[name],
                     "points": float(added.mean()) if n else 0.0,
                     "helpers_with_driver": among_top, "helpers": n,
                     "action": SUGGESTED_ACTIONS.get(name, {}).get("action", ""),
                     "notes_topic": name})
    out = pd.DataFrame(rows, columns=["component", "label", "points", "helpers_with_driver", "helpers",
                                      "action", "notes_topic"])
    out = out[out["points"] > 0].sort_values(["points", "component"], ascending=[False, True])
    return out.reset_index(drop=True)


def team_causes(frame: pd.DataFrame, weights: dict | None = None) -> pd.DataFrame:
    """"What is driving it": the workplace drivers (``CAUSES``) of a team's risk,
    ranked by the risk points each adds on average per helper — the same
    points (:func:`driver_points`) that rank each helper's own drivers, so the
    team's list and its people's lists never disagree.

    ``frame``: ``compute_risk``/``latest_risk`` rows of the team (its
    ``c_<component>`` pressures).  Returns ``component, label, points (mean
    risk points added), helpers_with_driver (helpers for whom it is one of
    their own top three), helpers, action (SUGGESTED_ACTIONS), notes_topic``;
    only drivers that add something.  Minimum-group rules are privacy.py's."""
    return _team_ranking(frame, weights, CAUSES)


def team_symptoms(frame: pd.DataFrame, weights: dict | None = None) -> pd.DataFrame:
    """"What the team reports": the self-reported scores and their trend
    (``SYMPTOMS``), ranked as :func:`team_causes` (no actions attached: these
    describe how people are, not what to change)."""
    return _team_ranking(frame, weights, SYMPTOMS).drop(columns=["action"])


# --------------------------------------------------------------------------- #
# Dense helper × week arrays
# --------------------------------------------------------------------------- #

_NAT = np.iinfo(np.int64).min


def day_numbers(values) -> np.ndarray:
    """Dates → days since 1970-01-01 as int64 (``_NAT`` where missing)."""
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        # already naive datetimes: pd.to_datetime would still make a Timestamp of every
        # value to decide whether to cache (half of its time in a helper-week rebuild)
        return np.asarray(values).astype("datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    d = pd.to_datetime(pd.Series(values), errors="coerce")
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_localize(None)
    return d.to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def nearest_monday(values) -> np.ndarray:
    """Week labels → day number of the *nearest* Monday, so Sunday- or
    Saturday-based week starts land on the same ISO week as Monday ones."""
    days = day_numbers(values)
    dow = (days + 3) % 7                     # 1970-01-01 was a Thursday; Monday = 0
    return np.where(days == _NAT, _NAT, days - ((dow + 3) % 7 - 3))


def floor_monday(values) -> np.ndarray:
    """Timestamps → day number of the Monday of their week."""
    return monday_day_numbers(day_numbers(values), _NAT)


def _as_date(day: int) -> pd.Timestamp:
    return pd.Timestamp(np.datetime64(int(day), "D"))


def _roll(arr: np.ndarray, k: int, how: str = "mean") -> np.ndarray:
    """Trailing window of ``k`` columns (current included), NaN-aware.

    NaN where the window holds no observation."""
    H, W = arr.shape
    obs = ~np.isnan(arr)
    cv = np.zeros((H, W + 1))
    cn = np.zeros((H, W + 1))
    np.cumsum(np.where(obs, arr, 0.0), axis=1, out=cv[:, 1:])
    np.cumsum(obs, axis=1, out=cn[:, 1:])
    lo = np.maximum(np.arange(W) + 1 - k, 0)
    s = cv[:, 1:] - cv[:, lo]
    n = cn[:, 1:] - cn[:, lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = s / n if how == "mean" else s
    return np.where(n > 0, out, np.nan)


def _run_length(B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive True cells ending at each column, and the column of the last False."""
    W = B.shape[1]
    cols = np.arange(W)
    last_false = np.maximum.accumulate(np.where(~B, cols, -1), axis=1)
    return cols - last_false, last_false


def _last_obs(obs: np.ndarray) -> np.ndarray:
    """Column of the latest observation at or before each column (−1: none)."""
    cols = np.arange(obs.shape[1])
    return np.maximum.accumulate(np.where(obs, cols, -1), axis=1)


def _next_obs(obs: np.ndarray) -> np.ndarray:
    """Column of the earliest observation at or after each column (W: none)."""
    W = obs.shape[1]
    cols = np.arange(W)
    rev = np.where(obs, cols, W)[:, ::-1]
    return np.minimum.accumulate(rev, axis=1)[:, ::-1]


def _take(arr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """arr[h, idx[h, j]] with NaN where idx < 0 or ≥ W."""
    W = arr.shape[1]
    safe = np.clip(idx, 0, W - 1)
    out = np.take_along_axis(arr, safe, axis=1).astype(float)
    out[(idx < 0) | (idx >= W)] = np.nan
    return out


class _Grid:
    """Helpers × weeks, with every intermediate array the drivers need."""

    def __init__(self, roster, caseload, scores, as_of, lookback_weeks=None):
        roster = roster if roster is not None else pd.DataFrame(columns=["helper_id"])
        caseload = caseload if caseload is not None else pd.DataFrame(columns=["helper_id", "week_start"])
        scores = scores if scores is not None else pd.DataFrame(columns=["helper_id", "week_start"])
        roster = roster.drop_duplicates("helper_id", keep="last").reset_index(drop=True)

        empty = np.zeros(0, np.int64)
        cl_week = nearest_monday(caseload["week_start"]) if len(caseload) else empty
        if len(scores):
            has_week = "week_start" in scores and scores["week_start"].notna().any()
            sc_week = nearest_monday(scores["week_start"]) if has_week else np.full(len(scores), _NAT)
            if "submitted_at" in scores:
                sc_week = np.where(sc_week == _NAT, floor_monday(scores["submitted_at"]), sc_week)
        else:
            sc_week = empty

        all_weeks = np.concatenate([cl_week, sc_week])
        all_weeks = all_weeks[all_weeks != _NAT]
        if as_of is not None:
            last = floor_monday([as_of])[0]
            if last == _NAT:
                raise ValueError(f"as_of {as_of!r} is not a date")
        else:
            last = all_weeks.max() if len(all_weeks) else _NAT
        self.empty = last == _NAT
        first = last
        if not self.empty:
            before = all_weeks[all_weeks <= last]
            first = before.min() if len(before) else last
            if lookback_weeks is not None:
                first = max(first, last - 7 * int(lookback_weeks))
        self.as_of_week = pd.NaT if self.empty else _as_date(last)
        W = 0 if self.empty else int((last - first) // 7) + 1
        self.weeks = pd.DatetimeIndex([]) if self.empty else pd.date_range(_as_date(first), periods=W, freq="7D")

        ids = pd.Index(pd.unique(np.concatenate([np.asarray(roster["helper_id"], dtype=object),
                                                 np.asarray(caseload["helper_id"], dtype=object),
                                                 np.asarray(scores["helper_id"], dtype=object)])))
        ids = ids[ids.notna()]
        self.ids = ids
        H = len(ids)
        self.H, self.W = H, W
        self.roster = roster.set_index("helper_id").reindex(ids)

        def index_of(frame, weeks):
            h = ids.get_indexer(frame["helper_id"])
            j = (weeks - first) // 7
            ok = (h >= 0) & (weeks != _NAT) & (j >= 0) & (j < W)
            return h, np.where(ok, j, 0).astype(np.int64), ok

        self._cl = index_of(caseload, cl_week) if len(caseload) else None
        self._sc = index_of(scores, sc_week) if len(scores) else None
        self.caseload, self.scores = caseload, scores

    def dense(self, frame, where, column) -> np.ndarray:
        """Mean of ``frame[column]`` per helper-week as an H×W array (NaN: none)."""
        H, W = self.H, self.W
        if where is None or column not in frame:
            return np.full((H, W), np.nan)
        h, j, ok = where
        v = pd.to_numeric(frame[column], errors="coerce").to_numpy(float)
        ok = ok & ~np.isnan(v)
        flat = h[ok] * W + j[ok]
        s = np.bincount(flat, weights=v[ok], minlength=H * W)
        n = np.bincount(flat, minlength=H * W)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, s / n, np.nan).reshape(H, W)

    def count(self, frame, where, mask=None) -> np.ndarray:
        H, W = self.H, self.W
        if where is None:
            return np.zeros((H, W))
        h, j, ok = where
        if mask is not None:
            ok = ok & mask
        return np.bincount(h[ok] * W + j[ok], minlength=H * W).reshape(H, W).astype(float)


def roster_col(r: pd.DataFrame, col: str) -> pd.Series:
    return r[col] if col in r else pd.Series(np.nan, index=r.index)


def _standards(r: pd.DataFrame, settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Role standard × FTE per helper (the settings' rule, DESIGN §6) and the FTE."""
    std = settings.resolve_caseload_standard(r)
    fte = pd.to_numeric(roster_col(r, "fte"), errors="coerce").fillna(1.0)
    fte = fte.where(fte > 0)
    return (std.where(std > 0) * fte).to_numpy(float), fte.to_numpy(float)


def _outside_from_types(caseload: pd.DataFrame, roster: pd.DataFrame) -> pd.Series:
    """Cases outside specialty when only ``case_types`` is given: the share of
    listed case types the helper does not specialise in × active cases."""
    out = pd.to_numeric(caseload.get("cases_outside_specialty", pd.Series(np.nan, index=caseload.index)),
                        errors="coerce")
    if "case_types" not in caseload or "specialties" not in roster:
        return out
    spec = roster.set_index("helper_id")["specialties"].dropna().astype(str)
    need = out.isna() & caseload["case_types"].notna() & caseload["helper_id"].isin(spec.index)
    if not need.any():
        return out
    sub = caseload.loc[need, ["helper_id", "case_types"]]
    types = sub["case_types"].astype(str).str.split(";").explode().str.strip().str.lower()
    types = types[types.ne("")]
    pairs = pd.DataFrame({"row": types.index, "helper_id": sub.loc[types.index, "helper_id"].to_numpy(),
                          "t": types.to_numpy()})
    sp = spec.str.split(";").explode().str.strip().str.lower()
    sp = pd.DataFrame({"helper_id": sp.index, "t": sp.to_numpy(), "inside": True}).drop_duplicates()
    pairs = pairs.merge(sp, on=["helper_id", "t"], how="left")
    frac = pairs["inside"].isna().groupby(pairs["row"]).mean()
    active = pd.to_numeric(caseload.loc[frac.index, "active_cases"], errors="coerce")
    out.loc[frac.index] = frac.to_numpy() * active.to_numpy()
    return out


@dataclass
class _Trend:
    """One self-reported measure's recent rise, per helper-week (``_Model._trend``)."""

    rise: np.ndarray      # share of the scale's range, beyond two standard errors
    points: np.ndarray    # signed rise in scale points, in the direction of concern
    span: np.ndarray      # weeks between the first and latest administration in the window
    run: np.ndarray       # consecutive rises up to the latest administration


@dataclass
class _Workload:
    """Caseload-log figures per helper-week that the driver texts quote."""

    active_cases: np.ndarray       # the latest week's active cases (within the workload window)
    weeks_over: np.ndarray         # consecutive weeks above the role standard
    run_ratio: np.ndarray          # mean caseload / standard over that run
    acuity_per_week: np.ndarray
    trauma_per_week: np.ndarray
    outside_per_week: np.ndarray


@dataclass
class _Checkins:
    missed: np.ndarray             # check-ins expected but not received in the window
    expected: np.ndarray           # check-ins expected in the window
    weeks: np.ndarray              # completed weeks the window covers
    cadence: int                   # weeks between expected check-ins (the saved schedule)


class _Model:
    """All components on one grid; ``frame(mask)`` assembles output rows.

    ``level`` holds each component's raw input and ``pressure`` its 0–1
    pressure, both keyed by component name (``NAMES``); the typed parts hold
    what the driver texts quote."""

    def __init__(self, grid: _Grid, weights, settings: Settings):
        self.g = g = grid
        self.w = _weights(weights)
        H, W = g.H, g.W
        r = g.roster
        cols = np.arange(W)
        self.level: dict[str, np.ndarray] = {}
        self.pressure: dict[str, np.ndarray] = {}
        self.trends: dict[str, _Trend] = {}

        # ---- self-reported scores: latest value within its age limit ------
        sc = g.scores
        any_sub = g.count(sc, g._sc)
        instrument = sc["instrument"].astype("string").str.lower() if "instrument" in sc else None
        for name, col in SELF_MEASURE.items():
            m = measures.get(col)
            Y = g.dense(sc, g._sc, col)
            obs = ~np.isnan(Y)
            last = _last_obs(obs)
            # mean of the administrations in the level window, ending at the latest one
            mean_to_last = _roll(Y, LEVEL_WINDOW_WEEKS[m.instrument], "mean")
            level = _take(mean_to_last, last)
            level[cols - last > MAX_AGE_WEEKS[m.instrument]] = np.nan
            self.level[name] = level
            self.trends[name] = self._trend(Y, obs, last, m, TREND_WINDOW_WEEKS[m.instrument])
        R = np.stack([tr.rise for tr in self.trends.values()])       # measures × H × W
        has = ~np.isnan(R).all(axis=0)
        best = np.argmax(np.where(np.isnan(R), -np.inf, R), axis=0)
        self.level["trend"] = np.where(has, np.take_along_axis(np.nan_to_num(R, nan=-np.inf), best[None], 0)[0],
                                       np.nan)
        self.trend_measure = best                                      # index into SELF_MEASURE

        # ---- workload from the weekly caseload log -------------------------
        cl = g.caseload
        people = r.reset_index().rename(columns={"index": "helper_id"})
        std, fte = _standards(people, settings)
        std, fte = std[:, None], fte[:, None]
        active = g.dense(cl, g._cl, "active_cases")
        ratio_w = active / std
        acuity = _roll(g.dense(cl, g._cl, "high_acuity_cases"), WORKLOAD_WINDOW)
        trauma = _roll(g.dense(cl, g._cl, "trauma_exposures"), WORKLOAD_WINDOW)
        if len(cl):
            cl = cl.assign(_outside=_outside_from_types(cl, people))
        outside = _roll(g.dense(cl, g._cl, "_outside"), WORKLOAD_WINDOW)
        self.level["caseload"] = _roll(ratio_w, WORKLOAD_WINDOW)
        self.level["acuity"] = acuity / std
        self.level["trauma"] = trauma / fte
        self.level["incidents"] = _roll(g.dense(cl, g._cl, "critical_incidents"), INCIDENT_WINDOW, "sum")
        self.level["overtime"] = _roll(g.dense(cl, g._cl, "overtime_hours"), WORKLOAD_WINDOW)
        self.level["mismatch"] = outside / std
        over = np.nan_to_num(ratio_w, nan=0.0) > OVER_STANDARD
        run, last_false = _run_length(over)
        cum = np.zeros((H, W + 1))
        np.cumsum(np.nan_to_num(ratio_w, nan=0.0), axis=1, out=cum[:, 1:])
        with np.errstate(invalid="ignore", divide="ignore"):
            run_mean = (cum[:, 1:] - _take(cum, last_false + 1)) / run
        a_last = _last_obs(~np.isnan(active))
        act = _take(active, a_last)
        act[(cols - a_last) >= WORKLOAD_WINDOW] = np.nan
        self.workload = _Workload(active_cases=act, weeks_over=run, run_ratio=run_mean, acuity_per_week=acuity,
                                  trauma_per_week=trauma, outside_per_week=outside)

        # ---- missed check-ins, at the organisation's own cadence -----------
        self.checkins = self._missed(sc, instrument, any_sub, settings)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.level["missed_checkins"] = np.where(self.checkins.weeks >= 3,
                                                     self.checkins.missed / self.checkins.expected, np.nan)
        for name in NAMES:
            self.pressure[name] = pressure(name, self.level[name])

        # ---- which cells exist: employed, and on or after the first data ----
        has_data = ~np.isnan(active) | (any_sub > 0)
        for k in ("high_acuity_cases", "trauma_exposures", "overtime_hours"):
            if k in cl:
                has_data |= ~np.isnan(g.dense(cl, g._cl, k))
        self.first_data = np.where(has_data.any(axis=1), np.argmax(has_data, axis=1), W)
        monday = g.weeks.to_numpy()
        start = pd.to_datetime(roster_col(r, "start_date"), errors="coerce").to_numpy()
        end = pd.to_datetime(roster_col(r, "end_date"), errors="coerce").to_numpy()
        sunday = monday + np.timedelta64(6, "D")
        started = np.isnat(start)[:, None] | (start[:, None] <= sunday[None, :])
        not_left = np.isnat(end)[:, None] | (end[:, None] > monday[None, :])
        self.employed = started & not_left

    def _missed(self, sc, instrument, any_sub, settings: Settings) -> _Checkins:
        """Check-ins expected but not received over the last ``CHECKIN_WINDOW``
        completed weeks, from the helper's first check-in on.  One check-in is
        expected every ``cadence`` weeks: the most frequent instrument in the
        organisation's saved schedule (a fortnightly pulse expects half as many)."""
        g = self.g
        H, W = g.H, g.W
        cols = np.arange(W)
        cadence = settings.shortest_cadence
        if instrument is None or g._sc is None:
            nan = np.full((H, W), np.nan)
            return _Checkins(nan, nan, np.zeros((H, W)), cadence)
        regular = [k for k, v in settings.checkin_schedule.items() if v and int(v) == cadence]
        counted = g.count(sc, g._sc, instrument.isin(regular).to_numpy(dtype=bool, na_value=False))
        first = np.argmax(counted > 0, axis=1).astype(float)
        first[~(counted > 0).any(axis=1)] = np.inf
        sub = (any_sub > 0) & (cols[None, :] >= first[:, None])
        done = _roll(np.where(sub, 1.0, 0.0), CHECKIN_WINDOW, "sum")
        # completed weeks j−6 … j−1: shift the trailing window by one column
        done = np.concatenate([np.zeros((H, 1)), done[:, :-1]], axis=1)
        weeks = np.clip(cols[None, :] - np.maximum(cols[None, :] - CHECKIN_WINDOW, first[:, None]), 0,
                        CHECKIN_WINDOW)
        expected = weeks / cadence
        missed = np.maximum(expected - done, 0.0)
        return _Checkins(missed, expected, weeks, cadence)

    @staticmethod
    def _trend(Y, obs, last, m: measures.Measure, L) -> _Trend:
        """OLS slope of the last ``L`` weeks' administrations, per cell.

        rise = max(0, slope − 2·SE(slope)) × span, in shares of the scale range
        (sign flipped for protective measures).  Needs ≥ 3 administrations.
        Also the rise in scale points, the span in weeks, and the run of
        consecutive rises up to the latest administration.
        """
        lo, hi = m.range
        sign = 1.0 if m.higher_is_worse else -1.0
        H, W = Y.shape
        x = np.broadcast_to(np.arange(W, dtype=float), (H, W))
        y = np.where(obs, sign * (Y - lo) / (hi - lo), np.nan)
        xo = np.where(obs, x, np.nan)
        n = _roll(np.where(obs, 1.0, np.nan), L, "sum")
        sx = _roll(xo, L, "sum")
        sy = _roll(y, L, "sum")
        sxy = _roll(xo * y, L, "sum")
        sxx = _roll(xo * xo, L, "sum")
        syy = _roll(y * y, L, "sum")
        with np.errstate(invalid="ignore", divide="ignore"):
            cxx = sxx - sx * sx / n
            cxy = sxy - sx * sy / n
            cyy = syy - sy * sy / n
            slope = cxy / cxx
            sse = np.maximum(cyy - slope * cxy, 0.0)
            se = np.sqrt(sse / (n - 2) / cxx)
        nxt = _next_obs(obs)
        lo_col = np.maximum(np.arange(W) + 1 - L, 0)
        first_in = np.take_along_axis(nxt, np.broadcast_to(lo_col, (H, W)), axis=1)
        span = (last - first_in).astype(float)
        valid = (n >= 3) & (cxx > 1e-9)
        rise = np.where(valid, np.maximum(slope - TREND_SE * se, 0.0) * span, np.nan)
        with np.errstate(invalid="ignore"):
            pts = np.where(valid, slope * span * (hi - lo), np.nan)
        # consecutive rises in the concern direction, across administrations
        hh, ww = np.nonzero(obs)
        v = y[hh, ww]
        same = np.r_[False, hh[1:] == hh[:-1]]
        up = same & (v > np.r_[np.inf, v[:-1]])
        idx = np.arange(len(v))
        run = idx - np.maximum.accumulate(np.where(~up, idx, -1)) if len(v) else idx
        R = np.zeros((H, W))
        R[hh, ww] = run
        return _Trend(rise=rise, points=pts, span=span, run=_take(R, last))

    # ------------------------------------------------------------------ #
    def frame(self, mask: np.ndarray, drivers: bool = True) -> pd.DataFrame:
        g = self.g
        hs, js = np.nonzero(mask)
        P = np.column_stack([self.pressure[n][hs, js] for n in NAMES]) if len(hs) else np.empty((0, len(NAMES)))
        risk, conf = _combine(P, self.w)
        team = roster_col(g.roster, "team").to_numpy(object)
        out = {
            "helper_id": g.ids.to_numpy()[hs],
            "week_start": g.weeks.to_numpy()[js],
            "team": team[hs],
            "risk_score": risk,
            "risk_band": band(risk),
            "confidence": conf,
        }
        texts = self._drivers(P, hs, js) if drivers else [np.full(len(hs), "", dtype=object)] * 3
        for i in range(3):
            out[f"driver_{i + 1}"] = texts[i]
        # one float block instead of twenty columns: pandas would consolidate them anyway
        extra = np.column_stack([self.workload.active_cases[hs, js], self.level["caseload"][hs, js],
                                 self.workload.weeks_over[hs, js].astype(float), self.level["acuity"][hs, js],
                                 self.level["mismatch"][hs, js]])
        block = pd.DataFrame(np.hstack([P, extra]),
                             columns=list(COMPONENT_COLUMNS) + ["active_cases", "caseload_ratio",
                                                                "weeks_over_standard", "acuity_rel", "mismatch_rel"])
        return pd.concat([pd.DataFrame(out), block], axis=1)

    def _drivers(self, P, hs, js):
        n = len(hs)
        order, chosen = top_drivers(P, self.w)
        texts = [np.full(n, "", dtype=object) for _ in range(3)]
        for slot in range(order.shape[1]):
            for k, name in enumerate(NAMES):
                rows = np.nonzero(chosen[:, slot] & (order[:, slot] == k))[0]
                if len(rows):
                    texts[slot][rows] = self._text(name, hs[rows], js[rows])
        return texts

    def _text(self, name, h, j) -> list[str]:
        """Plain, non-judgmental words for one driver (about work, not the person)."""
        level, wl = self.level, self.workload
        if name in SELF_MEASURE:
            m = measures.get(SELF_MEASURE[name])
            x = level[name][h, j]
            bands = m.band(x)
            lo, hi = m.range
            if name == "cbi_client":
                title = [f"{cw}-related burnout (CBI)" for cw in self._client_words(h)]
            else:
                title = [m.name] * len(h)
            if m.flag_at is not None:
                return [f"{tl} {v:.0f} of {hi:g}" for tl, v in zip(title, x)]
            if not m.bands:
                return [f"{tl} {v:.0f} of {hi:g}" for tl, v in zip(title, x)]
            return [f"{tl} {v:.0f} of {hi:g}, {b} range" for tl, v, b in zip(title, x, bands)]
        if name == "trend":
            names = list(SELF_MEASURE)
            out = []
            for hh, jj, k in zip(h, j, self.trend_measure[h, j]):
                m = measures.get(SELF_MEASURE[names[k]])
                tr = self.trends[names[k]]
                verb, dir_word = ("rising", "up") if m.higher_is_worse else ("falling", "down")
                run = tr.run[hh, jj]
                if run >= 2:
                    out.append(f"{m.name} {verb} {int(run)} check-ins in a row")
                else:
                    fmt = ".1f" if m.flag_at is not None else ".0f"
                    out.append(f"{m.name} {dir_word} {abs(tr.points[hh, jj]):{fmt}} points over "
                               f"{int(tr.span[hh, jj])} weeks")
            return out
        if name == "caseload":
            weeks = wl.weeks_over[h, j]
            run_pct = wl.run_ratio[h, j] * 100
            avg_pct = level["caseload"][h, j] * 100
            return [f"caseload {rp:.0f} % of the role standard for {int(wk)} week{'s' if wk != 1 else ''}"
                    if wk >= 1 else f"caseload averaging {ap:.0f} % of the role standard over the last 4 weeks"
                    for wk, rp, ap in zip(weeks, run_pct, avg_pct)]
        if name == "acuity":
            return [f"{c:.0f} high-acuity cases on average, {p * 100:.0f} % of the role standard caseload"
                    for c, p in zip(wl.acuity_per_week[h, j], level["acuity"][h, j])]
        if name == "trauma":
            return [f"{x:.1f} trauma exposures a week over the last 4 weeks" for x in wl.trauma_per_week[h, j]]
        if name == "incidents":
            return [f"{int(round(v))} critical incident{'s' if round(v) != 1 else ''} in the last 8 weeks"
                    for v in level["incidents"][h, j]]
        if name == "overtime":
            return [f"{x:.0f} hours of overtime a week over the last 4 weeks" for x in level["overtime"][h, j]]
        if name == "mismatch":
            return [f"about {x:.0f} cases outside the helper's areas of specialty"
                    for x in wl.outside_per_week[h, j]]
        if name == "missed_checkins":
            ck = self.checkins
            if ck.cadence == 1:
                return [f"no check-in received in {int(round(m))} of the last {int(e)} weeks"
                        for m, e in zip(ck.missed[h, j], ck.expected[h, j])]
            return [f"{int(round(m))} of the {e:g} check-ins expected in the last {int(w)} weeks not received"
                    for m, e, w in zip(ck.missed[h, j], ck.expected[h, j], ck.weeks[h, j])]
        return [COMPONENT_LABELS.get(name, name)] * len(h)

    def _client_words(self, h):
        kind = roster_col(self.g.roster, "team_kind").to_numpy(object)[h]
        return [client_word_for(k) if isinstance(k, str) else "client" for k in kind]


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #

OUTPUT_COLUMNS = (["helper_id", "week_start", "team", "risk_score", "risk_band", "confidence",
                   "driver_1", "driver_2", "driver_3"] + list(COMPONENT_COLUMNS)
                  + ["active_cases", "caseload_ratio", "weeks_over_standard", "acuity_rel", "mismatch_rel"])


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "week_start" else
                                      ("object" if c in ("helper_id", "team", "risk_band", "driver_1",
                                                         "driver_2", "driver_3") else float))
                         for c in OUTPUT_COLUMNS})


def compute_risk(roster: pd.DataFrame, caseload: pd.DataFrame, scores: pd.DataFrame,
                 as_of=None, weights: dict | None = None, *, drivers: bool = True,
                 settings: Settings | None = None, from_week=None) -> pd.DataFrame:
    """Burnout risk for every helper-week up to ``as_of`` (default: the latest week with data).

    Frames as in docs/ARCHITECTURE.md (roster, caseload, scores).  A row exists
    for each week a helper was employed (start_date ≤ week, end_date after the
    week's Monday), from their first week with any data.

    Returns ``helper_id, week_start (Monday), team, risk_score (0–100, NaN when
    nothing is known), risk_band, confidence (0–1), driver_1..driver_3 ("" when
    fewer drivers)``, one ``c_<component>`` pressure column per component (NaN
    = not available), and the raw ``active_cases, caseload_ratio,
    weeks_over_standard, acuity_rel, mismatch_rel`` that what-if scenarios use.
    ``drivers=False`` skips the texts (for calibration and bulk history).
    ``from_week``: only the rows from that week on (the model still reads every
    earlier week: the stored helper weeks gaining a new week).
    ``settings``: the organisation's (check-in schedule, caseload standards;
    default: the documented defaults); ``weights`` default to its risk weights.
    """
    settings = resolve(settings)
    grid = _Grid(roster, caseload, scores, as_of)
    if grid.empty or grid.W == 0 or grid.H == 0:
        return _empty()
    m = _Model(grid, weights if weights is not None else settings.risk_weights, settings)
    mask = m.employed & (np.arange(grid.W)[None, :] >= m.first_data[:, None])
    if from_week is not None:
        mask &= np.asarray(grid.weeks >= pd.Timestamp(from_week))[None, :]
    return m.frame(mask, drivers=drivers)[OUTPUT_COLUMNS]


def latest_risk(roster: pd.DataFrame, caseload: pd.DataFrame, scores: pd.DataFrame,
                as_of=None, weights: dict | None = None, *, settings: Settings | None = None) -> pd.DataFrame:
    """Risk for the single week containing ``as_of`` (default: the latest week with data).

    One row per helper active that week (roster start/end dates; no end_date
    or end_date after the week's Monday) plus any helper with data that week
    who is missing from the roster.  Helpers with no usable data get NaN risk,
    confidence 0 and empty drivers.  Columns as ``compute_risk``.
    """
    settings = resolve(settings)
    grid = _Grid(roster, caseload, scores, as_of, lookback_weeks=_LOOKBACK_WEEKS)
    if grid.empty or grid.W == 0 or grid.H == 0:
        return _empty()
    m = _Model(grid, weights if weights is not None else settings.risk_weights, settings)
    # Active on the as-of *date* (DESIGN §5: no end_date or end_date > as_of),
    # which may fall mid-week; without an as_of it is the week's Monday.
    day = pd.Timestamp(as_of).normalize() if as_of is not None else grid.as_of_week
    r = grid.roster
    start = pd.to_datetime(roster_col(r, "start_date"), errors="coerce")
    end = pd.to_datetime(roster_col(r, "end_date"), errors="coerce")
    active = ((start.isna() | (start <= day)) & (end.isna() | (end > day))).to_numpy(bool)
    in_roster = grid.roster.index.isin(roster["helper_id"]) if roster is not None and len(roster) else \
        np.zeros(grid.H, bool)
    col = grid.W - 1
    mask = np.zeros((grid.H, grid.W), bool)
    mask[:, col] = active & (in_roster | (m.first_data <= col))
    return m.frame(mask)[OUTPUT_COLUMNS]
