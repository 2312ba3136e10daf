"""Import speed and memory at the size of a large health system.

    .venv/bin/python benchmarks/bench_import.py --helpers 5000 --weeks 104 [--url URL]

Generates a synthetic organisation (burnout.demo), writes the three CSVs, then
times validation + storage of each file through the same path as the CLI, a
no-op re-import (idempotence at scale) and reading the frames back.  Prints a
Markdown row per step with seconds, rows per second and peak RSS.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--helpers", type=int, default=5000)
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--url", help="database URL (default: a fresh SQLite file)")
    a = ap.parse_args()

    from burnout import ingest
    from burnout.demo import write_demo
    from burnout.store import frames, get_engine

    tmp = Path(tempfile.mkdtemp(prefix="bench_import."))
    t = time.perf_counter()
    files = write_demo(tmp, helpers=a.helpers, weeks=a.weeks, seed=1)
    print(f"generated demo files in {time.perf_counter() - t:.1f} s "
          f"({sum(p.stat().st_size for p in files.values()) / 2**20:.0f} MiB)")
    eng = get_engine(a.url or f"sqlite:///{tmp / 'bench.db'}")
    rows = []

    def step(name, fn, n_label):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        n = n_label(out)
        rows.append((name, n, dt, peak_mib()))
        print(f"| {name} | {n:,} | {dt:.1f} s | {n / dt:,.0f}/s | {peak_mib():,.0f} MiB |", flush=True)
        print(f"ROW| {name} | {n:,} rows ({a.helpers:,} helpers x {a.weeks} weeks) "
              f"| {dt:.1f} s, {n / dt:,.0f} rows/s, peak RSS {peak_mib():,.0f} MiB |", flush=True)
        return out

    print("| step | rows | time | rate | peak RSS |\n|---|---|---|---|---|")
    step("import roster", lambda: ingest.import_files(eng, roster=files["roster"]),
         lambda s: s.counts["roster"]["rows"])
    step("import caseload (helper-weeks)", lambda: ingest.import_files(eng, caseload=files["caseload"]),
         lambda s: s.counts["caseload"]["rows"])
    step("import surveys (item answers, incl. scoring)", lambda: ingest.import_files(eng, surveys=files["surveys"]),
         lambda s: s.counts["surveys"]["answers"])
    step("re-import surveys (no change)", lambda: ingest.import_files(eng, surveys=files["surveys"]),
         lambda s: s.counts["surveys"]["rows"])
    step("read scores frame", lambda: frames.scores(eng), len)
    step("read caseload frame", lambda: frames.caseload(eng), len)


if __name__ == "__main__":
    main()
