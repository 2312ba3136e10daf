"""Alerts that fire only on real change (DESIGN §1: "alerts that fire only on real change").

Two kinds, both pure functions over the risk history from ``risk.compute_risk``
(or any frame of ``helper_id, week_start`` and a score column):

Band crossings (helpers and teams).  A band change counts only when the new
band has held for ``confirm_weeks`` (default 2) consecutive observations, and
in both directions the score must clear the edge by ``hysteresis`` (default
3) points: entering a higher band needs a score at least 3 points above its
lower edge (43, 68), leaving it a score at least 3 points below (37, 62).  So
one noisy week never alerts and a score wandering around an edge does not
flap::

    candidate(v, c) = band(v − h)   if band(v − h) > c     (a rise clears the edge by h)
                      band(v + h)   if band(v + h) < c     (a fall clears it by h)
                      c             otherwise
    new band        = the band held by every one of the last k candidates

Team shifts.  The mean of each respondent's scores over the recent
``recent_weeks`` (default 4) is compared with their mean over the
``baseline_weeks`` (default 8) before it, one value per person so that a
frequent responder does not count many times.  An alert needs all of

* at least ``max(5, min_group)`` distinct respondents in both windows — never
  fewer than 5 (DESIGN §7; Glint, Qualtrics, Viva all use 5);
* Welch's t-test ``p < 0.05`` (unequal variances; respondents who appear in
  both windows make it conservative);
* an absolute change of at least ``8·√(20/n)`` points, n the smaller window's
  respondent count.  This is Glint's rule (n ≥ 20, ≥ 8 points) extended to
  small teams by the 1/√n growth of a mean's standard error: 8 points at
  n ≥ 20, 11.3 at n = 10, 16 at n = 5;
* the change still meets that minimum when any single recent week is left
  out, so one extreme week cannot carry it.

Alert texts describe workloads and teams, not people, and never blame.
Individual (helper) alerts are personal results: show them only to the helper
and to a lead the helper has consented to (privacy.py).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special

from burnout.domain.measures import RISK_BAND_EDGES, RISK_BANDS
from burnout.domain.settings import MIN_GROUP_SIZE

__all__ = ["HARD_MIN_GROUP", "helper_alerts", "required_change", "team_alerts"]

BAND_EDGES = RISK_BAND_EDGES
BANDS = tuple(b.label for b in RISK_BANDS)
HARD_MIN_GROUP = MIN_GROUP_SIZE   # no team alert below this many distinct respondents, whatever is asked
GLINT_N, GLINT_CHANGE = 20, 8.0

HELPER_COLUMNS = ["helper_id", "team", "week_start", "kind", "from_band", "to_band", "score_before",
                  "score_now", "weeks_in_band", "message"]
TEAM_COLUMNS = ["team", "week_start", "kind", "baseline_mean", "recent_mean", "change", "respondents",
                "baseline_respondents", "p_value", "required_change", "message"]


def required_change(n: int) -> float:
    """Minimum absolute change for a team alert: ``8·√(20/n)`` below n = 20, 8 points from 20 up."""
    if n <= 0:
        return math.inf
    return GLINT_CHANGE * math.sqrt(GLINT_N / n) if n < GLINT_N else GLINT_CHANGE


def _band_index(v: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(BAND_EDGES), v, side="right")


def _band_changes(keys: np.ndarray, values: np.ndarray, confirm: int, hysteresis: float):
    """Confirmed band changes along each key's ordered series.

    Returns (row, from_band, to_band) for every confirmed change; the first
    observation of each key only sets its starting band.
    """
    raw = _band_index(values)
    rise_to = _band_index(values - hysteresis)    # the band a rise has clearly reached
    fall_to = _band_index(values + hysteresis)    # the band a fall has clearly reached
    events = []
    cur, streak, prev_key = -1, [], object()
    for i in range(len(values)):
        k = keys[i]
        if k != prev_key:
            prev_key, cur, streak = k, int(raw[i]), []
            continue
        up, down = int(rise_to[i]), int(fall_to[i])
        cand = up if up > cur else (down if down < cur else cur)
        if cand == cur:
            streak = []
            continue
        if streak and (streak[-1] > cur) != (cand > cur):
            streak = []
        streak.append(cand)
        if len(streak) >= confirm:
            last = streak[-confirm:]
            new = min(last) if cand > cur else max(last)
            events.append((i, cur, new))
            cur, streak = new, []
    return events


# Pressure columns of risk.compute_risk that come from the helper's own answers.
SELF_REPORT_COLUMNS = ("c_burnout", "c_cbi_work", "c_cbi_personal", "c_cbi_client", "c_sts", "c_sib",
                       "c_pulse_strain", "c_low_cs")


def _respondents_only(df: pd.DataFrame) -> pd.DataFrame:
    """Rows whose risk rests on the helper's own answers.  A risk built from
    caseload data alone is not a respondent and must not make a group look
    big enough to show (DESIGN §7 counts distinct respondents)."""
    cols = [c for c in SELF_REPORT_COLUMNS if c in df]
    if not cols:
        return df
    return df[df[cols].notna().any(axis=1)]


def _prepare(history: pd.DataFrame, value_col: str, roster: pd.DataFrame | None,
             respondents_only: bool = False) -> pd.DataFrame:
    df = _respondents_only(history) if respondents_only else history
    if "team" not in df and roster is not None:
        df = df.merge(roster[["helper_id", "team"]].drop_duplicates("helper_id"), on="helper_id", how="left")
    need = {"helper_id", "week_start", value_col}
    missing = need - set(df.columns)
    if missing:
        raise ValueError(f"alert input is missing columns {sorted(missing)}")
    cols = ["helper_id", "week_start", value_col] + [c for c in ("team", "driver_1") if c in df]
    df = df[cols].copy()
    if "team" not in df:
        df["team"] = None
    df["week_start"] = pd.to_datetime(df["week_start"])
    df[value_col] = pd.to_numeric(df[value_col], errors="coerce")
    return df[df[value_col].notna()]


def helper_alerts(risk_history: pd.DataFrame, *, value_col: str = "risk_score", confirm_weeks: int = 2,
                  hysteresis: float = 3.0, since=None) -> pd.DataFrame:
    """Band changes per helper that held for ``confirm_weeks`` observations.

    ``risk_history``: rows of ``helper_id, week_start, risk_score`` (``team``
    and ``driver_1`` used when present).  Weeks without a score are skipped,
    not counted as zero.  ``since`` keeps alerts from that date on.

    Returns ``helper_id, team, week_start (the week the change was
    confirmed), kind ('band_up' | 'band_down'), from_band, to_band,
    score_before, score_now, weeks_in_band, message``.
    """
    if confirm_weeks < 2:
        raise ValueError("confirm_weeks must be at least 2: one week is never enough")
    df = _prepare(risk_history, value_col, None)
    if df.empty:
        return pd.DataFrame(columns=HELPER_COLUMNS)
    df = df.sort_values(["helper_id", "week_start"], kind="stable").reset_index(drop=True)
    vals = df[value_col].to_numpy(float)
    events = _band_changes(df["helper_id"].to_numpy(object), vals, confirm_weeks, hysteresis)
    rows = []
    for i, old, new in events:
        before = vals[i - confirm_weeks] if i - confirm_weeks >= 0 else np.nan
        r = df.iloc[i]
        up = new > old
        driver = r.get("driver_1") if "driver_1" in df else None
        if up:
            msg = (f"{r['helper_id']}: burnout risk has been {BANDS[new]} for {confirm_weeks} weeks in a row "
                   f"(was {BANDS[old]}; now {r[value_col]:.0f} of 100).")
            if isinstance(driver, str) and driver:
                msg += f" Main factor: {driver}."
            msg += " A conversation about workload and support may help."
        else:
            msg = (f"{r['helper_id']}: burnout risk has eased from {BANDS[old]} to {BANDS[new]} and stayed "
                   f"there for {confirm_weeks} weeks (now {r[value_col]:.0f} of 100).")
        rows.append({"helper_id": r["helper_id"], "team": r["team"], "week_start": r["week_start"],
                     "kind": "band_up" if up else "band_down", "from_band": BANDS[old], "to_band": BANDS[new],
                     "score_before": float(before), "score_now": float(r[value_col]),
                     "weeks_in_band": confirm_weeks, "message": msg})
    out = pd.DataFrame(rows, columns=HELPER_COLUMNS)
    if since is not None:
        out = out[out["week_start"] >= pd.Timestamp(since)]
    return out.reset_index(drop=True)


def _welch(m1, v1, n1, m2, v2, n2):
    """Two-sided Welch t-test from summary statistics (vectorised)."""
    se2 = v1 / n1 + v2 / n2
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (m1 - m2) / np.sqrt(se2)
        df = se2 ** 2 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
    # Student's t survival function as scipy.stats.t.sf computes it (the same bits), from
    # scipy.special: scipy.stats took 0.7 s to import in every process that imports alerts
    p = 2 * special.stdtr(df, -np.abs(t))
    # identical constant groups: no evidence of change; constant but different: certain
    p = np.where(se2 > 0, p, np.where(m1 == m2, 1.0, 0.0))
    return p


def team_alerts(history: pd.DataFrame, min_group: int = MIN_GROUP_SIZE, *, value_col: str = "risk_score",
                as_of=None, recent_weeks: int = 4, baseline_weeks: int = 8, alpha: float = 0.05,
                confirm_weeks: int = 2, hysteresis: float = 3.0, roster: pd.DataFrame | None = None,
                label: str | None = None) -> pd.DataFrame:
    """Team alerts as of ``as_of`` (default: the latest week in ``history``).

    ``history`` is a risk history (``helper_id, week_start, team, risk_score``)
    or a scores frame with ``value_col`` (give ``roster`` to attach teams).
    Groups are suppressed below ``max(5, min_group)`` distinct respondents;
    in a risk history only rows with some self-reported component
    (``SELF_REPORT_COLUMNS``) count, and only they enter the means.

    Kinds: ``'rise'`` / ``'fall'`` — a significant shift of the recent mean
    against the baseline (rules in the module docstring); ``'band_up'`` /
    ``'band_down'`` — the team's weekly mean (weeks with enough respondents
    only) changed band and held it, confirmed within the recent window.

    Returns ``team, week_start, kind, baseline_mean, recent_mean, change,
    respondents, baseline_respondents, p_value, required_change, message``.
    """
    floor = max(HARD_MIN_GROUP, int(min_group))
    label = label or ("average risk" if value_col == "risk_score" else f"average {value_col.replace('_', ' ')}")
    df = _prepare(history, value_col, roster, respondents_only=True)
    df = df[df["team"].notna()]
    if df.empty:
        return pd.DataFrame(columns=TEAM_COLUMNS)
    as_of_week = pd.Timestamp(as_of) if as_of is not None else df["week_start"].max()
    df = df[df["week_start"] <= as_of_week]
    recent_start = as_of_week - pd.Timedelta(weeks=recent_weeks - 1)
    base_start = recent_start - pd.Timedelta(weeks=baseline_weeks)
    alerts = []

    # ---- significant shift ------------------------------------------------
    rec = df[df["week_start"] >= recent_start]
    base = df[(df["week_start"] >= base_start) & (df["week_start"] < recent_start)]
    per_r = rec.groupby(["team", "helper_id"])[value_col].mean().groupby(level="team").agg(["mean", "var", "count"])
    per_b = base.groupby(["team", "helper_id"])[value_col].mean().groupby(level="team").agg(["mean", "var", "count"])
    both = per_r.join(per_b, lsuffix="_r", rsuffix="_b", how="inner")
    both = both[(both["count_r"] >= floor) & (both["count_b"] >= floor)]
    if len(both):
        p = _welch(both["mean_r"].to_numpy(), both["var_r"].to_numpy(), both["count_r"].to_numpy(),
                   both["mean_b"].to_numpy(), both["var_b"].to_numpy(), both["count_b"].to_numpy())
        both = both.assign(p=p, change=both["mean_r"] - both["mean_b"])
        # leave-one-week-out: the weakest recent mean once any single week is dropped
        wk = rec.groupby(["team", "week_start"])[value_col].agg(["sum", "count"])
        tot = wk.groupby(level="team").sum()
        for team, row in both.iterrows():
            n = int(min(row["count_r"], row["count_b"]))
            need = required_change(n)
            if not (row["p"] < alpha and abs(row["change"]) >= need):
                continue
            t_weeks = wk.loc[team]
            rest = (tot.loc[team, "sum"] - t_weeks["sum"]) / (tot.loc[team, "count"] - t_weeks["count"])
            rest = rest[np.isfinite(rest)]
            if len(rest) == 0:
                continue   # only one recent week holds data: never enough on its own
            sign = np.sign(row["change"])
            if (sign * (rest - row["mean_b"])).min() < need:
                continue
            verb = "rose" if sign > 0 else "fell"
            alerts.append({
                "team": team, "week_start": as_of_week, "kind": "rise" if sign > 0 else "fall",
                "baseline_mean": float(row["mean_b"]), "recent_mean": float(row["mean_r"]),
                "change": float(row["change"]), "respondents": int(row["count_r"]),
                "baseline_respondents": int(row["count_b"]), "p_value": float(row["p"]),
                "required_change": float(need),
                "message": (f"Team {team}: {label} {verb} from {row['mean_b']:.0f} to {row['mean_r']:.0f} "
                            f"over {recent_weeks} weeks ({int(row['count_r'])} respondents)."),
            })

    # ---- band crossing of the team's weekly mean ---------------------------
    weekly = df.groupby(["team", "week_start"]).agg(mean=(value_col, "mean"), n=("helper_id", "nunique"))
    weekly = weekly[weekly["n"] >= floor].reset_index().sort_values(["team", "week_start"], kind="stable")
    if len(weekly):
        vals = weekly["mean"].to_numpy(float)
        for i, old, new in _band_changes(weekly["team"].to_numpy(object), vals, confirm_weeks, hysteresis):
            r = weekly.iloc[i]
            if r["week_start"] < recent_start:
                continue
            up = new > old
            verb = (f"has been {BANDS[new]} for {confirm_weeks} weeks in a row (was {BANDS[old]})" if up else
                    f"has eased from {BANDS[old]} to {BANDS[new]} for {confirm_weeks} weeks")
            alerts.append({
                "team": r["team"], "week_start": r["week_start"], "kind": "band_up" if up else "band_down",
                "baseline_mean": float(vals[i - confirm_weeks]) if i >= confirm_weeks else np.nan,
                "recent_mean": float(r["mean"]), "change": np.nan, "respondents": int(r["n"]),
                "baseline_respondents": np.nan, "p_value": np.nan, "required_change": np.nan,
                "message": f"Team {r['team']}: {label} {verb}; now {r['mean']:.0f} ({int(r['n'])} respondents).",
            })
    return pd.DataFrame(alerts, columns=TEAM_COLUMNS).reset_index(drop=True)
