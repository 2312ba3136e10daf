"""Burnout risk 0–100 per helper per week, its drivers, and calibration.

Model (DESIGN §8).  Every input becomes a *pressure* ``p ∈ [0, 1]`` through a
piecewise-linear map anchored on the instrument's own bands, so that the
instrument's low/moderate edge maps to 0.40 and its moderate/high edge to 0.65
— the same numbers as the risk bands.  The pressures then play two roles:

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
    risk       = 100 · (S + (1 − S)·α·E)                  α = CONTEXT_ALPHA = 0.9
    confidence = Σ_available w_k / Σ_all w_k
    band       = low (< 40) | moderate (40 – < 65) | high (≥ 65)

So every answer at its instrument's high threshold scores 65 (high) and at
the moderate threshold 40, whatever the workload; a normal workload (at the
role standard, no rise, a few missed check-ins) never pulls the score down;
and more overload never lowers it (the risk rises with S because αE < 1, and
with every x_k).  ``α = 0.9`` is chosen so that a helper whose answers sit at
the moderate threshold (S = 0.40) and whose every context input sits at its
high threshold (E ≈ 0.46) scores 65: the workload alone can move a moderate
self-report into the high band only when it is high on every count.  One
factor alone moves a score by a few to about 15 points (e.g. a caseload at
160 % of the standard lifts 30 to 40).

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
burnout          0.10    ProQOL burnout, 10–50 (bands 22/42).  Burnout is the
                         strongest predictor of leaving (Mor Barak 2001, §7).
cbi_work         0.10    CBI work-related burnout, 0–100 (bands 50/75).
                         Emotional exhaustion → intent to leave β = 0.52
                         (Chung & Choo 2019, §7).
cbi_personal     0.07    CBI personal burnout (exhaustion), 0–100.
cbi_client       0.06    CBI client-related burnout, 0–100 (Kristensen 2005).
sts              0.08    ProQOL secondary traumatic stress, 10–50.  STS acts
                         through exhaustion (Chung & Choo 2019 β = 0.09; §9).
sib              0.07    single-item burnout 1–5, ≥ 3 = burning out; r = 0.64
                         with MBI exhaustion (Rohland 2004; Dolan 2015).
pulse_strain     0.06    weekly pulse strain 0–100: the project's own screening
                         pulse, not a validated measure, hence a lower weight.
low_cs           0.06    ProQOL compassion satisfaction, protective: low
                         satisfaction raises the pressure.
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
values; ``calibrate`` fits the organisation's own model of leaving once it has
enough separations, and ``leaving_model`` decides — for the ``risk`` command
and the HR review alike — whether that model or the documented defaults give
the probability of leaving.

Acuity and specialty mismatch are measured against the role *standard*, not
the current caseload, so that adding cases never lowers the risk (a share of
the current caseload would fall as the caseload grows).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from burnout import config
from burnout.errors import InputError

logger = logging.getLogger(__name__)

__all__ = [
    "BAND_EDGES", "COMPONENTS", "CONTEXT", "CONTEXT_ALPHA", "DEFAULT_WEIGHTS", "MIN_LEAVERS",
    "MIN_HELPER_YEARS", "NORMAL_PRESSURE", "SELF_REPORT", "CalibrationResult", "LeavingModel", "band",
    "calibrate", "combine", "compute_risk", "latest_risk", "burnout_link", "leaving_model", "pressure",
    "risk_report",
]

BAND_EDGES = (40.0, 65.0)
BANDS = ("low", "moderate", "high")

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


_PROQOL = (10.0, 22.5, 41.5, 50.0)      # bands ≤22 low, 23–41 moderate, ≥42 high
_CBI = (0.0, 50.0, 75.0, 100.0)         # bands <50 low, 50–<75 moderate, ≥75 high
_UP = (0.0, 0.40, 0.65, 1.0)

COMPONENTS: tuple[Component, ...] = (
    Component("burnout", 0.10, _PROQOL, _UP),
    Component("cbi_work", 0.10, _CBI, _UP),
    Component("cbi_personal", 0.07, _CBI, _UP),
    Component("cbi_client", 0.06, _CBI, _UP),
    Component("sts", 0.08, _PROQOL, _UP),
    Component("sib", 0.07, (1.0, 2.0, 3.0, 5.0), (0.0, 0.30, 0.65, 1.0)),
    # the pulse has no published bands; CBI-like anchors are an assumption
    Component("pulse_strain", 0.06, _CBI, _UP),
    # protective: CS ≤ 22 ("low") is the concern, ≥ 42 ("high") protects
    Component("low_cs", 0.06, (10.0, 22.5, 32.0, 41.5, 50.0), (1.0, 0.65, 0.40, 0.20, 0.0)),
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
# docstring): moderate answers + every context input at its high threshold ≈ 65.
CONTEXT_ALPHA = 0.9
_IS_SELF = np.array([n in SELF_REPORT for n in NAMES])
_ANCHOR = np.array([NORMAL_PRESSURE.get(n, 0.0) for n in NAMES])

# Self-report measures: component -> (score column, instrument, scale lo, hi,
# direction (+1: higher is worse), label in driver texts, short label for trends)
MEASURES = {
    "burnout": ("burnout", "proqol5", 10, 50, 1, "burnout (ProQOL)", "burnout (ProQOL)"),
    "sts": ("secondary_traumatic_stress", "proqol5", 10, 50, 1,
            "secondary traumatic stress (ProQOL)", "secondary traumatic stress"),
    "low_cs": ("compassion_satisfaction", "proqol5", 10, 50, -1,
               "compassion satisfaction (ProQOL)", "compassion satisfaction"),
    "cbi_personal": ("personal_burnout", "cbi", 0, 100, 1, "personal burnout (CBI)", "personal burnout"),
    "cbi_work": ("work_burnout", "cbi", 0, 100, 1, "work-related burnout (CBI)", "work-related burnout"),
    "cbi_client": ("client_burnout", "cbi", 0, 100, 1, "client-related burnout (CBI)", "client-related burnout"),
    "sib": ("sib_level", "sib", 1, 5, 1, "burnout self-rating", "burnout self-rating"),
    "pulse_strain": ("pulse_strain", "pulse", 0, 100, 1, "weekly pulse strain", "weekly pulse strain"),
}
# A score older than this (weeks) no longer describes the helper: about two
# to three missed administrations at config.CHECKIN_SCHEDULE cadence.
MAX_AGE_WEEKS = {"pulse": 4, "sib": 4, "cbi": 12, "proqol5": 26}
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

MIN_LEAVERS = 20         # separations needed before fitting (≈10 events per
MIN_HELPER_YEARS = 100   # predictor for a 2-predictor model; Peduzzi 1996)
# A fitted model replaces the defaults only if, on the later (hold-out) dates,
# it ranks leavers above stayers at least this often — below it nothing shows
# it is better — ...
MIN_CONCORDANCE = 0.60
# ... and its probabilities are about right: the calibration slope (logistic
# regression of what happened on logit p̂; ideal 1) within this range.  Below
# 0.5 the predictions are far too spread out, above 1.5 far too timid.
CALIBRATION_SLOPE_RANGE = (0.5, 1.5)
# Separations that say nothing about burnout are censored, not counted
# (matched as case-insensitive substrings of end_reason).
DEFAULT_EXCLUDED_REASONS = ("retire", "death", "deceased")


# --------------------------------------------------------------------------- #
# Small public helpers
# --------------------------------------------------------------------------- #

def pressure(name: str, raw) -> np.ndarray:
    """Raw input → pressure 0–1 for component ``name`` (NaN stays NaN)."""
    c = _BY_NAME[name]
    return np.interp(np.asarray(raw, dtype=float), c.xp, c.fp)


def band(risk) -> np.ndarray:
    """'low' (< 40), 'moderate' (40 – < 65), 'high' (≥ 65); None where risk is NaN."""
    r = np.asarray(risk, dtype=float)
    out = np.where(r >= BAND_EDGES[1], "high", np.where(r >= BAND_EDGES[0], "moderate", "low")).astype(object)
    out[np.isnan(r)] = None
    return out


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
    P = np.column_stack([pd.to_numeric(frame[c], errors="coerce").to_numpy(float) if c in frame
                         else np.full(len(frame), np.nan) for c in COMPONENT_COLUMNS])
    risk, _ = _combine(P, w)
    return pd.Series(risk, index=frame.index)


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


# --------------------------------------------------------------------------- #
# Dense helper × week arrays
# --------------------------------------------------------------------------- #

_NAT = np.iinfo(np.int64).min


def _day_numbers(values) -> np.ndarray:
    """Dates → days since 1970-01-01 as int64 (``_NAT`` where missing)."""
    d = pd.to_datetime(pd.Series(values), errors="coerce")
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_localize(None)
    return d.to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def _nearest_monday(values) -> np.ndarray:
    """Week labels → day number of the *nearest* Monday, so Sunday- or
    Saturday-based week starts land on the same ISO week as Monday ones."""
    days = _day_numbers(values)
    dow = (days + 3) % 7                     # 1970-01-01 was a Thursday; Monday = 0
    return np.where(days == _NAT, _NAT, days - ((dow + 3) % 7 - 3))


def _floor_monday(values) -> np.ndarray:
    """Timestamps → day number of the Monday of their week."""
    days = _day_numbers(values)
    return np.where(days == _NAT, _NAT, days - (days + 3) % 7)


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
        cl_week = _nearest_monday(caseload["week_start"]) if len(caseload) else empty
        if len(scores):
            has_week = "week_start" in scores and scores["week_start"].notna().any()
            sc_week = _nearest_monday(scores["week_start"]) if has_week else np.full(len(scores), _NAT)
            if "submitted_at" in scores:
                sc_week = np.where(sc_week == _NAT, _floor_monday(scores["submitted_at"]), sc_week)
        else:
            sc_week = empty

        all_weeks = np.concatenate([cl_week, sc_week])
        all_weeks = all_weeks[all_weeks != _NAT]
        if as_of is not None:
            last = _floor_monday([as_of])[0]
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


def _roster_col(r: pd.DataFrame, col: str) -> pd.Series:
    return r[col] if col in r else pd.Series(np.nan, index=r.index)


def _standards(r: pd.DataFrame) -> np.ndarray:
    """Role standard × FTE per helper: roster value, else the settings default
    for the role, else the team median (ARCHITECTURE: roster frame)."""
    std = pd.to_numeric(_roster_col(r, "caseload_standard"), errors="coerce")
    by_role = {k.lower(): v for k, v in config.CASELOAD_STANDARDS.items()}
    role_std = _roster_col(r, "role").astype("string").str.strip().str.lower().map(by_role)
    std = std.fillna(pd.to_numeric(role_std, errors="coerce"))
    team = _roster_col(r, "team").astype("string")
    std = std.fillna(std.groupby(team).transform("median"))
    fte = pd.to_numeric(_roster_col(r, "fte"), errors="coerce").fillna(1.0)
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


def _plural(n: np.ndarray, word: str) -> list[str]:
    return [f"{int(k)} {word}" + ("" if int(k) == 1 else "s") for k in n]


def _proqol_band(x):
    return np.where(x >= 42, "high", np.where(x > 22, "moderate", "low"))


def _cbi_band(x):
    return np.where(x >= 100, "severe", np.where(x >= 75, "high", np.where(x >= 50, "moderate", "low")))


class _Model:
    """All components on one grid; ``frame(mask)`` assembles output rows."""

    def __init__(self, grid: _Grid, weights):
        self.g = g = grid
        self.w = _weights(weights)
        H, W = g.H, g.W
        r = g.roster
        cols = np.arange(W)
        self.raw: dict[str, np.ndarray] = {}
        self.P: dict[str, np.ndarray] = {}
        self.extra: dict[str, np.ndarray] = {}

        # ---- self-reported scores: latest value within its age limit ------
        sc = g.scores
        trend_rise = []
        any_sub = g.count(sc, g._sc)
        instrument = sc["instrument"].astype("string").str.lower() if "instrument" in sc else None
        for name, (col, instr, lo, hi, sign, _label, _short) in MEASURES.items():
            Y = g.dense(sc, g._sc, col)
            obs = ~np.isnan(Y)
            last = _last_obs(obs)
            age = cols - last
            level = _take(Y, last)
            level[age > MAX_AGE_WEEKS[instr]] = np.nan
            self.raw[name] = level
            self.P[name] = pressure(name, level)
            rise, rise_pts, span, runs = self._trend(Y, obs, last, lo, hi, sign, TREND_WINDOW_WEEKS[instr])
            trend_rise.append(rise)
            self.extra[f"trend_pts_{name}"] = rise_pts
            self.extra[f"trend_span_{name}"] = span
            self.extra[f"trend_run_{name}"] = runs
        R = np.stack(trend_rise)                       # measures × H × W
        has = ~np.isnan(R).all(axis=0)
        best = np.argmax(np.where(np.isnan(R), -np.inf, R), axis=0)
        self.raw["trend"] = np.where(has, np.take_along_axis(np.nan_to_num(R, nan=-np.inf), best[None], 0)[0], np.nan)
        self.P["trend"] = pressure("trend", self.raw["trend"])
        self.extra["trend_measure"] = best

        # ---- workload from the weekly caseload log -------------------------
        cl = g.caseload
        std, fte = _standards(r.reset_index().rename(columns={"index": "helper_id"}))
        std, fte = std[:, None], fte[:, None]
        active = g.dense(cl, g._cl, "active_cases")
        ratio_w = active / std
        self.raw["caseload"] = _roll(ratio_w, WORKLOAD_WINDOW)
        self.raw["acuity"] = _roll(g.dense(cl, g._cl, "high_acuity_cases"), WORKLOAD_WINDOW) / std
        trauma = _roll(g.dense(cl, g._cl, "trauma_exposures"), WORKLOAD_WINDOW)
        self.extra["trauma_per_week"] = trauma
        self.raw["trauma"] = trauma / fte
        self.raw["incidents"] = _roll(g.dense(cl, g._cl, "critical_incidents"), INCIDENT_WINDOW, "sum")
        self.raw["overtime"] = _roll(g.dense(cl, g._cl, "overtime_hours"), WORKLOAD_WINDOW)
        if len(cl):
            cl = cl.assign(_outside=_outside_from_types(cl, r.reset_index().rename(columns={"index": "helper_id"})))
        outside = _roll(g.dense(cl, g._cl, "_outside"), WORKLOAD_WINDOW)
        self.extra["outside_per_week"] = outside
        self.raw["mismatch"] = outside / std
        self.extra["acuity_per_week"] = _roll(g.dense(cl, g._cl, "high_acuity_cases"), WORKLOAD_WINDOW)
        over = np.nan_to_num(ratio_w, nan=0.0) > OVER_STANDARD
        run, last_false = _run_length(over)
        cum = np.zeros((H, W + 1))
        np.cumsum(np.nan_to_num(ratio_w, nan=0.0), axis=1, out=cum[:, 1:])
        with np.errstate(invalid="ignore", divide="ignore"):
            run_mean = (cum[:, 1:] - _take(cum, last_false + 1)) / run
        self.extra["weeks_over"] = run
        self.extra["run_ratio"] = run_mean
        a_obs = ~np.isnan(active)
        a_last = _last_obs(a_obs)
        act = _take(active, a_last)
        act[(cols - a_last) >= WORKLOAD_WINDOW] = np.nan
        self.extra["active_cases"] = act

        # ---- missed check-ins ----------------------------------------------
        if instrument is not None and g._sc is not None:
            weekly_instr = [k for k, v in config.CHECKIN_SCHEDULE.items() if v == 1]
            weekly = g.count(sc, g._sc, instrument.isin(weekly_instr).to_numpy(dtype=bool, na_value=False))
            first = np.argmax(weekly > 0, axis=1).astype(float)
            first[~(weekly > 0).any(axis=1)] = np.inf
            sub = (any_sub > 0) & (cols[None, :] >= first[:, None])
            done = _roll(np.where(sub, 1.0, 0.0), CHECKIN_WINDOW, "sum")
            # completed weeks j−6 … j−1: shift the trailing window by one column
            done = np.concatenate([np.zeros((H, 1)), done[:, :-1]], axis=1)
            expected = np.clip(cols[None, :] - np.maximum(cols[None, :] - CHECKIN_WINDOW, first[:, None]), 0,
                               CHECKIN_WINDOW)
            missed = expected - done
            with np.errstate(invalid="ignore", divide="ignore"):
                self.raw["missed_checkins"] = np.where(expected >= 3, missed / expected, np.nan)
            self.extra["missed"] = missed
            self.extra["expected"] = expected
        else:
            self.raw["missed_checkins"] = np.full((H, W), np.nan)
        for name in ("caseload", "acuity", "trauma", "incidents", "overtime", "mismatch", "missed_checkins"):
            self.P[name] = pressure(name, self.raw[name])

        # ---- which cells exist: employed, and on or after the first data ----
        has_data = ~np.isnan(active) | (any_sub > 0)
        for k in ("high_acuity_cases", "trauma_exposures", "overtime_hours"):
            if k in cl:
                has_data |= ~np.isnan(g.dense(cl, g._cl, k))
        first_data = np.where(has_data.any(axis=1), np.argmax(has_data, axis=1), W)
        monday = g.weeks.to_numpy()
        start = pd.to_datetime(_roster_col(r, "start_date"), errors="coerce").to_numpy()
        end = pd.to_datetime(_roster_col(r, "end_date"), errors="coerce").to_numpy()
        week_end = monday + np.timedelta64(6, "D")
        started = np.isnat(start)[:, None] | (start[:, None] <= week_end[None, :])
        not_left = np.isnat(end)[:, None] | (end[:, None] > monday[None, :])
        self.employed = started & not_left
        self.first_data = first_data

    @staticmethod
    def _trend(Y, obs, last, lo, hi, sign, L):
        """OLS slope of the last ``L`` weeks' administrations, per cell.

        rise = max(0, slope − 2·SE(slope)) × span, in shares of the scale range
        (sign flipped for protective measures).  Needs ≥ 3 administrations.
        Also returns the rise in scale points, the span in weeks, and the run
        of consecutive rises up to the latest administration.
        """
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
            pts = np.where(valid, slope * span * (hi - lo), np.nan)   # signed, scale points, concern direction
        # consecutive rises in the concern direction, across administrations
        hh, ww = np.nonzero(obs)
        v = y[hh, ww]
        same = np.r_[False, hh[1:] == hh[:-1]]
        up = same & (v > np.r_[np.inf, v[:-1]])
        idx = np.arange(len(v))
        run = idx - np.maximum.accumulate(np.where(~up, idx, -1)) if len(v) else idx
        R = np.zeros((H, W))
        R[hh, ww] = run
        runs = _take(R, last)
        return rise, pts, span, runs

    # ------------------------------------------------------------------ #
    def frame(self, mask: np.ndarray, drivers: bool = True) -> pd.DataFrame:
        g = self.g
        hs, js = np.nonzero(mask)
        P = np.column_stack([self.P[n][hs, js] for n in NAMES]) if len(hs) else np.empty((0, len(NAMES)))
        risk, conf = _combine(P, self.w)
        team = _roster_col(g.roster, "team").to_numpy(object)
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
        extra = np.column_stack([self.extra["active_cases"][hs, js], self.raw["caseload"][hs, js],
                                 self.extra["weeks_over"][hs, js].astype(float), self.raw["acuity"][hs, js],
                                 self.raw["mismatch"][hs, js]])
        block = pd.DataFrame(np.hstack([P, extra]),
                             columns=list(COMPONENT_COLUMNS) + ["active_cases", "caseload_ratio",
                                                                "weeks_over_standard", "acuity_rel", "mismatch_rel"])
        return pd.concat([pd.DataFrame(out), block], axis=1)

    def _drivers(self, P, hs, js):
        n = len(hs)
        excess = driver_points(P, self.w)
        order = np.argsort(-excess, axis=1, kind="stable")[:, :3]
        texts = [np.full(n, "", dtype=object) for _ in range(3)]
        for slot in range(3):
            k_col = order[:, slot] if n else np.zeros(0, int)
            chosen = excess[np.arange(n), k_col] > -np.inf if n else np.zeros(0, bool)
            for k, name in enumerate(NAMES):
                rows = np.nonzero(chosen & (k_col == k))[0]
                if len(rows):
                    texts[slot][rows] = self._text(name, hs[rows], js[rows])
        return texts

    def _text(self, name, h, j) -> list[str]:
        """Plain, non-judgmental words for one driver (about work, not the person)."""
        raw, ex = self.raw, self.extra
        if name in MEASURES:
            col, instr, lo, hi, sign, label, _ = MEASURES[name]
            x = raw[name][h, j]
            if name == "cbi_client":
                words = self._client_words(h)
                return [f"{cw}-related burnout (CBI) {v:.0f} of 100, {b} range"
                        for cw, v, b in zip(words, x, _cbi_band(x))]
            if instr == "proqol5":
                return [f"{label} {v:.0f} of 50, {b} range" for v, b in zip(x, _proqol_band(x))]
            if instr == "cbi":
                return [f"{label} {v:.0f} of 100, {b} range" for v, b in zip(x, _cbi_band(x))]
            if instr == "sib":
                return [f"{label} {v:.0f} of 5" for v in x]
            return [f"{label} {v:.0f} of 100" for v in x]
        if name == "trend":
            names = list(MEASURES)
            out = []
            for hh, jj, m in zip(h, j, self.extra["trend_measure"][h, j]):
                mname = names[m]
                short = MEASURES[mname][6]
                verb, dir_word = ("falling", "down") if MEASURES[mname][4] < 0 else ("rising", "up")
                run = ex[f"trend_run_{mname}"][hh, jj]
                if run >= 2:
                    out.append(f"{short} {verb} {int(run)} check-ins in a row")
                else:
                    pts = abs(ex[f"trend_pts_{mname}"][hh, jj])
                    span = int(ex[f"trend_span_{mname}"][hh, jj])
                    fmt = ".1f" if mname == "sib" else ".0f"
                    out.append(f"{short} {dir_word} {pts:{fmt}} points over {span} weeks")
            return out
        if name == "caseload":
            weeks = ex["weeks_over"][h, j]
            run_pct = ex["run_ratio"][h, j] * 100
            avg_pct = raw["caseload"][h, j] * 100
            return [f"caseload {rp:.0f} % of the role standard for {int(wk)} week{'s' if wk != 1 else ''}"
                    if wk >= 1 else f"caseload averaging {ap:.0f} % of the role standard over the last 4 weeks"
                    for wk, rp, ap in zip(weeks, run_pct, avg_pct)]
        if name == "acuity":
            return [f"{c:.0f} high-acuity cases on average, {p * 100:.0f} % of the role standard caseload"
                    for c, p in zip(ex["acuity_per_week"][h, j], raw["acuity"][h, j])]
        if name == "trauma":
            return [f"{x:.1f} trauma exposures a week over the last 4 weeks" for x in ex["trauma_per_week"][h, j]]
        if name == "incidents":
            x = raw["incidents"][h, j]
            return [f"{int(round(v))} critical incident{'s' if round(v) != 1 else ''} in the last 8 weeks"
                    for v in x]
        if name == "overtime":
            return [f"{x:.0f} hours of overtime a week over the last 4 weeks" for x in raw["overtime"][h, j]]
        if name == "mismatch":
            return [f"about {x:.0f} cases outside the helper's areas of specialty"
                    for x in ex["outside_per_week"][h, j]]
        if name == "missed_checkins":
            return [f"no check-in received in {int(m)} of the last {int(e)} weeks"
                    for m, e in zip(ex["missed"][h, j], ex["expected"][h, j])]
        return [name] * len(h)

    def _client_words(self, h):
        kind = _roster_col(self.g.roster, "team_kind").to_numpy(object)[h]
        return [config.TEAM_KINDS.get(k, {}).get("client_word", "client") if isinstance(k, str) else "client"
                for k in kind]


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
                 as_of=None, weights: dict | None = None, *, drivers: bool = True) -> pd.DataFrame:
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
    """
    grid = _Grid(roster, caseload, scores, as_of)
    if grid.empty or grid.W == 0 or grid.H == 0:
        return _empty()
    m = _Model(grid, weights)
    mask = m.employed & (np.arange(grid.W)[None, :] >= m.first_data[:, None])
    return m.frame(mask, drivers=drivers)[OUTPUT_COLUMNS]


