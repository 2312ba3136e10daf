"""The probability of leaving within 12 months: which model gives it, and how it was checked.

One rule for the ``risk`` command and the HR review alike (:func:`leaving_model`):
the organisation's own Cox model (:func:`calibrate`, lifelines) when it has
enough separations *and* validates on a time-split hold-out; otherwise the
documented defaults — the Shanafelt mixture model in ``burnout.turnover``.
The risk → probability-of-burnout link is fitted to the organisation's own
single-item ratings (:func:`burnout_link`) unless an admin set it; it is
fitted on the risk recomputed *without* the single item, so the item is never
both input and outcome.  The organisation's own recent turnover
(:func:`observed_turnover`, from the roster's leavers over the last 12–24
months) replaces the national base rates when the roster holds it.

Sits between the risk model (whose history it learns from) and the turnover
model (which turns its probabilities into leavers, money and clients).
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from burnout import risk as R
from burnout.domain.settings import Settings, resolve
from burnout.domain.time import now, week_end
from burnout.risk import COMPONENT_COLUMNS, floor_monday, nearest_monday, roster_col

logger = logging.getLogger(__name__)

__all__ = ["CALIBRATION_SLOPE_RANGE", "DEFAULT_BURNOUT_MIDPOINT", "DEFAULT_BURNOUT_SCALE", "MIN_CONCORDANCE",
           "MIN_HELPER_YEARS", "MIN_LEAVERS", "CalibrationResult", "LeavingModel", "ObservedTurnover",
           "FittedWeights", "HISTORY_COLUMNS", "WEIGHTS_FITTED", "WEIGHTS_NATIONAL", "WEIGHTS_SET", "burnout_link", "burnout_probability", "calibrate", "fit_risk_weights",
           "leaving_model", "link_parameters",
           "observed_turnover", "recalibrate", "training_end", "weights_basis", "weights_text"]

# What the leaving model and the weights' refit read of each stored helper-week, beside
# its helper and week: the rest (bands, drivers, caseload context) is not read for them.
HISTORY_COLUMNS = ("risk_score", *COMPONENT_COLUMNS)
MIN_LEAVERS = 20         # separations needed before fitting (≈10 events per
MIN_HELPER_YEARS = 100   # predictor for a 2-predictor model; Peduzzi 1996)
# A fitted model replaces the defaults only if, on the later (hold-out) dates,
# it ranks leavers above stayers at least this often — below it nothing shows
# it is better — ...
MIN_CONCORDANCE = 0.60
# ... and its probabilities can be put right: the calibration slope (logistic
# regression of what happened on logit p̂; ideal 1) within this range.  Below
# 0.5 the predictions are far too spread out (a sign of a fit to noise).  Inside
# the range the model's linear predictor is multiplied by the slope
# (CalibrationResult.slope), so a timid model is spread and a spread one
# shrunk.  The upper end was 1.5: the development seeds' models had hold-out
# slopes 1.7-2.1 (too timid: people's leaving followed their strain more
# steeply than the fit on the early dates said) and fell back to the Shanafelt
# mixture, which is more timid still (benchmarks/develop_risk.py --slope).
CALIBRATION_SLOPE_RANGE = (0.5, 3.0)
# The hold-out slope is applied to the model fitted on the earlier dates -- the one
# whose slope the later dates measured -- with no refit on every date.  The refit
# times the same slope (est16) overshot: the refit is already less timid, so on the
# development seeds the outcome-year slope fell to 0.55-0.87 (mean |ln slope| 0.296
# against 0.113 this way; develop_risk.py --slope-model, seventh round, which keeps
# the other ways, "none", "refit", "half", "vh" and "matched", as its own wrapper
# around this rule).
# Separations that say nothing about burnout are censored, not counted
# (matched as case-insensitive substrings of end_reason).
DEFAULT_EXCLUDED_REASONS = ("retire", "death", "deceased")

# Risk -> probability of being burned out: a logistic centred on the moderate
# edge (40), which 40 % of a normative population reach on every instrument —
# the step at which 38.5 % rate themselves "burning out" on the single item
# (Dolan 2015) — with scale 7, so the high edge 65 maps to about 0.97.  A stated
# assumption until the organisation's own single-item ratings fit it
# (burnout_link) or an admin sets it.
DEFAULT_BURNOUT_MIDPOINT = 40.0
DEFAULT_BURNOUT_SCALE = 7.0

# The organisation's own turnover (observed_turnover): leavers over the last
# 12-24 months of records, pooled with a prior worth this many expected leavers
# at the national rates, so 3 leavers in a small organisation do not set its
# rate on their own but 50 do.
OBSERVED_WINDOW_WEEKS = 104
OBSERVED_MIN_WEEKS = 52
OBSERVED_PRIOR_LEAVERS = 5.0
# Every component of the risk is a strain: more of it may never lower the
# fitted probability of leaving (calibrate rejects or drops a negative one).
STRAIN_FEATURES = tuple(COMPONENT_COLUMNS) + ("risk_score",)


def _ref_lookup(ref, kind):
    """The reference prevalence for a kind (Settings.reference_burnout_rate: one
    rate or per kind; NaN when the kind has none)."""
    if not isinstance(ref, dict) and not hasattr(ref, "get"):
        return float(ref)
    lowered = {str(k).strip().lower(): v for k, v in ref.items()}
    return float(lowered.get(str(kind).strip().lower(), np.nan)) if kind is not None else np.nan


def link_parameters(settings: "Settings | None") -> tuple[float, float]:
    """(midpoint, scale) of the risk → burnout link: the settings' (an admin's,
    or ``LeavingModel.turnover_settings`` with a fitted link), else the defaults."""
    s = resolve(settings)
    mid = DEFAULT_BURNOUT_MIDPOINT if s.burnout_midpoint is None else float(s.burnout_midpoint)
    scale = DEFAULT_BURNOUT_SCALE if s.burnout_scale is None else float(s.burnout_scale)
    return mid, scale


def burnout_probability(risk_score, midpoint: float = DEFAULT_BURNOUT_MIDPOINT,
                        scale: float = DEFAULT_BURNOUT_SCALE):
    """Probability of being burned out from the 0–100 risk: ``1 / (1 + exp(−(risk − m)/s))``."""
    r = np.asarray(risk_score, dtype=float)
    return 1.0 / (1.0 + np.exp(-(r - midpoint) / scale))


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
    # Calibration in the large on the organisation's own recent past
    # (``recalibrate``): the baseline hazard is multiplied by this factor.
    baseline_factor: float = 1.0
    recalibration: dict = field(default_factory=dict)
    # Calibration slope on the hold-out dates: the linear predictor is multiplied by
    # it (1 = as fitted), so how much more strain adds is the hold-out's, not the fit's.
    slope: float = 1.0
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
        # S(t|x)^c is the survival with the baseline hazard multiplied by c
        return 1.0 - self._survival(frame) ** float(self.baseline_factor)

    def _survival(self, frame: pd.DataFrame) -> np.ndarray:
        """``S(horizon | x)`` of the fitted model with its slope applied, before the
        level is set (``baseline_factor``).

        Cox: ``−ln S(t | x) = H0(t)·exp(lp)``; with the linear predictor multiplied by
        the slope it is ``H0(t)·exp(slope·lp) = −ln S(t | x) · exp((slope − 1)·lp)``,
        ``lp`` on the same centring as lifelines' baseline."""
        X = self._design(frame)
        sf = self.model.predict_survival_function(X, times=[float(self.horizon_weeks)])
        surv = sf.to_numpy()[0]
        if self.slope == 1.0:
            return surv
        lp = np.log(self.model.predict_partial_hazard(X).to_numpy(float))
        return np.exp(np.log(np.clip(surv, 1e-300, 1.0)) * np.exp((float(self.slope) - 1.0) * lp))

    def to_dict(self) -> dict:
        return {"used": self.used, "reason": self.reason, "n_helpers": self.n_helpers,
                "n_leavers": self.n_leavers, "helper_years": self.helper_years,
                "horizon_weeks": self.horizon_weeks, "features": list(self.features),
                "coefficients": dict(self.coefficients), "metrics": dict(self.metrics),
                "baseline_factor": self.baseline_factor, "recalibration": dict(self.recalibration),
                "slope": self.slope}


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
    end = pd.to_datetime(roster_col(r, "end_date"), errors="coerce")
    reason = roster_col(r, "end_reason").astype("string").str.lower()
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


