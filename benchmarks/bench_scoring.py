"""Time scoring 1,000,000 ProQOL 5 answer sets (not a unit test).

    .venv/bin/python benchmarks/bench_scoring.py [--rows N] [--labels]

Answers are random 1-5 with about 2 % left blank, so proration and the
not-scored rule are exercised too.  ``--labels`` times text answers ("Often")
instead of numbers, as they arrive from form-tool exports.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a plain script

from burnout.instruments import load  # noqa: E402
from burnout.scoring import score  # noqa: E402


def make_answers(rows: int, labels: bool, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    inst = load("proqol5")
    data = rng.integers(1, 6, size=(rows, len(inst.item_ids))).astype(float)
    data[rng.random(data.shape) < 0.02] = np.nan
    frame = pd.DataFrame(data, columns=list(inst.item_ids))
    if labels:
        names = np.array([None, *inst.scales["frequency"].labels], dtype=object)
        frame = frame.apply(lambda c: pd.Series(names[c.fillna(0).astype(int)], index=c.index))
    frame.insert(0, "respondent_id", np.arange(rows))
    return frame


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--labels", action="store_true", help="answers as labels, not numbers")
    a = ap.parse_args()
    answers = make_answers(a.rows, a.labels)
    start = time.perf_counter()
    scores = score(answers, "proqol5")
    seconds = time.perf_counter() - start
    kind = "label" if a.labels else "numeric"
    print(f"scored {len(scores):,} ProQOL 5 answer sets ({kind}) in {seconds:.2f} s "
          f"= {len(scores) / seconds:,.0f} rows/s")
    print(f"ROW| score ProQOL 5 answer sets ({kind}) | {len(scores):,} sets "
          f"| {seconds:.2f} s, {len(scores) / seconds:,.0f} sets/s |")
    print(f"not scored (3+ missing in a subscale): {scores['burnout'].isna().sum():,} burnout rows")


if __name__ == "__main__":
    main()