def latest_risk(roster: pd.DataFrame, caseload: pd.DataFrame, scores: pd.DataFrame,
                as_of=None, weights: dict | None = None) -> pd.DataFrame:
    """Risk for the single week containing ``as_of`` (default: the latest week with data).

    One row per helper active that week (roster start/end dates; no end_date
    or end_date after the week's Monday) plus any helper with data that week
    who is missing from the roster.  Helpers with no usable data get NaN risk,
    confidence 0 and empty drivers.  Columns as ``compute_risk``.
    """
    grid = _Grid(roster, caseload, scores, as_of, lookback_weeks=_LOOKBACK_WEEKS)
    if grid.empty or grid.W == 0 or grid.H == 0:
        return _empty()
    m = _Model(grid, weights)
    # Active on the as-of *date* (DESIGN §5: no end_date or end_date > as_of),
    # which may fall mid-week; without an as_of it is the week's Monday.
    day = pd.Timestamp(as_of).normalize() if as_of is not None else grid.as_of_week
    r = grid.roster
    start = pd.to_datetime(_roster_col(r, "start_date"), errors="coerce")
    end = pd.to_datetime(_roster_col(r, "end_date"), errors="coerce")
    active = ((start.isna() | (start <= day)) & (end.isna() | (end > day))).to_numpy(bool)
    in_roster = grid.roster.index.isin(roster["helper_id"]) if roster is not None and len(roster) else \
        np.zeros(grid.H, bool)
    col = grid.W - 1
    mask = np.zeros((grid.H, grid.W), bool)
    mask[:, col] = active & (in_roster | (m.first_data <= col))
    return m.frame(mask)[OUTPUT_COLUMNS]