# The risk weights refitted on an organisation's own leavers (issue 13, point 4):
# fixed on the development organisations (benchmarks/develop_risk.py, "weights fitted
# on own leavers (ridge 3)") and measured once on the held-out ones
# (benchmarks/validate_models.py: +0.005 AUC over the national weights, 0.001 to 0.009).
WEIGHTS_RIDGE = 3.0


# Which weights the risk score rests on, in the words every page, export and the CLI use.
WEIGHTS_FITTED = "fitted on your organisation"
WEIGHTS_NATIONAL = "from national defaults"
WEIGHTS_SET = "set by your organisation"


@dataclass
class FittedWeights:
    """Risk-score weights and where they come from: ``used`` is "fitted on your
    organisation" or "from national defaults", ``reason`` says why in words.
    ``auc_national`` / ``auc_fitted``: how well the national and the fitted weights
    rank the organisation's own leavers on the landmark dates the fit used (the same
    dates: an in-sample figure, said so wherever it is shown)."""

    weights: dict
    used: str
    reason: str
    leavers: int = 0
    as_of: str = ""
    auc_national: float | None = None
    auc_fitted: float | None = None

    @property
    def fitted(self) -> bool:
        return self.used == WEIGHTS_FITTED

    def record(self) -> dict:
        """What is saved beside the weights (the ``risk_weights_fit`` setting)."""
        out = {"leavers": self.leavers, "as_of": self.as_of}
        out.update({k: v for k, v in (("auc_national", self.auc_national), ("auc_fitted", self.auc_fitted))
                    if v is not None})
        return out

    def auc_text(self) -> str:
        if self.auc_national is None or self.auc_fitted is None:
            return ""
        return (f"On the organisation's own history (the dates the weights were fitted on) the risk score "
                f"ranks a leaver above a helper who stayed {self.auc_national:.0%} of the time with the national "
                f"weights and {self.auc_fitted:.0%} with the fitted ones (AUC {self.auc_national:.3f} -> "
                f"{self.auc_fitted:.3f}); on new dates expect less gain.")


