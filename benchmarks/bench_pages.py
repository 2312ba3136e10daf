"""Time the dashboard pages on a large organisation (not a unit test).

    .venv/bin/python benchmarks/bench_pages.py --url sqlite:////tmp/bench.db
    .venv/bin/python benchmarks/bench_pages.py --helpers 5000 --weeks 104
    .venv/bin/python benchmarks/bench_pages.py --url ... --page team [--warm 3] [--after 3] [--cold-only]

With ``--page`` one page is measured in this (fresh) process, as run_all.py
does: its first run (cold: nothing cached in the process, as on a server right
after a start or a change of data), ``--warm`` reruns of the same session (a
click while the cache is warm) and ``--after`` reruns each right after one new
check-in by a helper of another team (when the data end before this week, the
week's first check-in comes before them, timed apart as ``after_new_week``: it
moves every figure's week, once a week; the page the process showed before is shown
meanwhile, ``update_wall`` is how long until the new one is ready, and
``after_new_week_ready`` the page then).  Each prints wall and CPU seconds and the
process's peak RSS as a RESULT line.  The modules the page imports are
imported before the clock starts, as a running server has them already.

With ``--url`` the database is used as it is (for example the one
bench_import.py leaves behind with ``--keep``); otherwise a synthetic
organisation is imported first.  Each page is run through Streamlit's AppTest
twice as the role that opens it: the first run pays for loading and the risk
model (a lead's or HR reviewer's first visit after new data), the second is
what every later click costs while the page cache is warm.

After each check-in the refresh it queued (its helper's stored weeks, computed by
this process's worker thread) is waited for and timed apart (``refresh_cpu``), so
``after_checkin`` is what the page itself costs; so is the process's update of what it
showed lately, which follows the refresh in the background (``update_wall``,
``update_cpu``: ui/common.py); ``after_checkin_at_once`` is the page run the moment the
refresh is stored, while that update is still under way.  Streamlit's start-up scan of the
installed components, which AppTest does on an app's first run and a server once
when it starts, is done before the clock.
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


def auth_team(engine, username: str) -> str | None:
    from burnout import auth

    return auth.get_user(engine, username).get("team_id")


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


ROLE_OF = {"team": "lead", "org_review": "hr", "checkin": "helper", "my_wellbeing": "helper",
           "data_admin": "admin"}


def preimport(page: str) -> None:
    """Import what the page script imports, so its first run is not charged for it."""
    import ast
    import importlib

    tree = ast.parse((ROOT / "burnout" / "ui" / f"{page}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mod = importlib.import_module(node.module)
            for alias in node.names:
                if not hasattr(mod, alias.name):
                    importlib.import_module(f"{node.module}.{alias.name}")


def other_team_helpers(engine, team: str | None, own: bool = False) -> list[str]:
    """Active helpers outside ``team`` (the lead's): who makes the 'one check-in
    anywhere' before each after-check-in run; ``own``: the team's own helpers instead
    (a check-in the lead's page must wait for)."""
    from burnout.store import frames

    r = frames.roster(engine)
    r = r[r["end_date"].isna() & ((r["team"] == team) if own else (r["team"] != team))]
    return list(r["helper_id"])


_BASE = None


def moves_the_week(engine) -> bool:
    """Whether a check-in now would be the first of a new week: the data end before it."""
    import pandas as pd

    from burnout import materialise
    from burnout.store import settings as saved_settings
    from burnout.ui.common import now

    horizon, _ = materialise.org_extent(engine, saved_settings.load(engine))
    today = pd.Timestamp(now()).normalize()
    return horizon is None or horizon < today - pd.Timedelta(days=today.weekday())


def one_checkin(engine, helper_id: str, second: int) -> float:
    """A weekly check-in (pulse + single item) through the page's own write path."""
    import datetime as dt

    from burnout import checkin
    from burnout.ui.common import now

    global _BASE
    # One fixed moment per process: ``second`` alone keeps two check-ins of one helper
    # apart (now() moves on between calls, so now() - second could repeat a time).
    _BASE = _BASE or now().replace(microsecond=0)
    answers = {"pulse": {f"pulse_{i}": 1 + (i + second) % 5 for i in range(1, 7)}, "sib": {"sib_1": 2}}
    t = time.perf_counter()
    checkin.save_checkin(engine, helper_id, answers, submitted_at=_BASE - dt.timedelta(seconds=second))
    return time.perf_counter() - t


def server_start(at) -> None:
    """What a Streamlit server does once when it starts and AppTest does on an app's first
    run: scan the installed packages for components (about 0.9 CPU-s here).  Done before
    the clock, as a lead's first open reaches a server that started long ago."""
    try:
        from streamlit.components.v2.component_manager import BidiComponentManager
    except ImportError:       # a Streamlit without it: nothing to do ahead
        return
    if getattr(at, "_bidi_component_manager", False) is None:
        manager = BidiComponentManager()
        manager.discover_and_register_components(start_file_watching=False)
        at._bidi_component_manager = manager


def measure_page(engine, page: str, username: str, warm: int, after: int, checkin_helpers: list[str]) -> None:
    import statistics

    from streamlit.testing.v1 import AppTest

    from burnout import auth, materialise
    from burnout.ui.common import now

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from measure import emit, last_server_cpu, peak_mib_self, timed_call

    preimport(page)
    at = AppTest.from_file(str(ROOT / "burnout" / "ui" / f"{page}.py"), default_timeout=3600)
    at.session_state["user"] = auth.authenticate(engine, username, PASSWORD)
    at.session_state["last_seen"] = now()
    server_start(at)

    def one(kind):
        _, wall, cpu = timed_call(at.run)
        if at.exception:
            raise SystemExit(f"{page} ({kind}): {at.exception[0].value}")
        return {"wall": wall, "cpu": cpu, "rss_mib": peak_mib_self(), "server_cpu": last_server_cpu()}

    cold = one("cold")
    # A page that read the stored release audit has its process compute its own in the
    # background (ui/common.py), so that a later check-in costs what changed: timed apart,
    # after the page was shown, and waited for before the warm and after-check-in runs.
    from burnout.ui import common
    emit(f"{page}.cold", [cold], background_cpu=timed_call(common._wait_warm)[2])
    if warm:
        emit(f"{page}.warm", [one("warm") for _ in range(warm)])
    if after and moves_the_week(engine):
        # The week's first check-in moves every figure's week (the data horizon, materialise.
        # org_extent): every helper's latest row and every page are computed again, once a
        # week.  Timed apart, so after_checkin is what any later check-in of the week costs.
        one_checkin(engine, checkin_helpers[-1], second=59)
        refresh = timed_call(lambda: materialise.settle(engine))[2]
        shown = one("after the week's first check-in")
        # a page this process showed before is shown meanwhile (ui/common._shown_meanwhile):
        # how long until the new figures are ready is timed apart, then the page that shows them
        _, ready_wall, ready_cpu = timed_call(common.wait_for_updates)
        emit(f"{page}.after_new_week", [shown], refresh_cpu=refresh, update_wall=ready_wall, update_cpu=ready_cpu)
        emit(f"{page}.after_new_week_ready", [one("after the week's figures are ready")])
    runs, refreshes, updates = [], [], []
    for i in range(after):
        one_checkin(engine, checkin_helpers[i % len(checkin_helpers)], second=60 + i)
        # The check-in's own work (its helper's weeks, refreshed by this process's worker
        # thread) is timed apart: it is done once when the data arrive, not by the page.
        refreshes.append(timed_call(lambda: materialise.settle(engine))[2])
        # So is the process's update of what it showed lately (ui/common.py, after the
        # refresh): update_wall is how long after the refresh a click still waits for it.
        updates.append(timed_call(common.wait_for_updates)[1:])
        runs.append(one("after check-in"))
    # A click the moment the refresh is stored, the update still under way: the page waits
    # for the same computation (at worst what it cost before the update existed).
    at_once = []
    for i in range(after):
        one_checkin(engine, checkin_helpers[(after + i) % len(checkin_helpers)], second=60 + after + i)
        materialise.settle(engine)
        at_once.append(one("at once after a check-in"))
        common.wait_for_updates()
    if after:
        emit(f"{page}.after_checkin_at_once", at_once)
        emit(f"{page}.after_checkin", runs, refresh_cpu=statistics.median(refreshes),
             update_wall=statistics.median(u[0] for u in updates),
             update_cpu=statistics.median(u[1] for u in updates))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="an existing database (default: import a synthetic one)")
    ap.add_argument("--page", choices=sorted(ROLE_OF), help="measure this page only (see above)")
    ap.add_argument("--warm", type=int, default=3)
    ap.add_argument("--after", type=int, default=3)
    ap.add_argument("--cold-only", action="store_true")
    ap.add_argument("--own-team", action="store_true",
                    help="the after-check-in runs' check-ins come from the lead's own team")
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
    if a.page:
        lead_team = auth_team(engine, who["lead"])
        measure_page(engine, a.page, who[ROLE_OF[a.page]], 0 if a.cold_only else a.warm,
                     0 if a.cold_only else a.after, other_team_helpers(engine, lead_team, a.own_team))
        return
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
