"""The organisation's audit a lead's page rests on, right after one check-in (not a unit test).

    .venv/bin/python benchmarks/bench_audit_after.py --url sqlite:////tmp/copy-of-an-organisation.db [--after 3]

The database is changed (check-ins are added): pass a copy.  As a lead's page does
(ui/common.py: _org_frames, org_audit), the organisation's frames are read and its audit
(views.team.org_audit) made once (cold); then after each of ``--after`` check-ins in
different teams the held frames are patched (views.data.load_review_data(since=...)) and
the audit made again.  Each line gives the CPU seconds of the read and of the audit, and
whether the window's plan came back the same object (its cache: who answered).  The
first check-in of a week whose data end the week before moves every figure's week and
is a cold build again (bench_pages.py says why); use a copy whose data reach this week.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_pages  # noqa: E402
from burnout import materialise  # noqa: E402
from burnout.store import frames, get_engine  # noqa: E402
from burnout.views import team as team_views  # noqa: E402
from burnout.views.data import load_review_data  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--after", type=int, default=3)
    ap.add_argument("--measure", default="pulse_strain")
    a = ap.parse_args()
    engine = get_engine(a.url)
    t = time.process_time()
    held = load_review_data(engine, with_model=False)
    read = time.process_time() - t
    t = time.process_time()
    audit = team_views.org_audit(held, a.measure)
    print(f"cold: read {read:.2f} CPU-s, audit {time.process_time() - t:.2f} CPU-s", flush=True)
    roster = frames.roster(engine)
    active = roster[roster["end_date"].isna()]
    teams = sorted(active["team"].dropna().unique())
    for i in range(a.after):
        helper = active.loc[active["team"] == teams[(i * 37 + 5) % len(teams)], "helper_id"].iloc[0]
        bench_pages.one_checkin(engine, helper, second=80 + i)
        materialise.settle(engine)        # the check-in's own refresh, done when the data arrive
        t = time.process_time()
        held = load_review_data(engine, with_model=False, since=held)
        read = time.process_time() - t
        t = time.process_time()
        again = team_views.org_audit(held, a.measure)
        print(f"after check-in {i + 1}: read {read:.2f} CPU-s, audit {time.process_time() - t:.2f} CPU-s, "
              f"same plan {again.plan is audit.plan}", flush=True)
        audit = again


if __name__ == "__main__":
    main()