def _auc(y: np.ndarray, score: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score   # sklearn is heavy to import; only a refit needs it

    ok = ~np.isnan(score)
    y, score = y[ok], score[ok]
    if not 0 < y.sum() < len(y):
        return None
    return round(float(roc_auc_score(y, score)), 3)


def weights_basis(settings: "Settings | dict | None") -> str:
    """The one label of what the risk score's weights rest on."""
    s = resolve(settings)
    if s.risk_weights is None:
        return WEIGHTS_NATIONAL
    return WEIGHTS_FITTED if s.risk_weights_fit is not None else WEIGHTS_SET


def weights_text(settings: "Settings | dict | None") -> str:
    """:func:`weights_basis` in a sentence, with what the fit rested on."""
    s = resolve(settings)
    basis = weights_basis(s)
    if basis != WEIGHTS_FITTED:
        return f"Risk score weights: {basis}."
    fit = s.risk_weights_fit
    when = f" up to {fit['as_of']}" if fit.get("as_of") else ""
    return f"Risk score weights: {basis} ({fit.get('leavers', 0)} own leavers{when})."


def fit_risk_weights(roster: pd.DataFrame, risk_history: pd.DataFrame, as_of, *,
                     min_leavers: int = MIN_LEAVERS, ridge: float = WEIGHTS_RIDGE,
                     horizon_weeks: int = 52, landmark_every: int = 13,
                     exclude_reasons=DEFAULT_EXCLUDED_REASONS) -> FittedWeights:
    """The risk components' weights refitted on the organisation's own leavers.

    The landmark rows of :func:`calibrate` (each employed helper's pressures at a
    landmark week, then whether they left within ``horizon_weeks``), only weeks
    before ``as_of`` and only leaving known by then.  A logistic regression of
    leaving on the pressures (missing ones at the mean), ridge-penalised, with every
    coefficient >= 0 -- more strain never lowers the score -- and rescaled so the
    self-report and the workplace weights keep their default totals (the workplace
    can still lift the score by at most ``risk.CONTEXT_ALPHA``).  With fewer than
    ``min_leavers`` leavers, or no component that adds anything, the national
    weights stand and ``used`` says so."""
    defaults = dict(R.DEFAULT_WEIGHTS)
    as_of = pd.Timestamp(as_of)
    day = f"{as_of:%d %b %Y}"
    hist = risk_history[pd.to_datetime(risk_history["week_start"]) < as_of]
    rows = _landmarks(roster, hist, as_of, horizon_weeks, landmark_every, exclude_reasons) if len(hist) else hist
    rows = rows[rows["risk_score"].notna()] if len(rows) else rows
    leavers = int(rows["event"].sum()) if len(rows) else 0
    if leavers < min_leavers:
        return FittedWeights(defaults, WEIGHTS_NATIONAL,
                             f"{leavers} leavers in the organisation's own records; {min_leavers} are needed to "
                             "fit the weights, so the national defaults are used.", leavers, day)
    y = rows["event"].to_numpy(float)
    auc_national = _auc(y, R.combine(rows, defaults).to_numpy(float))
    out = component_weights(rows, ridge)
    if out is None:
        return FittedWeights(defaults, WEIGHTS_NATIONAL,
                             "No answer ranked the organisation's own leavers, so the national defaults are used.",
                             leavers, day, auc_national, auc_national)
    return FittedWeights(out, WEIGHTS_FITTED,
                         f"Weights fitted on the organisation's own {leavers} leavers (landmark dates before "
                         f"{day}); no component can lower the score.", leavers, day,
                         auc_national, _auc(y, R.combine(rows, out).to_numpy(float)))


def component_weights(rows: pd.DataFrame, ridge: float = WEIGHTS_RIDGE) -> dict | None:
    """The fit behind :func:`fit_risk_weights` on landmark ``rows`` (``c_<component>``
    pressures and ``event``): a logistic regression of leaving on the pressures (missing
    ones at the mean), ridge-penalised, every coefficient >= 0, rescaled so the self-report
    and the workplace weights keep their default totals.  None when no answer adds anything."""
    from scipy.optimize import minimize   # scipy is heavy to import; only a refit needs it

    defaults = R.DEFAULT_WEIGHTS
    names = list(R.NAMES)
    X = rows.reindex(columns=[f"c_{n}" for n in names]).to_numpy(float)
    y = rows["event"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(X, axis=0)
    X = np.where(np.isnan(X), np.nan_to_num(mean), X)
    Xc = X - X.mean(0)

    def nll(b):
        z = b[0] + Xc @ b[1:]
        return np.sum(np.logaddexp(0, z) - y * z) + ridge * np.sum(b[1:] ** 2)
    res = minimize(nll, np.zeros(len(names) + 1), method="L-BFGS-B",
                   bounds=[(None, None)] + [(0, None)] * len(names))
    coef = dict(zip(names, np.maximum(res.x[1:], 0.0)))
    if sum(coef[n] for n in R.SELF_REPORT) <= 0:
        return None
    out = {}
    for group in (R.SELF_REPORT, R.CONTEXT):
        total = sum(coef[n] for n in group)
        budget = sum(defaults[k] for k in group)
        out.update({n: (budget * coef[n] / total if total > 0 else 0.0) for n in group})
    return out


def fit_signed(res: "CalibrationResult", rows: pd.DataFrame, cands: list, penalizer: float):
    """A Cox model (lifelines ``CoxPHFitter``, ridge ``penalizer``) of ``rows`` on the
    standardised features ``cands``, under the sign check: a strain whose fitted
    coefficient is negative would make more strain lower the probability of leaving,
    so such features are dropped and the model refitted (backward elimination under
    the sign constraint), and every coefficient that remains is ≥ 0.  Sets ``res``'s
    features and standardisation; returns ``(model, dropped)``, the model None when
    every strain had the wrong sign."""
    from lifelines import CoxPHFitter

    dropped: list[str] = []
    while True:
        res.features = list(cands)
        res._fill = {c: float(rows[c].median()) if rows[c].notna().any() else 0.0 for c in cands}
        res._center = {c: float(rows[c].fillna(res._fill[c]).mean()) for c in cands}
        sd = {c: float(rows[c].fillna(res._fill[c]).std()) for c in cands}
        res._scale = {c: v if np.isfinite(v) and v > 1e-12 else 1.0 for c, v in sd.items()}
        X = res._design(rows)
        X["duration"], X["event"] = rows["duration"].to_numpy(), rows["event"].to_numpy()
        model = CoxPHFitter(penalizer=penalizer).fit(X, duration_col="duration", event_col="event")
        negative = [c for c in cands if c in STRAIN_FEATURES and float(model.params_[c]) < 0]
        if not negative:
            return model, dropped
        dropped.extend(negative)
        cands = [c for c in cands if c not in negative]
        if not cands:
            res.features = []
            return None, dropped


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
    predicted by decile.  The model returned is the one fitted on the earlier
    dates, the one those figures describe.  It is used only if on the
    hold-out the concordance is at least ``min_concordance`` (0.60) *and* the
    calibration slope lies within ``slope_range`` (0.5–3); its linear
    predictor is then multiplied by that slope (``slope``).  Otherwise the defaults stay
    in use, ``reason`` says which check failed and the metrics are still
    reported.  lifelines and scikit-learn are imported only once the data are
    known to be thick enough.
    """
    hist = risk_history
    if hist is None or len(hist) == 0:
        return CalibrationResult("defaults", "No risk history yet, so the documented default weights are used.")
    if not pd.api.types.is_datetime64_any_dtype(hist["week_start"]):
        hist = hist.assign(week_start=pd.to_datetime(hist["week_start"]))
    as_of = pd.Timestamp(as_of) if as_of is not None else hist["week_start"].max() + pd.Timedelta(days=6)
    inside = (hist["week_start"] <= as_of).to_numpy()
    hist = hist if inside.all() else hist[inside]     # no copy of the whole history when nothing is cut
    first = hist["week_start"].min()
    helper_years = len(hist) / 52.18
    end = pd.to_datetime(roster_col(roster, "end_date"), errors="coerce")
    reason_s = roster_col(roster, "end_reason").astype("string").str.lower()
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
    # happened; the model used sees the earlier dates only.
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

    from lifelines.utils import concordance_index      # only now: the data are thick enough to fit

    cands = features or [c for c in COMPONENT_COLUMNS if c in train]
    cands = [c for c in cands if c in train and train[c].notna().mean() >= 0.5 and train[c].std(skipna=True) > 1e-9]
    if features is None and (len(cands) == 0 or tr_events < 10 * len(cands)):
        cands = ["risk_score"]
    res = CalibrationResult("fitted", "", features=cands, **base)

    try:
        res.model, dropped = fit_signed(res, train, cands, penalizer)
        cands = res.features
        if res.model is None:
            return CalibrationResult(
                "defaults", "A model fitted on the organisation's leavers gave every strain the wrong sign "
                "(more strain, less leaving), so the documented defaults are used.", **base)
        Xt = res._design(test)
        hz = res.model.predict_partial_hazard(Xt).to_numpy()
        concordance = float(concordance_index(test["duration"], -hz, test["event"]))
        p = res.predict_p_leave(test)
        known = (test["event"] == 1) | (test["duration"] >= horizon_weeks - 1e-9)
        metrics = {"concordance": round(concordance, 3), "test_rows": int(len(test)),
                   "test_events": te_events, "train_rows": int(len(train)), "train_leavers": tr_events,
                   "split_date": str(pd.Timestamp(cut).date())}
        metrics.update(_calibration_metrics(test.loc[known, "event"].to_numpy(), p[known.to_numpy()]))
        metrics["dropped_for_sign"] = list(dropped)
    except Exception as exc:  # a degenerate fit must not take the report down; the reason is kept
        logger.warning("calibration fit failed", exc_info=True)
        return CalibrationResult("defaults", f"The model could not be fitted ({type(exc).__name__}: {exc}); "
                                 "the documented defaults are used.", **base)
    res.coefficients = ({c: round(float(res.model.params_[c]), 4) for c in cands}
                        if res.model is not None else {})
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
    # Recalibration of the slope (Steyerberg, Clinical Prediction Models, ch. 20): how
    # steeply leaving follows strain is taken from the later dates, which the fit did
    # not see.  The level is set afterwards, on the recent turnover (recalibrate).
    res.slope = applied = float(slope)
    spread = ("" if abs(applied - 1.0) < 0.005 else
              f"; its differences between people are {'widened' if applied > 1 else 'narrowed'} by "
              f"a factor {applied:.2f}, as the later dates showed")
    res.reason = (f"Fitted on the {tr_events} leavers before {metrics['split_date']}; on later dates "
                  f"(from {metrics['split_date']}) the model ranked leavers above "
                  f"stayers {concordance:.0%} of the time (concordance {concordance:.2f}) and its "
                  f"probabilities had calibration slope {slope:.2f}{spread}.")
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
                 min_each: int = 10, max_rows: int = 50_000, weights: dict | None = None) -> dict:
    """Fit the risk → probability-of-burnout link to the organisation's own data.

    turnover.helper_impact turns the risk into the probability ``q`` of being
    burned out with ``q = 1 / (1 + exp(−(risk − m)/s))``.  The default
    ``m = 52.5, s = 7`` is an assumption; here ``m`` and ``s`` are fitted
    (logistic regression) to the single-item measure's burned-out flag
    (``sib_level ≥ 3``, Dolan 2015 — the same kind of measure as the burnout
    prevalence in Shanafelt's model) at the helper-weeks where both exist.

    The single item is never both input and outcome: the risk it is fitted
    on is recomputed from the history's pressure columns with the single
    item's weight set to 0 (``risk.combine``; S re-normalises over the other
    self-reports), and helper-weeks with no other self-report are left out.
    Because every self-report is anchored on its published norms, the risk
    without the item is on the same scale as the full risk the link is then
    applied to.

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
    week = nearest_monday(wk) if wk is not None and wk.notna().all() else floor_monday(
        scores.loc[sib.index, "submitted_at"])
    sib["week_start"] = pd.to_datetime(week.astype("datetime64[D]"))
    hist = risk_history[["helper_id", "week_start"]].copy()
    if "c_sib" in risk_history:
        w = dict(R.DEFAULT_WEIGHTS if weights is None else {**R.DEFAULT_WEIGHTS, **dict(weights)})
        w["sib"] = 0.0
        hist["risk_score"] = R.combine(risk_history, w).to_numpy()
    else:
        hist["risk_score"] = pd.to_numeric(risk_history["risk_score"], errors="coerce")
    hist = hist.dropna()
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
               reason=(f"Fitted on {len(m)} single-item ratings ({y.mean():.0%} at 3 or above) against the "
                       f"risk computed without the single item: a risk of {-a / b:.0f} means an even "
                       "chance of being burned out."))
    return out


# --------------------------------------------------------------------------- #
# The organisation's own recent turnover
# --------------------------------------------------------------------------- #

@dataclass
class ObservedTurnover:
    """The organisation's own annual turnover from its roster (``observed_turnover``).

    ``used``: whether it replaces the national base rates.  ``rates``: leavers
    per helper-year per team kind at the reference prevalence — the national
    rate × the organisation's pooled ratio ``(O + k) / (E + k)`` of observed
    leavers ``O`` to the leavers ``E`` the national rates predict for the same
    helper-years, adjusted for the organisation's mean burnout over the window
    (``k`` = ``OBSERVED_PRIOR_LEAVERS``).  ``turnover.helper_impact``
    splits it at the reference prevalence and turns it into a 12-month chance
    ``1 − exp(−rate)``.  ``mean_burnout``: the organisation's mean probability of
    being burned out over the window (helper-years weighted), which sets ``E``'s
    one burnout factor for every helper (never one per kind or helper: issue 10).
    """

    used: bool
    reason: str
    leavers: int = 0
    expected_leavers: float = 0.0
    helper_years: float = 0.0
    start: str | None = None
    end: str | None = None
    ratio: float | None = None
    rates: dict = field(default_factory=dict)
    mean_burnout: float | None = None

    def rate_for(self, kind, national: float) -> float:
        if not self.used:
            return float("nan")
        key = str(kind) if kind is not None and not (isinstance(kind, float) and np.isnan(kind)) else None
        if key in self.rates:
            return float(self.rates[key])
        return float(national) * float(self.ratio)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def observed_turnover(roster: pd.DataFrame, history: pd.DataFrame | None, as_of=None,
                      settings: "Settings | dict | None" = None,
                      exclude_reasons=DEFAULT_EXCLUDED_REASONS) -> ObservedTurnover:
    """The organisation's annual turnover from its own leavers over the last
    12–24 months of records (``OBSERVED_WINDOW_WEEKS``), per team kind.

    Window: from ``max(as_of − 104 weeks, first week of the risk history)``
    (before its records began the roster may not list every leaver) to
    ``as_of``; at least ``OBSERVED_MIN_WEEKS`` (52) weeks or it is not used.
    Exposure: each helper's employed days inside the window, in years.
    Leavers: end_date inside the window, reasons containing any of
    ``exclude_reasons`` (retirement, death) not counted.  Rate per kind =
    national base × ``(O + 5) / (E + 5)`` leavers per helper-year (with few
    leavers it stays near the national figure, with many it is the
    organisation's own), turned into a 12-month probability ``1 − exp(−rate)``.
    """
    s = resolve(settings)
    if roster is None or len(roster) == 0 or history is None or len(history) == 0:
        return ObservedTurnover(False, "No roster history yet, so the national base rates are used.")
    weeks = pd.to_datetime(history["week_start"])
    end = pd.Timestamp(as_of) if as_of is not None else weeks.max() + pd.Timedelta(days=6)
    start = max(end - pd.Timedelta(weeks=OBSERVED_WINDOW_WEEKS), weeks.min())
    span_weeks = (end - start).days / 7.0
    if span_weeks < OBSERVED_MIN_WEEKS - 1:
        return ObservedTurnover(False, f"The records cover {span_weeks:.0f} weeks; the organisation's own "
                                "turnover needs at least 12 months of them, so the national base rates are used.")
    r = roster.drop_duplicates("helper_id")
    st = pd.to_datetime(roster_col(r, "start_date"), errors="coerce").fillna(start).clip(lower=start)
    en = pd.to_datetime(roster_col(r, "end_date"), errors="coerce")
    stop = en.fillna(end).clip(upper=end)
    years = ((stop - st).dt.days.clip(lower=0) / 365.25).to_numpy(float)
    excluded = _excluded(roster_col(r, "end_reason").astype("string").str.lower(), exclude_reasons).to_numpy()
    left = (en.notna() & (en > start) & (en <= end)).to_numpy() & ~excluded
    kind = roster_col(r, "team_kind").astype("string").fillna("(unknown)").to_numpy(object)
    national = np.array([s.base_turnover_for(None if k == "(unknown)" else k) for k in kind])
    # The leavers the national rates predict for these helper-years, raised or lowered for
    # the burnout seen over the window, split at the reference prevalence exactly as
    # helper_impact splits: the ratio then corrects the level only, and kinds and people
    # still differ by burnout in helper_impact.  ONE factor for everyone, at the
    # organisation's mean chance of burnout over the window (helper-years weighted), never
    # each helper's own: E is printed and moves every figure, and a base turnover is saved
    # per kind, so with each helper's own factor two saves of one kind's base gave that
    # kind's own sum of burnout, a hidden team's when it is alone of its kind (issue 10,
    # tests/test_attack_levers.py).  Now a save moves E by the kind's helper-years (roster
    # facts) times the one organisation-wide factor; a relative risk or reference
    # prevalence saved moves it through that same factor.
    rr = float(s.relative_risk)
    ref = s.reference_burnout_rate
    ref_of = (lambda kd: float(_ref_lookup(ref, kd))) if ref is not None else (lambda kd: np.nan)
    bo_ref = np.array([ref_of(None if kd == "(unknown)" else kd) for kd in kind])
    # one prevalence for everyone, as helper_impact splits
    bo = float(np.nanmean(bo_ref)) if np.isfinite(bo_ref).any() else np.nan
    q_helper = pd.Series(np.nan, index=r["helper_id"].to_numpy())
    if "risk_score" in history:
        # two columns, not the whole history's twenty copied (a million rows at L: the fit's peak)
        h = history.loc[((weeks >= start) & (weeks <= end)).to_numpy(), ["helper_id", "risk_score"]]
        q = pd.Series(burnout_probability(pd.to_numeric(h["risk_score"], errors="coerce"),
                                          *link_parameters(s)), index=h.index)
        q_helper = q.groupby(h["helper_id"].to_numpy()).mean().reindex(q_helper.index)
    qh = q_helper.to_numpy(float)
    known = np.isfinite(qh)
    if not known.any():
        q_mean = np.nan
    elif years[known].sum() > 0:
        q_mean = float((years[known] * qh[known]).sum() / years[known].sum())
    else:
        q_mean = float(qh[known].mean())
    factor = 1.0 if np.isnan(q_mean) or np.isnan(bo) else (1 + (rr - 1) * q_mean) / (1 + (rr - 1) * bo)
    O, E, Y = int(left.sum()), float(factor * (years * national).sum()), float(years.sum())
    if Y <= 0:
        return ObservedTurnover(False, "No helper-years in the window, so the national base rates are used.")
    k = OBSERVED_PRIOR_LEAVERS
    ratio = (O + k) / (E + k)
    kinds = sorted(set(kind) - {"(unknown)"})
    # leavers per helper-year at the reference prevalence (turnover.helper_impact
    # turns it into a 12-month chance at the organisation's mean rate and splits it)
    rates = {kd: float(s.base_turnover_for(kd) * ratio) for kd in kinds}
    start_s, end_s = str(start.date()), str(end.date())
    return ObservedTurnover(
        True, f"{O} helper{'s' if O != 1 else ''} left between {start_s} and {end_s} over {Y:.0f} helper-years, "
              f"against {E:.1f} at the national rates: the base rates are scaled by {ratio:.2f} "
              f"(pooled with {k:g} expected leavers at the national rates).",
        leavers=O, expected_leavers=round(E, 2), helper_years=round(Y, 1), start=start_s, end=end_s,
        ratio=ratio, rates=rates, mean_burnout=None if np.isnan(q_mean) else q_mean)


def recalibrate(cal: CalibrationResult, history: pd.DataFrame | None,
                observed: ObservedTurnover | None,
                prior_leavers: float = OBSERVED_PRIOR_LEAVERS) -> CalibrationResult:
    """Calibration in the large of an accepted Cox model on the organisation's
    own recent past: its level is set so that, over the same 12–24 months
    ``observed_turnover`` counts, the leavers it expects equal those who left.

    Expected leavers ``E`` = Σ over the helper-weeks in that window of the
    model's yearly hazard for the helper's strain *as it was that week*
    (``−ln S(52 weeks | x) / 52`` a week).  Observed ``O`` = the window's
    leavers (retirements and deaths not counted).  The baseline hazard is
    multiplied by ``c = (O + k) / (E + k)`` (``k`` = ``prior_leavers``: a few
    leavers cannot move it far), so each probability becomes ``1 − S(x)^c``.
    Only the level moves: who ranks above whom, and how much more strain adds,
    stay the model's.  Only past records are used, never what happens after
    the as-of date.  Returns a copy; the input is unchanged when the model is
    not fitted or the roster gives no observed turnover.
    """
    if cal.used != "fitted" or cal.model is None or observed is None or not observed.used \
            or history is None or len(history) == 0:
        return cal
    weeks = pd.to_datetime(history["week_start"])
    inside = (weeks >= pd.Timestamp(observed.start)) & (weeks <= pd.Timestamp(observed.end))
    rows = history[inside.to_numpy()]
    if len(rows) == 0:
        return cal
    hazard = -np.log(np.clip(cal._survival(rows), 1e-12, 1.0))      # per horizon, per row
    expected = float(hazard.sum() / cal.horizon_weeks)                # each row is one week
    leavers = int(observed.leavers)
    k = float(prior_leavers)
    factor = (leavers + k) / (expected + k)
    info = {"observed_leavers": leavers, "expected_leavers": round(expected, 2), "factor": round(factor, 4),
            "start": observed.start, "end": observed.end, "helper_weeks": int(len(rows)),
            "text": (f"Its level is set to the organisation's own recent turnover: between {observed.start} and "
                     f"{observed.end} it expected {expected:.1f} leavers and {leavers} left, so its baseline is "
                     f"multiplied by {factor:.2f} (pooled with {k:g} leavers at its own level).")}
    return dataclasses.replace(cal, baseline_factor=factor, recalibration=info)


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
    ``turnover.helper_impact_under(model, ...)``, so they always agree.
    """

    calibration: CalibrationResult
    link: dict
    observed: ObservedTurnover | None = None
    # the risk score's weights in words (weights_text of the settings it was built under)
    weights: str = f"Risk score weights: {WEIGHTS_NATIONAL}."

    @property
    def basis(self) -> str:
        """Which base gives each helper's probability of leaving, in words."""
        if self.fitted:
            return "fitted on your organisation"
        if self.observed is not None and self.observed.used:
            return "calibrated to your organisation's turnover"
        return "from national defaults"

    def turnover_settings(self, settings: "Settings | dict | None" = None) -> Settings:
        """``settings`` with the fitted risk → burnout link, unless an admin set one."""
        s = resolve(settings)
        if self.link.get("used") == "fitted" and s.burnout_midpoint is None:
            s = dataclasses.replace(s, burnout_midpoint=float(self.link["burnout_midpoint"]),
                                    burnout_scale=float(self.link["burnout_scale"]))
        return s

    @property
    def fitted(self) -> bool:
        return self.calibration.used == "fitted"

    def summary(self) -> str:
        """One line: which model gives the probability of leaving, and why."""
        c, m = self.calibration, self.calibration.metrics
        if self.fitted:
            fitted_on = (f"fitted on the {m.get('train_leavers')} leavers before {m.get('split_date')}, of "
                         f"{c.n_leavers} over {c.helper_years:g} helper-years")
            return (f"Probability of leaving: the organisation's own model (Cox, {fitted_on}). "
                    f"Checked on later dates (from {m.get('split_date')}): "
                    f"concordance {_fmt(m.get('concordance'))}, AUC {_fmt(m.get('auc'))}, calibration slope "
                    f"{_fmt(m.get('calibration_slope'))} and intercept {_fmt(m.get('calibration_intercept'))} "
                    "(ideal 1 and 0)." + (f" Its differences between people are scaled by "
                                          f"{c.slope:.2f}, as the later dates showed." if abs(c.slope - 1) >= 0.005
                                          else "")
                    + (f" {c.recalibration['text']}" if c.recalibration else ""))
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

    def base_text(self) -> str:
        o = self.observed
        if o is None:
            return "Base turnover: the national figures for each kind of team."
        if o.used:
            return f"Base turnover: the organisation's own. {o.reason}"
        return f"Base turnover: the national figures for each kind of team. {o.reason}"

    def describe(self) -> list[str]:
        """Plain lines for the ``risk`` command's stderr and the review."""
        return [self.summary(), self.base_text(), f"Risk to burnout probability: {self.link_text()}",
                f"Leaving probabilities are {self.basis}.", self.weights]

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
        if c.recalibration:
            rows.append(("Level set to the organisation's recent turnover", c.recalibration["text"]))
        rows.append(("Risk to burnout probability", self.link_text()))
        rows.append(("Base turnover", self.base_text()))
        rows.append(("Leaving probabilities are", self.basis))
        rows.append(("Risk score weights", self.weights.removeprefix("Risk score weights: ").rstrip(".")))
        return pd.DataFrame([(k, "" if v is None else v) for k, v in rows],
                            columns=["Figure", "Value"]).astype({"Value": object})

    def to_dict(self) -> dict:
        return {"calibration": self.calibration.to_dict(), "link": dict(self.link), "weights": self.weights,
                "observed": self.observed.to_dict() if self.observed is not None else None,
                "basis": self.basis, "text": self.describe()}


def _week_end(history: pd.DataFrame, as_of) -> pd.Timestamp | None:
    """Sunday ending the as-of week (the last day whose leaving is known)."""
    if as_of is not None:
        return pd.Timestamp(week_end(as_of))
    if history is not None and len(history):
        return pd.Timestamp(week_end(pd.to_datetime(history["week_start"]).max()))
    return None


def training_end(history: pd.DataFrame | None, as_of, today=None) -> pd.Timestamp | None:
    """The last day the leaving model learns from: the Sunday ending the as-of week, but
    never a day of the calendar's current week.

    Why: that week is still under way.  Its answers are still coming in (a week's rows
    hold only the helpers who checked in so far) and who leaves in it is not yet known.
    It is also what makes the fit worth keeping: a check-in is dated in the current
    week, so it never changes what the model was fitted on, and the dashboard reuses
    one fit until a completed week, the roster or the settings change
    (``views.data.leaving_model_for``).  The current week's answers still reach every
    helper's *prediction*: that is made from their latest risk, not from the fit."""
    end = _week_end(history, as_of)
    if end is None:
        return None
    day = pd.Timestamp(today if today is not None else now()).normalize()
    return min(end, day - pd.Timedelta(days=day.weekday() + 1))


def _up_to(frame: pd.DataFrame | None, end) -> pd.DataFrame | None:
    """Rows of weeks up to ``end`` (by ``week_start``, else by ``submitted_at``'s week)."""
    if frame is None or len(frame) == 0 or end is None:
        return frame
    if "week_start" in frame:
        weeks = pd.to_datetime(frame["week_start"])
    else:
        weeks = pd.Series(floor_monday(frame["submitted_at"]).astype("datetime64[D]"), index=frame.index)
    keep = (weeks <= end).to_numpy()
    # the frame itself when nothing is cut: the whole history is a few hundred MB at 10,000 helpers
    return frame if keep.all() else frame[keep]


def leaving_model(roster: pd.DataFrame, history: pd.DataFrame, scores: pd.DataFrame, as_of=None,
                  settings: "Settings | dict | None" = None) -> LeavingModel:
    """Decide how the probability of leaving is computed — the one rule that the
    ``risk`` command (``views.risk_table``) and the HR review (``views.review``) share.

    ``history``: ``compute_risk`` up to ``as_of``.  The organisation's own Cox
    model (``calibrate``) is used when it has enough separations *and*
    validates on the time-split hold-out (concordance ≥ 0.60, calibration slope
    0.5–3, which then rescales its linear predictor); otherwise the documented defaults (Shanafelt mixture).  The risk →
    burnout link is fitted to the single-item ratings (``burnout_link``) unless
    ``settings`` hold an admin's ``burnout_midpoint``.

    Never raises for a failed fit: an unexpected error falls back to the
    defaults, with the error named in the reason (and logged).

    Everything here is fitted on the weeks up to :func:`training_end`: the as-of
    week, or the last completed week when the as-of week is the calendar's current one.
    """
    settings = resolve(settings)
    end = training_end(history, as_of)
    history, scores = _up_to(history, end), _up_to(scores, end)
    try:
        cal = calibrate(roster, history, as_of=end)
    except Exception as exc:  # fall back, but say why: never silently
        logger.warning("calibration failed", exc_info=True)
        cal = CalibrationResult("defaults", f"The organisation's own model could not be checked "
                                            f"({type(exc).__name__}: {exc}); the documented defaults are used.")
    if settings.burnout_midpoint is not None:
        link = {"used": "settings", "n": 0,
                "reason": f"Midpoint {float(settings.burnout_midpoint):.1f} as set by the organisation."}
    else:
        try:
            link = burnout_link(history, scores, weights=settings.risk_weights)
        except Exception as exc:
            logger.warning("burnout link fit failed", exc_info=True)
            link = {"used": "defaults", "n": 0,
                    "reason": f"The link could not be fitted ({type(exc).__name__}: {exc}); the default is used."}
    model = LeavingModel(cal, link, weights=weights_text(settings))
    try:
        model.observed = observed_turnover(roster, history, end, model.turnover_settings(settings))
    except Exception as exc:  # the national rates still work; say why
        logger.warning("observed turnover failed", exc_info=True)
        model.observed = ObservedTurnover(False, f"The organisation's own turnover could not be computed "
                                                 f"({type(exc).__name__}: {exc}); the national base rates are used.")
    # the Cox level is set to the same recent turnover the base rates use
    model.calibration = recalibrate(model.calibration, history, model.observed)
    return model