# --------------------------------------------------------------------------- #
# Calibration on the organisation's own separations
# --------------------------------------------------------------------------- #

@dataclass
class CalibrationResult:
    """Outcome of ``calibrate``.

    ``used`` is ``'fitted'`` or ``'defaults'``; ``reason`` says why in plain
    words; ``metrics`` holds the hold-out figures (``concordance``, ``auc``,
    ``calibration_slope``, ``calibration_intercept``, ``observed_expected``,
    ``deciles``: list of {bin, n, predicted, observed}).  ``coefficients`` are
    Cox log hazard ratios per standard deviation of each feature.
    """

    used: str
    reason: str
    n_helpers: int = 0
    n_leavers: int = 0
    helper_years: float = 0.0
    horizon_weeks: int = 52
    features: list = field(default_factory=list)
    coefficients: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    model: object = None
    _center: dict = field(default_factory=dict, repr=False)
    _scale: dict = field(default_factory=dict, repr=False)
    _fill: dict = field(default_factory=dict, repr=False)

    def _design(self, frame: pd.DataFrame) -> pd.DataFrame:
        X = pd.DataFrame(index=frame.index)
        for f in self.features:
            v = pd.to_numeric(frame[f], errors="coerce") if f in frame else pd.Series(np.nan, index=frame.index)
            X[f] = (v.fillna(self._fill[f]) - self._center[f]) / self._scale[f]
        return X

    def predict_p_leave(self, frame: pd.DataFrame) -> np.ndarray:
        """12-month leaving probability ``1 − S(horizon | x)`` for rows of ``frame``
        (NaN everywhere when the defaults are in use)."""
        if self.used != "fitted" or self.model is None:
            return np.full(len(frame), np.nan)
        X = self._design(frame)
        sf = self.model.predict_survival_function(X, times=[float(self.horizon_weeks)])
        return 1.0 - sf.to_numpy()[0]

    def to_dict(self) -> dict:
        return {"used": self.used, "reason": self.reason, "n_helpers": self.n_helpers,
                "n_leavers": self.n_leavers, "helper_years": self.helper_years,
                "horizon_weeks": self.horizon_weeks, "features": list(self.features),
                "coefficients": dict(self.coefficients), "metrics": dict(self.metrics)}


