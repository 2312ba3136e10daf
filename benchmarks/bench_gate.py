"""Time the release gate on a large organisation (not a unit test).

    .venv/bin/python benchmarks/bench_gate.py --url sqlite:////tmp/bench.db
    .venv/bin/python benchmarks/bench_gate.py --helpers 5000 --weeks 104

Prints the HR reader's joint audit (disclosure.plan_for via views.tables.review_plan)
cold and cached, and the HR review (views.review.build_review) with a cold and a cached
plan — the page caches the finished review on top of that (bench_pages.py).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="an existing database (default: import a synthetic one)")
    ap.add_argument("--helpers", type=int, default=5000)
    ap.add_argument("--weeks", type=int, default=104)
    a = ap.parse_args()

    from burnout import disclosure
    from burnout.store import get_engine
    from burnout.views import review, tables
    from burnout.views.data import load_data, people_frame

    url = a.url
    if not url:
        from burnout import ingest
        from burnout.demo import write_demo

        tmp = Path(tempfile.mkdtemp(prefix="bench_gate."))
        files = write_demo(tmp, helpers=a.helpers, weeks=a.weeks, seed=1)
        url = f"sqlite:///{tmp / 'bench.db'}"
        ingest.import_files(get_engine(url), **files)
    engine = get_engine(url)
    data = load_data(engine)
    people = people_frame(data)
    min_n = data.min_n

    def timed(f):
        t = time.perf_counter()
        f()
        return time.perf_counter() - t

    plan_cold = timed(lambda: tables.review_plan(people, min_n))
    plan_warm = timed(lambda: tables.review_plan(people, min_n))
    disclosure._PLANS.clear()
    review_cold = timed(lambda: review.build_review(engine, "org", data=data))
    review_warm = timed(lambda: review.build_review(engine, "org", data=data))
    n = len(people)
    print(f"ROW| release gate: HR joint audit, cold / cached | {n:,} helpers | {plan_cold:.2f} s / {plan_warm:.3f} s |")
    print(f"ROW| HR review built, audit cold / audit cached | {n:,} helpers | {review_cold:.1f} s / {review_warm:.1f} s |")


if __name__ == "__main__":
    main()
