"""Development experiments for the risk score's ranking, on organisations the
validation never sees (seeds 101-103; the held-out report uses 11-14, the
tests 21).  Not a test: ``python benchmarks/develop_risk.py [--seeds 101 102 103]``.

Two honest attempts to rank 12-month leavers better than the best single
instrument (issue 13, point 4), each judged on the development seeds only:

* **weights fitted on the organisation's own leavers**: a logistic regression of
  leaving within 52 weeks on every component's pressure at landmark weeks
  (every 13 weeks up to the as-of date, the rows ``leaving.calibrate`` uses),
  coefficients constrained to be >= 0 (more strain never lowers the score) and
  ridge-penalised (``l2``), rescaled to the default self-report and context
  totals so the risk keeps its anchors (a weighted mean of pressures);
* **longer level windows**: the self-reported level averaged over more past
  answers (``risk.LEVEL_WINDOW_WEEKS``), which lowers the noise of a single
  administration.

Prints, per seed, the AUC of the risk score as shipped, of each variant and of
the best single instrument (its latest score alone).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import heldout  # noqa: E402
import validate_models as V  # noqa: E402
from burnout import leaving, risk  # noqa: E402
from burnout.domain.settings import Settings  # noqa: E402

WINDOWS = {"longer windows (x2)": {"pulse": 8, "sib": 8, "cbi": 12, "proqol5": 1},
           "longer windows (x3)": {"pulse": 12, "sib": 12, "cbi": 16, "proqol5": 1}}


def fitted_weights(rows, l2: float) -> dict:
    from scipy.optimize import minimize
    X = rows[[f"c_{n}" for n in risk.NAMES]].to_numpy(float)
    y = rows["event"].to_numpy(float)
    X = np.where(np.isnan(X), np.nanmean(X, axis=0), X)
    Xc = X - X.mean(0)

    def nll(b):
        z = b[0] + Xc @ b[1:]
        return np.sum(np.logaddexp(0, z) - y * z) + l2 * np.sum(b[1:] ** 2)
    res = minimize(nll, np.zeros(X.shape[1] + 1), method="L-BFGS-B",
                   bounds=[(None, None)] + [(0, None)] * X.shape[1])
    coef = dict(zip(risk.NAMES, res.x[1:]))
    d = risk.DEFAULT_WEIGHTS
    out = {}
    for group in (risk.SELF_REPORT, risk.CONTEXT):
        total = sum(coef[n] for n in group) or 1.0
        out.update({n: sum(d[k] for k in group) * coef[n] / total for n in group})
    return out


def run(seed: int) -> dict:
    org = heldout.generate(helpers=480, seed=seed)
    c = heldout.cut(org, 104)
    s = Settings()
    y_all = c["outcome"].dropna()

    def score(weights=None):
        lat = risk.latest_risk(c["roster"], c["caseload"], c["scores"], as_of=c["as_of"], settings=s)
        ids = [h for h in lat["helper_id"] if h in y_all.index]
        L = lat.set_index("helper_id").loc[ids]
        rs = (risk.combine(L, weights) if weights else L["risk_score"]).to_numpy(float)
        return ids, L, rs

    ids, L, rs = score()
    y = y_all.loc[ids].to_numpy(int)
    ok = np.isfinite(rs)
    out = {"seed": seed, "shipped": V.auc(y[ok], rs[ok])}
    raw = V.latest_scores(c["scores"]).reindex(ids)
    singles = {}
    for col, sign in V.SINGLE.items():
        v = sign * raw[col].to_numpy(float)
        both = np.isfinite(v) & ok
        singles[col] = V.auc(y[both], v[both])
    out["best_single"] = max(singles.items(), key=lambda kv: kv[1])
    hist = risk.compute_risk(c["roster"], c["caseload"], c["scores"], as_of=c["as_of"], drivers=False, settings=s)
    rows = leaving._landmarks(c["roster"], hist, c["as_of"], 52, 13, leaving.DEFAULT_EXCLUDED_REASONS)
    rows = rows[rows["risk_score"].notna()]
    for l2 in (0.3, 3.0, 30.0):
        r2 = risk.combine(L, fitted_weights(rows, l2)).to_numpy(float)
        k = np.isfinite(r2)
        out[f"fitted weights (l2 {l2:g})"] = V.auc(y[k], r2[k])
    keep = dict(risk.LEVEL_WINDOW_WEEKS)
    try:
        for name, lw in WINDOWS.items():
            risk.LEVEL_WINDOW_WEEKS.update(lw)
            _, _, r3 = score()
            k = np.isfinite(r3)
            out[name] = V.auc(y[k], r3[k])
    finally:
        risk.LEVEL_WINDOW_WEEKS.update(keep)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103])
    a = ap.parse_args(argv)
    for seed in a.seeds:
        r = run(seed)
        best, best_auc = r.pop("best_single")
        print(f"seed {seed}: best single instrument {best} {best_auc:.3f}; " + ", ".join(
            f"{k} {v:.3f}" for k, v in r.items() if k != "seed"), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