def _excluded(reason: pd.Series, patterns) -> pd.Series:
    """end_reason contains any of ``patterns`` (case-insensitive)."""
    out = pd.Series(False, index=reason.index)
    text = reason.astype("string").str.lower()
    for pat in patterns or ():
        out |= text.str.contains(str(pat).lower(), regex=False).fillna(False).astype(bool)
    return out


def _landmarks(roster, history, as_of, horizon, every, exclude_reasons):
    """Landmark rows: the helper's risk inputs at week L, then time to leaving.

    duration = weeks from L to the first of (end_date, as_of, L + horizon);
    event = left in that interval for a reason not excluded.
    """
    r = roster.drop_duplicates("helper_id").set_index("helper_id")
    end = pd.to_datetime(_roster_col(r, "end_date"), errors="coerce")
    reason = _roster_col(r, "end_reason").astype("string").str.lower()
    counted = ~_excluded(reason, exclude_reasons)
    weeks = np.sort(history["week_start"].unique())
    marks = weeks[::every]
    rows = history[history["week_start"].isin(marks)].copy()
    rows["end"] = rows["helper_id"].map(end)
    rows["counted"] = rows["helper_id"].map(counted).fillna(True).astype(bool)
    stop = (rows["week_start"] + pd.Timedelta(weeks=horizon)).clip(upper=as_of)
    leaves = rows["end"].notna() & (rows["end"] > rows["week_start"]) & (rows["end"] <= stop)
    until = rows["end"].where(leaves, stop)
    rows["duration"] = (until - rows["week_start"]).dt.days / 7.0
    rows["event"] = (leaves & rows["counted"]).astype(int)
    return rows[rows["duration"] > 0]


