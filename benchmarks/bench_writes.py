"""Check-ins under load: 32 concurrent writers through the check-in page's own write path.

    .venv/bin/python benchmarks/bench_writes.py [--engine sqlite|postgresql|both]
        [--checkins 10000] [--processes 8] [--threads 4] [--duplicates 200]
        [--scenario checkins|during-import|both] [--import-helpers 400]

Each writer calls ``checkin.save_checkin`` (what the page calls) with a weekly
pulse + single-item answer set.  Besides the unique check-ins, ``--duplicates``
copies of some of them are sent at the same moment by another writer, so the
duplicate race is exercised: each must end as the plain "already stored"
refusal.  Counted: saved, lost (a unique check-in not in the database), raw
errors (anything but that refusal), "locked" shown, throughput and latency.
PostgreSQL runs on a throwaway server (tests/pg.py).

    .venv/bin/python benchmarks/bench_writes.py --url URL --single 5

times one check-in at a time into an existing organisation (run_all.py's
database): ``--single`` helpers each save one weekly check-in, one after the
other; median wall and CPU seconds per check-in and the process's peak RSS.

``--scenario during-import`` (part of the default ``both``): check-ins while a
large import writes (the CLI import of a demo organisation of
``--import-helpers`` helpers x 52 weeks, in its own process): ``--threads``
writers check in back to back from the moment the import starts writing until
it has finished; counted as above, with the latency of the check-ins made
while the import was writing (target: p95 under 1 s on SQLite).
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402

BASE = dt.datetime(2026, 1, 5, 9, 0, 0)
LABELS = {"saved": "saved", "duplicate": "clean duplicate refusal"}


def answers(rng: random.Random) -> dict:
    return {"pulse": {f"pulse_{i}": rng.randint(1, 5) for i in range(1, 7)}, "sib": {"sib_1": rng.randint(1, 5)}}


def _writer(url: str, jobs: list[list[tuple[str, int, dict]]], start, out) -> None:
    from burnout import checkin
    from burnout.errors import InputError
    from burnout.store import get_engine

    engine = get_engine(url)
    start.wait()        # every process imported and connected: the clock starts for all at once
    results: list[tuple[str, float, str]] = []
    lock = threading.Lock()

    def run(part):
        mine = []
        for helper, second, ans in part:
            t = time.perf_counter()
            try:
                checkin.save_checkin(engine, helper, ans, submitted_at=BASE + dt.timedelta(seconds=second))
                kind = "saved"
            except InputError as exc:
                kind = "duplicate" if "already stored" in str(exc) else f"raw:{exc}"
            except Exception as exc:  # noqa: BLE001 - counting what a user would have been shown
                kind = "locked" if "locked" in str(exc).lower() else f"raw:{type(exc).__name__}"
            mine.append((kind, time.perf_counter() - t, f"{helper}@{second}"))
        with lock:
            results.extend(mine)

    ts = [threading.Thread(target=run, args=(part,)) for part in jobs]
    [t.start() for t in ts]
    [t.join() for t in ts]
    out.put(results)


def bench(url: str, label: str, checkins: int, processes: int, threads: int, duplicates: int) -> str:
    from sqlalchemy import func, select

    from burnout import ingest
    from burnout.store import get_engine
    from burnout.store import schema as s

    writers = processes * threads
    helpers = 320
    engine = get_engine(url)
    roster = "helper_id,name,team,role,site,fte,start_date\n" + "".join(
        f"B{i},Helper {i},Team {i % 16},counsellor,Site {i % 4},1,2024-01-01\n" for i in range(helpers))
    ingest.import_files(engine, roster=roster.encode(), names={"roster": "roster.csv"})

    rng = random.Random(5)
    # unique check-ins: helper i answers at second k (distinct per helper)
    unique = [(f"B{n % helpers}", n // helpers * 3600 + n % helpers, answers(rng)) for n in range(checkins)]
    per_writer = [unique[w::writers] for w in range(writers)]
    for _ in range(duplicates):     # the same check-in sent again by the next writer at the same position
        w = rng.randrange(writers)
        k = rng.randrange(len(per_writer[w]))
        per_writer[(w + 1) % writers].insert(k, per_writer[w][k])
    by_process = [per_writer[p * threads:(p + 1) * threads] for p in range(processes)]

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    start = ctx.Barrier(processes + 1)
    procs = [ctx.Process(target=_writer, args=(url, by_process[p], start, q)) for p in range(processes)]
    [p.start() for p in procs]
    start.wait()
    t0 = time.perf_counter()
    results = [r for _ in procs for r in q.get()]
    wall = time.perf_counter() - t0
    [p.join() for p in procs]

    kinds = [k for k, _, _ in results]
    lat = np.array([d for _, d, _ in results])
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(s.submissions)
                              .where(s.submissions.c.instrument == "pulse")).scalar_one()
    saved = kinds.count("saved")
    raw = [k for k in kinds if k.startswith("raw")]
    locked = kinds.count("locked")
    lost = checkins - stored
    p50, p95, p99 = np.percentile(lat, [50, 95, 99])
    print(f"{label}: saved {saved:,}, stored {stored:,}, lost {lost}, clean duplicate refusals "
          f"{kinds.count('duplicate')}, raw errors {len(raw)} {sorted(set(raw))[:5]}, locked shown {locked}, "
          f"{saved / wall:,.1f} check-ins/s, p50 {p50:.3f} s, p95 {p95:.3f} s, p99 {p99:.3f} s, "
          f"wall {wall:.1f} s", flush=True)
    return (f"ROW| check-ins, {writers} concurrent writers ({processes} processes x {threads} threads), {label} "
            f"| {checkins:,} check-ins + {duplicates} simultaneous duplicates "
            f"| {saved:,} saved, {lost} lost, {len(raw)} raw errors, {locked} 'locked' shown, "
            f"{kinds.count('duplicate')} clean duplicate refusals; {saved / wall:,.0f} check-ins/s; "
            f"latency p50 {p50:.2f} s, p95 {p95:.2f} s, p99 {p99:.2f} s |")


def single(url: str, n: int) -> None:
    """One check-in at a time into ``url``, by ``n`` different helpers."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_pages import one_checkin
    from measure import emit, last_server_cpu, peak_mib_self, timed_call

    from burnout.store import frames, get_engine

    engine = get_engine(url)
    roster = frames.roster(engine)
    ids = list(roster.loc[roster["end_date"].isna(), "helper_id"])[-n:]
    one_checkin(engine, ids[0], second=3000)     # the first write pays for connecting and warming up
    runs = []
    for i, hid in enumerate(ids):
        _, wall, cpu = timed_call(lambda: one_checkin(engine, hid, second=3001 + i))
        runs.append({"wall": wall, "cpu": cpu, "rss_mib": peak_mib_self(), "server_cpu": last_server_cpu()})
    emit("checkin_write", runs)

