"""Time the release gate and the HR review on a large organisation (not a unit test).

    .venv/bin/python benchmarks/bench_gate.py --url sqlite:////tmp/bench.db
    .venv/bin/python benchmarks/bench_gate.py --helpers 5000 --weeks 104
    .venv/bin/python benchmarks/bench_gate.py --url ... --steps [--after 3]

Prints the HR reader's joint audit (disclosure.plan_for via views.tables.review_plan)
cold and cached, and the HR review (views.review.build_review) with a cold and a cached
plan — the page caches the finished review on top of that (bench_pages.py).

``--steps`` measures the review in this process the way the HR page meets it, CPU
seconds (user + system) and wall seconds, as RESULT lines (benchmarks/measure.py):
``review.load`` (the organisation's frames from the stored tables), ``review.cold``
(every cache of the review empty: privacy plan, weekly blocks), ``review.warm`` (the
same data again: every cache hit; the page's own st.cache_data would not even get
here), ``review.after_one_answer`` (one more pulse answer in the latest week added to
the frames already read: what the review itself recomputes, without reading the frames
again), ``review.after_checkin`` (one new check-in by a helper, its helper weeks
refreshed, the frames read again and the review built: only what the check-in
touched is computed again; ``--after N``, slow: every run reads the frames again).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def steps(engine, after: int, warm: int = 3) -> None:
    """The review's cold, warm and after-one-check-in costs (see the module docstring)."""
    from bench_pages import one_checkin, other_team_helpers
    from measure import emit, peak_mib_self, timed_call

    import dataclasses

    import pandas as pd

    from burnout import audit_cache, disclosure, materialise
    from burnout.views import review, tables
    from burnout.views.data import load_data

    def run(fn):
        out, wall, cpu = timed_call(fn)
        return out, {"wall": wall, "cpu": cpu, "rss_mib": peak_mib_self()}

    data, r = run(lambda: load_data(engine))
    emit("review.load", [r])
    disclosure._PLANS.clear()
    audit_cache.clear()
    getattr(tables, "_WEEKS", {}).clear()     # (absent before the weekly blocks were cached)
    _, r = run(lambda: review.build_review(engine, "org", data=data))
    emit("review.cold", [r])
    emit("review.warm", [run(lambda: review.build_review(engine, "org", data=data))[1] for _ in range(warm)])
    # one more answer in the latest week, added to the frames already read: what the review
    # itself recomputes after a check-in, apart from reading the frames again (review.load)
    scores = data.scores
    last = scores[scores["week_start"] == scores["week_start"].max()]
    one = last[last["pulse_strain"].notna()].iloc[[0]].assign(pulse_strain=lambda d: 100 - d["pulse_strain"],
                                                                submission_id=-1)
    more = dataclasses.replace(data, scores=pd.concat([scores, one], ignore_index=True))
    emit("review.after_one_answer", [run(lambda: review.build_review(engine, "org", data=more))[1]])
    helpers = other_team_helpers(engine, None)
    loads, builds = [], []
    for i in range(after):
        one_checkin(engine, helpers[(i * 997) % len(helpers)], second=60 + i)
        materialise.settle(engine)
        data, r = run(lambda: load_data(engine))
        loads.append(r)
        builds.append(run(lambda: review.build_review(engine, "org", data=data))[1])
    if after:
        emit("review.after_checkin.load", loads)
        emit("review.after_checkin", builds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="an existing database (default: import a synthetic one)")
    ap.add_argument("--helpers", type=int, default=5000)
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--steps", action="store_true", help="cold / warm / after one check-in (see above)")
    ap.add_argument("--after", type=int, default=3, help="check-ins measured one by one with --steps")
    ap.add_argument("--warm", type=int, default=3, help="warm builds measured with --steps")
    a = ap.parse_args()

    from burnout import audit_cache, disclosure
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
    if a.steps:
        steps(engine, a.after, a.warm)
        return
    data = load_data(engine)
    people = people_frame(data)
    min_n = data.min_n

    def timed(f):
        t = time.perf_counter()
        f()
        return time.perf_counter() - t

    disclosure._PLANS.clear()
    audit_cache.clear()
    plan_cold = timed(lambda: tables.review_plan(people, min_n))
    plan_warm = timed(lambda: tables.review_plan(people, min_n))
    disclosure._PLANS.clear()
    audit_cache.clear()
    getattr(tables, "_WEEKS", {}).clear()
    review_cold = timed(lambda: review.build_review(engine, "org", data=data))
    review_warm = timed(lambda: review.build_review(engine, "org", data=data))
    n = len(people)
    print(f"ROW| release gate: HR joint audit, cold / cached | {n:,} helpers | {plan_cold:.2f} s / {plan_warm:.3f} s |")
    print(f"ROW| HR review built, audit cold / audit cached | {n:,} helpers | {review_cold:.1f} s / {review_warm:.1f} s |")


if __name__ == "__main__":
    main()