def calibrate(roster: pd.DataFrame, risk_history: pd.DataFrame, as_of=None, *,
              horizon_weeks: int = 52, landmark_every: int = 13,
              min_leavers: int = MIN_LEAVERS, min_helper_years: float = MIN_HELPER_YEARS,
              holdout: float = 0.3, features: list | None = None,
              exclude_reasons=DEFAULT_EXCLUDED_REASONS, penalizer: float = 0.01,
              min_concordance: float = MIN_CONCORDANCE,
              slope_range: tuple = CALIBRATION_SLOPE_RANGE) -> CalibrationResult:
    """Fit 12-month leaving on the risk inputs, validated on later dates.

    Data: landmark rows every ``landmark_every`` weeks — each employed
    helper's ``c_<component>`` pressures (and ``risk_score``) at the landmark,
    followed up to ``horizon_weeks`` for leaving (roster ``end_date``; reasons
    containing any of ``exclude_reasons`` — by default retirement and death —
    count as censored, not as leaving).

    Minimum data: ≥ ``MIN_LEAVERS`` (20) helpers who left and ≥
    ``MIN_HELPER_YEARS`` (100) helper-years of history; otherwise the
    documented default weights stand and ``reason`` says so.

    Model: lifelines ``CoxPHFitter`` (ridge ``penalizer``) on standardised
    features, so censoring at ``as_of`` is handled.  With fewer than 10 train
    events per candidate feature (Peduzzi 1996) only ``risk_score`` is used —
    a recalibration of the default score rather than new weights.

    Validation: a time split over the landmark dates that have a full
    ``horizon_weeks`` of follow-up — the earliest ``1 − holdout`` of them
    train, the later ones test (the training outcomes may overlap the test
    dates; the test rows' own inputs are never seen).  Reported on the test set:
    Harrell's concordance; among rows whose 12-month outcome is known, AUC,
    calibration intercept and slope (logistic regression of the outcome on
    logit p̂; ideal 0 and 1), observed/expected ratio and observed vs mean
    predicted by decile.  The model returned is then refitted on all
    landmarks.  The fitted model is used only if on the hold-out the
    concordance is at least ``min_concordance`` (0.60) *and* the calibration
    slope lies within ``slope_range`` (0.5–1.5); otherwise the defaults stay
    in use, ``reason`` says which check failed and the metrics are still
    reported.  lifelines and scikit-learn are imported only once the data are
    known to be thick enough.
    """
    hist = risk_history
    if hist is None or len(hist) == 0:
        return CalibrationResult("defaults", "No risk history yet, so the documented default weights are used.")
    hist = hist.copy()
    hist["week_start"] = pd.to_datetime(hist["week_start"])
    as_of = pd.Timestamp(as_of) if as_of is not None else hist["week_start"].max() + pd.Timedelta(days=6)
    hist = hist[hist["week_start"] <= as_of]
    first = hist["week_start"].min()
    helper_years = len(hist) / 52.18
    end = pd.to_datetime(_roster_col(roster, "end_date"), errors="coerce")
    reason_s = _roster_col(roster, "end_reason").astype("string").str.lower()
    excluded = _excluded(reason_s, exclude_reasons)
    left = roster.loc[end.notna() & (end > first) & (end <= as_of) & ~excluded, "helper_id"]
    n_leavers = int(pd.Series(left).nunique())
    n_helpers = int(hist["helper_id"].nunique())
    base = dict(n_helpers=n_helpers, n_leavers=n_leavers, helper_years=round(helper_years, 1),
                horizon_weeks=horizon_weeks)
    if n_leavers < min_leavers or helper_years < min_helper_years:
        return CalibrationResult(
            "defaults",
            f"{n_leavers} helper{'s' if n_leavers != 1 else ''} left during {helper_years:.0f} helper-years "
            f"on record; fitting needs at least {min_leavers} leavers and {min_helper_years:g} helper-years, "
            "so the documented default weights and turnover rates are used.", **base)

    lm = _landmarks(roster, hist, as_of, horizon_weeks, landmark_every, exclude_reasons)
    # Only landmarks followed for the whole horizon can be checked against what
    # happened; later ones are censored and join the final refit only.
    complete_by = as_of - pd.Timedelta(weeks=horizon_weeks)
    dates = np.sort(lm.loc[lm["week_start"] <= complete_by, "week_start"].unique())
    if len(dates) < 2:
        return CalibrationResult(
            "defaults",
            f"Checking a fitted model needs at least two dates followed for a full {horizon_weeks} weeks "
            f"(about {horizon_weeks + 2 * landmark_every} weeks of history); the documented defaults are used.",
            **base)
    cut = dates[min(max(int(np.floor(len(dates) * (1 - holdout))), 1), len(dates) - 1)]
    train = lm[lm["week_start"] < cut]
    test = lm[(lm["week_start"] >= cut) & (lm["week_start"] <= complete_by)]
    tr_events = int(train.loc[train["event"] == 1, "helper_id"].nunique())
    te_events = int(test["event"].sum())
    if tr_events < 10 or te_events < 5:
        return CalibrationResult(
            "defaults",
            f"After splitting by date there are {tr_events} leavers to learn from and {te_events} to check "
            "against (need at least 10 and 5), so the documented defaults are used.", **base)

    from lifelines import CoxPHFitter          # only now: the data are thick enough to fit
    from lifelines.utils import concordance_index

    cands = features or [c for c in COMPONENT_COLUMNS if c in train]
    cands = [c for c in cands if c in train and train[c].notna().mean() >= 0.5 and train[c].std(skipna=True) > 1e-9]
    if features is None and (len(cands) == 0 or tr_events < 10 * len(cands)):
        cands = ["risk_score"]
    res = CalibrationResult("fitted", "", features=cands, **base)

    def fit(rows):
        res._fill = {c: float(rows[c].median()) if rows[c].notna().any() else 0.0 for c in cands}
        res._center = {c: float(rows[c].fillna(res._fill[c]).mean()) for c in cands}
        sd = {c: float(rows[c].fillna(res._fill[c]).std()) for c in cands}
        res._scale = {c: v if np.isfinite(v) and v > 1e-12 else 1.0 for c, v in sd.items()}
        X = res._design(rows)
        X["duration"], X["event"] = rows["duration"].to_numpy(), rows["event"].to_numpy()
        cph = CoxPHFitter(penalizer=penalizer)
        cph.fit(X, duration_col="duration", event_col="event")
        return cph

    try:
        res.model = fit(train)
        Xt = res._design(test)
        hz = res.model.predict_partial_hazard(Xt).to_numpy()
        concordance = float(concordance_index(test["duration"], -hz, test["event"]))
        p = res.predict_p_leave(test)
        known = (test["event"] == 1) | (test["duration"] >= horizon_weeks - 1e-9)
        metrics = {"concordance": round(concordance, 3), "test_rows": int(len(test)),
                   "test_events": te_events, "train_rows": int(len(train)), "train_leavers": tr_events,
                   "split_date": str(pd.Timestamp(cut).date())}
        metrics.update(_calibration_metrics(test.loc[known, "event"].to_numpy(), p[known.to_numpy()]))
        res.model = fit(lm)  # final model on every landmark; metrics above are out-of-time
    except Exception as exc:  # a degenerate fit must not take the report down; the reason is kept
        logger.warning("calibration fit failed", exc_info=True)
        return CalibrationResult("defaults", f"The model could not be fitted ({type(exc).__name__}: {exc}); "
                                 "the documented defaults are used.", **base)
    res.coefficients = {c: round(float(res.model.params_[c]), 4) for c in cands}
    res.metrics = metrics
    slope = metrics.get("calibration_slope")
    lo, hi = slope_range
    if concordance < min_concordance:
        res.used, res.model = "defaults", None
        res.reason = (f"A model fitted on {n_leavers} leavers ranked later leavers above stayers only "
                      f"{concordance:.0%} of the time (concordance {concordance:.2f}, below "
                      f"{min_concordance:.2f}), so the documented defaults are used.")
        return res
    if slope is None or not (lo <= slope <= hi):
        res.used, res.model = "defaults", None
        what = ("could not be checked on the later dates" if slope is None else
                f"were off on the later dates (calibration slope {slope:.2f}, outside {lo:g}–{hi:g})")
        res.reason = (f"A model fitted on {n_leavers} leavers ranked leavers well (concordance "
                      f"{concordance:.2f}) but its probabilities {what}, so the documented defaults are used.")
        return res
    res.reason = (f"Fitted on {n_leavers} leavers over {helper_years:.0f} helper-years; on later dates "
                  f"(from {metrics['split_date']}) the model ranked leavers above "
                  f"stayers {concordance:.0%} of the time (concordance {concordance:.2f}) and its "
                  f"probabilities held up (calibration slope {slope:.2f}).")
    return res