def during_import(url: str, label: str, helpers: int, threads: int) -> str:
    import os
    import subprocess

    from burnout import checkin, ingest
    from burnout.demo import write_demo
    from burnout.errors import InputError
    from burnout.store import get_engine, staging

    files = write_demo(Path(tempfile.mkdtemp(prefix="bench_import.")), helpers=helpers, weeks=52, seed=11)
    engine = get_engine(url)
    ingest.import_files(engine, roster=files["roster"])
    ids = sorted(ingest.prepare(roster=files["roster"])["roster"][1]["helper_id"])
    proc = subprocess.Popen([sys.executable, "-m", "burnout", "import", "--surveys", str(files["surveys"]),
                             "--caseload", str(files["caseload"])], cwd=ROOT,
                            env={**os.environ, "BURNOUT_DATABASE_URL": url},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.perf_counter()
    while proc.poll() is None and staging.holder(engine) is None:
        time.sleep(0.01)
    writing_from = time.perf_counter()
    results: list[tuple[str, float, bool]] = []
    lock = threading.Lock()
    rng = random.Random(3)

    def run(w: int) -> None:
        n = 0
        while proc.poll() is None:
            helper = ids[(w * 7919 + n) % len(ids)]
            when = dt.datetime(2031, 1, 6, 8) + dt.timedelta(seconds=w * 100_000 + n)
            t = time.perf_counter()
            try:
                checkin.save_checkin(engine, helper, answers(rng), submitted_at=when)
                kind = "saved"
            except InputError as exc:
                kind = f"raw:{exc}"
            except Exception as exc:  # noqa: BLE001 - counting what a user would have been shown
                kind = "locked" if "locked" in str(exc).lower() else f"raw:{type(exc).__name__}"
            during = staging.holder(engine) is not None
            with lock:
                results.append((kind, time.perf_counter() - t, during))
            n += 1

    ts = [threading.Thread(target=run, args=(w,)) for w in range(threads)]
    [t.start() for t in ts]
    code = proc.wait()
    import_s = time.perf_counter() - t0
    write_s = time.perf_counter() - writing_from
    [t.join() for t in ts]
    if code != 0:
        raise SystemExit(f"the import failed: {proc.stderr.read()[-2000:]}")
    lat = np.array([d for _, d, during in results if during] or [np.nan])
    kinds = [k for k, _, _ in results]
    raw = [k for k in kinds if k.startswith("raw")]
    p50, p95, top = np.percentile(lat, 50), np.percentile(lat, 95), np.max(lat)
    print(f"{label}: import of {helpers} helpers x 52 weeks took {import_s:.1f} s ({write_s:.1f} s writing); "
          f"{kinds.count('saved')} check-ins saved meanwhile by {threads} writers, {len(raw)} raw errors, "
          f"{kinds.count('locked')} locked; while writing: {len(lat)} check-ins, p50 {p50:.3f} s, "
          f"p95 {p95:.3f} s, max {top:.3f} s", flush=True)
    return (f"ROW| check-ins during a large import, {threads} writers, {label} | import of {helpers} helpers x "
            f"52 weeks ({import_s:.0f} s) | {kinds.count('saved'):,} saved, {len(raw)} raw errors, "
            f"{kinds.count('locked')} 'locked' shown; while the import wrote: p50 {p50:.2f} s, p95 {p95:.2f} s, "
            f"max {top:.2f} s |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", help="with --single: an existing organisation")
    ap.add_argument("--single", type=int, help="time this many check-ins one at a time (see above)")
    ap.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--checkins", type=int, default=10_000)
    ap.add_argument("--processes", type=int, default=8)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--duplicates", type=int, default=200)
    ap.add_argument("--scenario", choices=["checkins", "during-import", "both"], default="both")
    ap.add_argument("--import-helpers", type=int, default=400)
    a = ap.parse_args()
    if a.single:
        single(a.url, a.single)
        return
    rows = []

    def run(new_url, label: str) -> None:
        if a.scenario in ("checkins", "both"):
            rows.append(bench(new_url(), label, a.checkins, a.processes, a.threads, a.duplicates))
        if a.scenario in ("during-import", "both"):
            rows.append(during_import(new_url(), label, a.import_helpers, a.threads))

    if a.engine in ("sqlite", "both"):
        run(lambda: f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench_writes.')) / 'w.db'}", "SQLite (WAL)")
    if a.engine in ("postgresql", "both"):
        from pg import Server

        server = Server()
        try:
            run(server.new_database, "PostgreSQL")
        finally:
            server.stop()
    for r in rows:
        print(r, flush=True)


if __name__ == "__main__":
    main()
