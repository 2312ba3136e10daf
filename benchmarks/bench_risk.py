"""Timing of the risk model on a large synthetic organisation.

Not a test: run ``python benchmarks/bench_risk.py [--helpers 5000] [--weeks 104]``.
It builds its own frames (ARCHITECTURE.md shapes) with numpy so the timing is
of burnout.risk alone: weekly pulse and single item, CBI every 4 weeks,
ProQOL every 12, a caseload row per helper-week, about 14 % of helpers leaving
(more of those with heavier caseloads).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from burnout import leaving  # noqa: E402
from burnout import risk  # noqa: E402
from burnout import turnover  # noqa: E402

SCORE_COLUMNS = ["compassion_satisfaction", "burnout", "secondary_traumatic_stress", "personal_burnout",
                 "work_burnout", "client_burnout", "sib_level", "burned_out", "pulse_strain",
                 "pulse_trauma_load", "pulse_support"]


def build(helpers: int, weeks: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    ids = np.array([f"H{i:05d}" for i in range(helpers)], dtype=object)
    teams = np.array([f"T{i:03d}" for i in range(max(1, helpers // 12))], dtype=object)
    team = teams[rng.integers(0, len(teams), helpers)]
    first = pd.Timestamp("2023-01-02")
    # heavier caseloads leave more often, so calibrate() has something to find
    load_h = rng.normal(1.0, 0.25, helpers)
    leaves = rng.random(helpers) < np.clip(0.12 * load_h ** 3, 0, 1)
    end = pd.Series(first + pd.to_timedelta(rng.integers(10, weeks, helpers) * 7 + 2, unit="D"))
    end = end.where(leaves)
    roster = pd.DataFrame({
        "helper_id": ids, "name": ids, "team": team, "team_kind": "child_welfare",
        "role": "child welfare caseworker", "site": "S1", "fte": rng.choice([1.0, 0.8, 0.5], helpers, p=[.8, .1, .1]),
        "start_date": pd.Timestamp("2020-01-01"), "end_date": pd.to_datetime(end), "end_reason": None,
        "annual_salary": rng.normal(58_000, 6_000, helpers).round(), "specialties": "neglect;abuse",
        "caseload_standard": 17.0,
    })
    week_starts = pd.date_range(first, periods=weeks, freq="7D")
    h = np.repeat(np.arange(helpers), weeks)
    w = np.tile(np.arange(weeks), helpers)
    n = len(h)
    load = load_h[h]
    caseload = pd.DataFrame({
        "helper_id": ids[h], "week_start": week_starts[w],
        "active_cases": rng.poisson(17 * load), "new_cases": rng.poisson(2, n),
        "high_acuity_cases": rng.poisson(3 * load), "trauma_exposures": rng.poisson(1.5, n),
        "critical_incidents": rng.poisson(0.05, n), "hours_worked": 40.0,
        "overtime_hours": rng.gamma(1.0, 2.0 * load), "case_types": "neglect;abuse",
        "cases_outside_specialty": rng.poisson(1, n),
    })
    base = rng.normal(0, 1, helpers)

    def score_rows(instrument, every, cols):
        keep = (w % every) == 0
        hh, ww = h[keep], w[keep]
        df = pd.DataFrame({"helper_id": ids[hh], "instrument": instrument,
                           "submitted_at": week_starts[ww] + pd.Timedelta(days=2),
                           "week_start": week_starts[ww]})
        for col, (mean, sd, lo, hi) in cols.items():
            df[col] = np.clip(mean + sd * (0.7 * base[hh] + 0.7 * rng.normal(0, 1, len(hh))), lo, hi)
        return df

    scores = pd.concat([
        score_rows("pulse", 1, {"pulse_strain": (40, 15, 0, 100)}),
        score_rows("sib", 1, {"sib_level": (2.2, 0.8, 1, 5)}),
        score_rows("cbi", 4, {"personal_burnout": (40, 15, 0, 100), "work_burnout": (40, 15, 0, 100),
                              "client_burnout": (30, 15, 0, 100)}),
        score_rows("proqol5", 12, {"compassion_satisfaction": (38, 6, 10, 50), "burnout": (23, 5, 10, 50),
                                   "secondary_traumatic_stress": (18, 5, 10, 50)}),
    ], ignore_index=True)
    scores["sib_level"] = scores["sib_level"].round()
    scores["burned_out"] = scores["sib_level"] >= 3
    for col in SCORE_COLUMNS:
        if col not in scores:
            scores[col] = np.nan
    scores.insert(0, "submission_id", np.arange(len(scores)))
    return roster, caseload, scores


SIZE = ""


def timed(label, fn):
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    print(f"{label:<44} {dt:7.2f} s")
    print(f"ROW| {label} | {SIZE} | {dt:.2f} s |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--helpers", type=int, default=5000)
    ap.add_argument("--weeks", type=int, default=104)
    a = ap.parse_args()
    global SIZE
    SIZE = f"{a.helpers:,} helpers x {a.weeks} weeks"
    roster, caseload, scores = timed(f"build frames ({a.helpers} helpers x {a.weeks} weeks)",
                                     lambda: build(a.helpers, a.weeks))
    print(f"  caseload rows {len(caseload):,}, score rows {len(scores):,}")
    hist = timed("compute_risk, no driver texts", lambda: risk.compute_risk(roster, caseload, scores, drivers=False))
    hist = timed("compute_risk, with driver texts", lambda: risk.compute_risk(roster, caseload, scores))
    print(f"  helper-weeks {len(hist):,}; bands {hist['risk_band'].value_counts().to_dict()}")
    latest = timed("latest_risk", lambda: risk.latest_risk(roster, caseload, scores))
    cal = timed("calibrate (Cox, time-split hold-out)", lambda: leaving.calibrate(roster, hist))
    print(f"  calibration: {cal.used}: {cal.reason}")
    if cal.coefficients:
        top = sorted(cal.coefficients.items(), key=lambda kv: -abs(kv[1]))[:3]
        print("  largest log hazard ratios per SD: " + ", ".join(f"{k} {v:+.2f}" for k, v in top))
    print(f"  no risk score (no answers in the window): {int(latest['risk_score'].isna().sum())} helpers; "
          f"latest bands {latest['risk_band'].value_counts().to_dict()}")
    model = timed("leaving_model (calibrate + burnout link)", lambda: leaving.leaving_model(roster, hist, scores))
    print("  " + "\n  ".join(model.describe()))
    impact = timed("turnover.helper_impact", lambda: turnover.helper_impact_under(model, roster, latest))
    timed("turnover.team_impact", lambda: turnover.team_impact(impact))
    timed("turnover.what_if (cap caseloads, -10 points)",
          lambda: turnover.what_if(roster, latest, model.turnover_settings(), burnout_reduction_points=10,
                                   cap_caseload=True, intervention_cost=100_000, calibration=model.calibration))
    try:
        from burnout import alerts
    except ImportError:
        return
    timed("alerts.helper_alerts", lambda: alerts.helper_alerts(hist))
    timed("alerts.team_alerts", lambda: alerts.team_alerts(hist))


if __name__ == "__main__":
    main()