def _calibration_metrics(y: np.ndarray, p: np.ndarray) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    out: dict = {"known_outcome_rows": int(len(y))}
    if len(y) == 0:
        return out
    out["observed_expected"] = round(float(y.sum() / max(p.sum(), 1e-12)), 3)
    if 0 < y.sum() < len(y):
        out["auc"] = round(float(roc_auc_score(y, p)), 3)
        if y.sum() >= 5:
            lp = np.log(np.clip(p, 1e-6, 1 - 1e-6) / (1 - np.clip(p, 1e-6, 1 - 1e-6)))
            lr = LogisticRegression(C=1e6).fit(lp.reshape(-1, 1), y)
            out["calibration_slope"] = round(float(lr.coef_[0][0]), 3)
            out["calibration_intercept"] = round(float(lr.intercept_[0]), 3)
    bins = min(10, max(1, len(y) // 20))
    q = pd.qcut(pd.Series(p).rank(method="first"), bins, labels=False) if bins > 1 else np.zeros(len(p), int)
    df = pd.DataFrame({"bin": np.asarray(q) + 1, "p": p, "y": y})
    out["deciles"] = [{"bin": int(b), "n": int(len(g)), "predicted": round(float(g["p"].mean()), 4),
                       "observed": round(float(g["y"].mean()), 4)} for b, g in df.groupby("bin")]
    return out


def burnout_link(risk_history: pd.DataFrame, scores: pd.DataFrame, *, min_rows: int = 50,
                 min_each: int = 10, max_rows: int = 50_000) -> dict:
    """Fit the risk → probability-of-burnout link to the organisation's own data.

    turnover.helper_impact turns the risk into the probability ``q`` of being
    burned out with ``q = 1 / (1 + exp(−(risk − m)/s))``.  The default
    ``m = 52.5, s = 7`` is an assumption; here ``m`` and ``s`` are fitted
    (logistic regression) to the single-item measure's burned-out flag
    (``sib_level ≥ 3``, Dolan 2015 — the same kind of measure as the burnout
    prevalence in Shanafelt's model) at the helper-weeks where both exist.

    Needs ``min_rows`` matched administrations with at least ``min_each`` on
    each side and a positive slope.  Returns ``{"used": "fitted"|"defaults",
    "reason", "n", "burnout_midpoint", "burnout_scale"}`` (the two numbers only
    when fitted).  scikit-learn is imported only when there is enough to fit.
    """
    out = {"used": "defaults", "n": 0}
    if risk_history is None or scores is None or len(risk_history) == 0 or "sib_level" not in scores:
        out["reason"] = "No single-item burnout ratings to fit against; the default link is used."
        return out
    sib = scores.loc[pd.to_numeric(scores["sib_level"], errors="coerce").notna(), ["helper_id", "sib_level"]].copy()
    wk = scores.loc[sib.index, "week_start"] if "week_start" in scores else None
    week = _nearest_monday(wk) if wk is not None and wk.notna().all() else _floor_monday(
        scores.loc[sib.index, "submitted_at"])
    sib["week_start"] = pd.to_datetime(week.astype("datetime64[D]"))
    hist = risk_history[["helper_id", "week_start", "risk_score"]].dropna()
    m = sib.merge(hist.assign(week_start=pd.to_datetime(hist["week_start"])), on=["helper_id", "week_start"])
    if len(m) > max_rows:
        m = m.sample(max_rows, random_state=0)
    y = (pd.to_numeric(m["sib_level"]) >= 3).to_numpy(int)
    out["n"] = int(len(m))
    if len(m) < min_rows or y.sum() < min_each or (len(y) - y.sum()) < min_each:
        out["reason"] = (f"{len(m)} single-item ratings matched to a risk score ({int(y.sum())} burned out); "
                         f"fitting needs {min_rows} with {min_each} on each side, so the default link is used.")
        return out
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e6).fit(m[["risk_score"]].to_numpy(float), y)
    b, a = float(lr.coef_[0][0]), float(lr.intercept_[0])
    if not b > 0:
        out["reason"] = "Risk did not rise with the single-item burnout rating here; the default link is used."
        return out
    out.update(used="fitted", burnout_midpoint=-a / b, burnout_scale=1.0 / b,
               reason=(f"Fitted on {len(m)} single-item ratings ({y.mean():.0%} at 3 or above): "
                       f"a risk of {-a / b:.0f} means an even chance of being burned out."))
    return out


# --------------------------------------------------------------------------- #
# Which model gives the probability of leaving: one rule for CLI and review
# --------------------------------------------------------------------------- #

def _fmt(v, spec: str = ".2f") -> str:
    return "not computable" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, spec)


