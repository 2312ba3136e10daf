"""Time the dashboard pages on a large organisation (not a unit test).

    .venv/bin/python benchmarks/bench_pages.py --url sqlite:////tmp/bench.db
    .venv/bin/python benchmarks/bench_pages.py --helpers 5000 --weeks 104

With ``--url`` the database is used as it is (for example the one
bench_import.py leaves behind with ``--keep``); otherwise a synthetic
organisation is imported first.  Each page is run through Streamlit's AppTest
twice as the role that opens it: the first run pays for loading and the risk
model (a lead's or HR reviewer's first visit after new data), the second is
what every later click costs while the page cache is warm.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-1"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def accounts(engine) -> dict[str, str]:
    """A lead of the largest team, an HR reviewer, an admin and one helper."""
    from sqlalchemy import select

    from burnout import auth
    from burnout.store import frames
    from burnout.store import schema as s

    roster = frames.roster(engine)
    active = roster[roster["end_date"].isna()]
    team = active["team"].value_counts().index[0]
    helper = active.loc[active["team"] == team, "helper_id"].iloc[0]
    with engine.connect() as conn:
        have = set(conn.execute(select(s.users.c.username)).scalars())
    wanted = {"bench-lead": ("lead", None, team), "bench-hr": ("hr", None, None),
              "bench-admin": ("admin", None, None), "bench-helper": ("helper", helper, None)}
    for name, (role, hid, tm) in wanted.items():
        if name not in have:
            auth.create_user(engine, name, PASSWORD, role, helper_id=hid, team=tm)
    return {role: name for name, (role, _, _) in wanted.items()}


def run_page(engine, page: str, username: str) -> float:
    from streamlit.testing.v1 import AppTest

    from burnout import auth
    from burnout.ui.common import now

    at = AppTest.from_file(str(ROOT / "burnout" / "ui" / f"{page}.py"), default_timeout=900)
    at.session_state["user"] = auth.authenticate(engine, username, PASSWORD)
    at.session_state["last_seen"] = now()
    t = time.perf_counter()
    at.run()
    dt = time.perf_counter() - t
    if at.exception:
        raise SystemExit(f"{page}: {at.exception[0].value}")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="an existing database (default: import a synthetic one)")
    ap.add_argument("--helpers", type=int, default=5000)
    ap.add_argument("--weeks", type=int, default=104)
    a = ap.parse_args()

    import os

    from burnout.store import get_engine

    url = a.url
    if not url:
        from burnout import ingest
        from burnout.demo import write_demo

        tmp = Path(tempfile.mkdtemp(prefix="bench_pages."))
        files = write_demo(tmp, helpers=a.helpers, weeks=a.weeks, seed=1)
        url = f"sqlite:///{tmp / 'bench.db'}"
        t = time.perf_counter()
        ingest.import_files(get_engine(url), **files)
        print(f"imported {a.helpers} helpers x {a.weeks} weeks in {time.perf_counter() - t:.0f} s")
    os.environ["BURNOUT_DATABASE_URL"] = url   # the pages read it
    os.environ["BURNOUT_DEMO"] = "0"
    engine = get_engine(url)
    who = accounts(engine)
    n_helpers = len(__import__("burnout.store.frames", fromlist=["roster"]).roster(engine))

    print("| page | role | first open | again (cached) | peak RSS |\n|---|---|---|---|---|")
    # The lead and HR pages share one loaded copy of the organisation's data: the
    # team page pays for loading it, the review after it only for building itself.
    for i, (page, role) in enumerate([("team", "lead"), ("org_review", "hr"), ("checkin", "helper"),
                                      ("my_wellbeing", "helper"), ("data_admin", "admin")]):
        first = run_page(engine, page, who[role])
        again = run_page(engine, page, who[role])
        print(f"| {page} | {role} | {first:.1f} s | {again:.1f} s | {peak_mib():,.0f} MiB |", flush=True)
        what = "first open, loading the data" if i == 0 else "first open"
        print(f"ROW| page `{page}` ({role}): {what} / again | {n_helpers:,} helpers "
              f"| {first:.1f} s / {again:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