@dataclass
class LeavingModel:
    """How ``p_leave_12m`` is computed, decided once by ``leaving_model``.

    ``calibration``: the organisation's own Cox model when it validated on the
    hold-out (``used == 'fitted'``), else the documented defaults with the
    reason.  ``link``: the risk → burnout link (``burnout_link``; ``used`` is
    'fitted', 'defaults' or 'settings' when an admin set it).  Both the ``risk``
    command and the HR review compute per-helper figures through
    ``helper_impact`` below, so they always agree.
    """

    calibration: CalibrationResult
    link: dict

    def turnover_settings(self, settings: dict | None = None) -> dict:
        """``settings`` with the fitted risk → burnout link, unless an admin set one."""
        out = dict(settings or {})
        if self.link.get("used") == "fitted" and "burnout_midpoint" not in out:
            out["burnout_midpoint"] = float(self.link["burnout_midpoint"])
            out["burnout_scale"] = float(self.link["burnout_scale"])
        return out

    def helper_impact(self, roster: pd.DataFrame, latest: pd.DataFrame, settings: dict | None = None):
        """``turnover.helper_impact`` under this model: the fitted Cox probability of
        leaving when the calibration was accepted, else the Shanafelt mixture."""
        from burnout.turnover import helper_impact

        return helper_impact(roster, latest, self.turnover_settings(settings), calibration=self.calibration)

    @property
    def fitted(self) -> bool:
        return self.calibration.used == "fitted"

    def summary(self) -> str:
        """One line: which model gives the probability of leaving, and why."""
        c, m = self.calibration, self.calibration.metrics
        if self.fitted:
            return (f"Probability of leaving: the organisation's own model (Cox, fitted on {c.n_leavers} leavers "
                    f"over {c.helper_years:g} helper-years). Checked on later dates (from {m.get('split_date')}): "
                    f"concordance {_fmt(m.get('concordance'))}, AUC {_fmt(m.get('auc'))}, calibration slope "
                    f"{_fmt(m.get('calibration_slope'))} and intercept {_fmt(m.get('calibration_intercept'))} "
                    "(ideal 1 and 0).")
        figures = ""
        if m.get("concordance") is not None:
            figures = (f" Hold-out figures of the model that was tried: concordance {_fmt(m.get('concordance'))}, "
                       f"AUC {_fmt(m.get('auc'))}, calibration slope {_fmt(m.get('calibration_slope'))}, "
                       f"intercept {_fmt(m.get('calibration_intercept'))}.")
        return ("Probability of leaving: the documented defaults (base turnover for the kind of team, raised "
                f"for burnout by the relative risk; Shanafelt 2017). {c.reason}{figures}")

    def link_text(self) -> str:
        link = self.link or {}
        how = {"fitted": "fitted to the organisation's single-item ratings",
               "settings": "set by the organisation in Settings"}.get(link.get("used"), "the default assumption")
        return f"{how}. {link.get('reason', '')}".strip()

    def describe(self) -> list[str]:
        """Plain lines for the ``risk`` command's stderr and the review."""
        return [self.summary(), f"Risk to burnout probability: {self.link_text()}"]

    def table(self) -> pd.DataFrame:
        """Figure / Value rows for the review's exports (aggregate figures only)."""
        c, m = self.calibration, self.calibration.metrics
        rows = [("Probability of leaving from", "the organisation's own model (Cox)" if self.fitted
                 else "documented defaults (Shanafelt mixture model)"),
                ("Why", c.reason),
                ("Helpers who left (counted)", c.n_leavers),
                ("Helper-years of history", c.helper_years),
                ("Needed to fit", f"at least {MIN_LEAVERS} leavers and {MIN_HELPER_YEARS} helper-years")]
        if m:
            rows += [("Hold-out: later dates from", m.get("split_date")),
                     ("Hold-out: concordance (0.5 = chance, 1 = perfect)", m.get("concordance")),
                     ("Hold-out: AUC", m.get("auc")),
                     ("Hold-out: calibration slope (ideal 1)", m.get("calibration_slope")),
                     ("Hold-out: calibration intercept (ideal 0)", m.get("calibration_intercept")),
                     ("Hold-out: observed / expected leavers", m.get("observed_expected")),
                     ("Accepted when", f"concordance at least {MIN_CONCORDANCE:.2f} and calibration slope "
                                       f"{CALIBRATION_SLOPE_RANGE[0]:g}-{CALIBRATION_SLOPE_RANGE[1]:g}")]
        rows.append(("Risk to burnout probability", self.link_text()))
        return pd.DataFrame([(k, "" if v is None else v) for k, v in rows],
                            columns=["Figure", "Value"]).astype({"Value": object})

    def to_dict(self) -> dict:
        return {"calibration": self.calibration.to_dict(), "link": dict(self.link), "text": self.describe()}


def _week_end(history: pd.DataFrame, as_of) -> pd.Timestamp | None:
    """Sunday ending the as-of week (the last day whose leaving is known)."""
    if as_of is not None:
        day = pd.Timestamp(as_of).normalize()
    elif history is not None and len(history):
        day = pd.to_datetime(history["week_start"]).max()
    else:
        return None
    return day - pd.Timedelta(days=day.weekday()) + pd.Timedelta(days=6)


def leaving_model(roster: pd.DataFrame, history: pd.DataFrame, scores: pd.DataFrame, as_of=None,
                  settings: dict | None = None) -> LeavingModel:
    """Decide how the probability of leaving is computed — the one rule that the
    ``risk`` command (``risk_report``) and the HR review (``reports``) share.

    ``history``: ``compute_risk`` up to ``as_of``.  The organisation's own Cox
    model (``calibrate``) is used when it has enough separations *and*
    validates on the time-split hold-out (concordance ≥ 0.60, calibration slope
    0.5–1.5); otherwise the documented defaults (Shanafelt mixture).  The risk →
    burnout link is fitted to the single-item ratings (``burnout_link``) unless
    ``settings`` hold an admin's ``burnout_midpoint``.

    Never raises for a failed fit: an unexpected error falls back to the
    defaults, with the error named in the reason (and logged).
    """
    settings = settings or {}
    end = _week_end(history, as_of)
    try:
        cal = calibrate(roster, history, as_of=end)
    except Exception as exc:  # fall back, but say why: never silently
        logger.warning("calibration failed", exc_info=True)
        cal = CalibrationResult("defaults", f"The organisation's own model could not be checked "
                                            f"({type(exc).__name__}: {exc}); the documented defaults are used.")
    if "burnout_midpoint" in settings:
        link = {"used": "settings", "n": 0,
                "reason": f"Midpoint {float(settings['burnout_midpoint']):.1f} as set by the organisation."}
    else:
        try:
            link = burnout_link(history, scores)
        except Exception as exc:
            logger.warning("burnout link fit failed", exc_info=True)
            link = {"used": "defaults", "n": 0,
                    "reason": f"The link could not be fitted ({type(exc).__name__}: {exc}); the default is used."}
    return LeavingModel(cal, link)


def parse_as_of(as_of) -> pd.Timestamp | None:
    """``None`` or a date; anything else is an ``InputError`` with a plain message."""
    if as_of is None:
        return None
    if isinstance(as_of, str) and not as_of.strip():
        raise InputError("the as-of date is empty; give a date such as 2024-06-30")
    try:
        day = pd.Timestamp(as_of)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"the as-of date {as_of!r} is not a valid date; use YYYY-MM-DD, e.g. 2024-06-30") from None
    if pd.isna(day):
        raise InputError(f"the as-of date {as_of!r} is not a valid date; use YYYY-MM-DD, e.g. 2024-06-30")
    return day.tz_localize(None) if day.tzinfo is not None else day


# --------------------------------------------------------------------------- #
# The CLI / report table
# --------------------------------------------------------------------------- #

REPORT_COLUMNS = ["helper_id", "team", "risk_score", "risk_band", "p_leave_12m",
                  "expected_turnover_cost", "clients_affected", "driver_1", "driver_2", "driver_3"]


def _load_settings(engine, frames) -> dict:
    loader = getattr(frames, "settings", None)
    if callable(loader):
        try:
            value = loader(engine)
            return dict(value) if value is not None else {}
        except Exception:  # settings are optional; defaults are documented
            return {}
    return {}


def risk_report(engine, as_of=None, settings: dict | None = None, *, details: bool = False):
    """One row per active helper as of ``as_of`` (DESIGN §5 ``risk`` command).

    Reads ``burnout.store.frames.roster/caseload/scores(engine)``; ``as_of``
    defaults to the latest week with data (an unreadable date is an
    ``InputError``).  Active = no end_date or end_date after ``as_of`` (the
    week's Monday when not given).  ``p_leave_12m`` follows ``leaving_model``
    — the same rule as the HR review.  A helper with no self-reported score in
    the window has an empty ``risk_score`` and ``risk_band``.

    Columns: ``helper_id, team, risk_score, risk_band, p_leave_12m,
    expected_turnover_cost, clients_affected, driver_1, driver_2, driver_3``.
    With ``details=True`` returns ``(table, LeavingModel)``.
    """
    from burnout.store import frames

    as_of = parse_as_of(as_of)
    roster = frames.roster(engine)
    caseload = frames.caseload(engine)
    scores = frames.scores(engine)
    settings = {**_load_settings(engine, frames), **(settings or {})}
    latest = latest_risk(roster, caseload, scores, as_of=as_of, weights=settings.get("risk_weights"))
    if latest.empty:
        model = LeavingModel(CalibrationResult("defaults", "No data yet, so the documented defaults are used."),
                             {"used": "defaults", "n": 0, "reason": "No data yet."})
        table = pd.DataFrame(columns=REPORT_COLUMNS)
        return (table, model) if details else table
    history = compute_risk(roster, caseload, scores, as_of=as_of, weights=settings.get("risk_weights"),
                           drivers=False)
    model = leaving_model(roster, history, scores, as_of=latest["week_start"].max(), settings=settings)
    ids = latest[["helper_id"]]
    roster_part = ids.merge(roster.drop_duplicates("helper_id"), on="helper_id", how="left") \
        if "helper_id" in roster else ids
    impact = model.helper_impact(roster_part, latest, settings).set_index("helper_id")
    out = latest.set_index("helper_id")
    table = pd.DataFrame({
        "helper_id": out.index,
        "team": out["team"].to_numpy(),
        "risk_score": out["risk_score"].round(1).to_numpy(),
        "risk_band": out["risk_band"].to_numpy(),
        "p_leave_12m": impact["p_leave_12m"].reindex(out.index).round(4).to_numpy(),
        "expected_turnover_cost": impact["expected_turnover_cost"].reindex(out.index).round(2).to_numpy(),
        "clients_affected": impact["clients_affected"].reindex(out.index).round(2).to_numpy(),
        "driver_1": out["driver_1"].to_numpy(),
        "driver_2": out["driver_2"].to_numpy(),
        "driver_3": out["driver_3"].to_numpy(),
    })
    table = table[REPORT_COLUMNS].sort_values(["team", "helper_id"], na_position="last").reset_index(drop=True)
    return (table, model) if details else table
