"""Shared fixtures: throwaway databases, the demo organisation, AppTest helpers."""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import sqlite3
import subprocess
import sys
import traceback
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None,
            process: bool = False) -> subprocess.CompletedProcess:
    """Run ``python -m burnout ...`` as a user would: its exit code, output and errors.

    By default in this process (``cli.main`` with the environment, working directory
    and empty input the command would have): starting a Python process costs about
    4 s of imports, and most tests are about what the command does.  Tests about the
    process itself (a database that fails under it) pass ``process=True``."""
    if process:
        return subprocess.run([PYTHON, "-m", "burnout", *args], capture_output=True, text=True,
                              env={**os.environ, **(env or {})}, cwd=cwd or ROOT, timeout=300)
    from burnout import cli, materialise

    out, err = io.StringIO(), io.StringIO()
    saved_env = {k: os.environ.get(k) for k in env or {}}
    saved_cwd, saved_stdin = os.getcwd(), sys.stdin
    os.environ.update(env or {})
    os.chdir(cwd or ROOT)
    sys.stdin = io.StringIO("")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(list(args))
            except SystemExit as exc:       # argparse's errors, as the process would exit
                code = exc.code
                if not isinstance(code, int) and code is not None:
                    print(code, file=sys.stderr)
                    code = 1
            except Exception:               # what the process would print before dying
                traceback.print_exc()
                code = 1
            materialise.settle()            # the process finishes its refreshes before it exits
    finally:
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return subprocess.CompletedProcess([PYTHON, "-m", "burnout", *args], code or 0, out.getvalue(), err.getvalue())


# Browser, server and fault tests spend much of their time waiting for the dashboard,
# Chromium or PostgreSQL (other processes), so one test process more than the CPUs keeps
# them busy: on 2 CPUs the whole suite took 998 s with 3 processes against 1,115 s with 2.
def pytest_xdist_auto_num_workers(config) -> int:
    return (os.cpu_count() or 1) + 1


# The files that take longest start first (each file runs whole in one process), so no
# long file starts last and runs alone at the end; the two that drive Chromium do not
# start together.  Slowest first, from a full run (244, 143, 173, 168, 135, ... s); a file
# not listed is short and keeps its place.  pytest.ini's --no-loadscope-reorder keeps
# this order (xdist would otherwise start the files with the most tests first).
SLOW_FIRST = ("test_browser_roles.py", "test_attack_readers.py", "test_faults.py", "test_review_read.py",
              "test_browser.py", "test_helper_weeks.py", "test_leaving_refit.py", "test_pages_lead_hr.py",
              "test_attack_random_pages.py", "test_benchmarks.py", "test_export.py", "test_multiprocess.py")


def pytest_collection_modifyitems(items) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))     # stable: a file's own order stays


@pytest.fixture(autouse=True)
def _updates_stay_in_their_test():
    """A dashboard process brings what it showed up to date after a check-in, in the
    background (ui/common.py): each test is a process of its own, so none of it runs
    on into the next test (where it would count towards that test's calls)."""
    yield
    common = sys.modules.get("burnout.ui.common")
    if common is not None:
        from burnout import materialise

        materialise.settle()
        common.stop_updates()


@pytest.fixture(autouse=True)
def _clear_of_the_week_s_last_hour(monkeypatch):
    """A check-in stored in a week's last hour (Sunday 23:00-24:00 UTC) counts as one of the
    completed week (materialise._reaches_past: a margin for a process whose clock runs a little
    ahead), so it moves what the leaving model is fitted on.  Tests that save a check-in now
    and expect an ordinary one failed in that hour every week (found on a Sunday at 23:06):
    materialise's clock reads 22:59 then.  Nothing changes at any other time."""
    from burnout.domain.time import now as real_now

    if real_now().weekday() == 6 and real_now().hour == 23:
        from burnout import materialise

        monkeypatch.setattr(materialise, "now", lambda: real_now().replace(hour=22, minute=59))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def engine(sqlite_url):
    from burnout.store import get_engine

    return get_engine(sqlite_url)


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory) -> dict[str, Path]:
    """A small demo organisation written in the import formats."""
    from burnout.demo import write_demo

    out = tmp_path_factory.mktemp("demo")
    return write_demo(out, helpers=40, weeks=30, seed=11)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> dict:
    """A seeded database (demo organisation + demo users) shared by page tests.

    Pages read BURNOUT_DATABASE_URL, so the URL is exported for the session.
    """
    from burnout.seed import seed_demo
    from burnout.store import get_engine

    path = tmp_path_factory.mktemp("demodb") / "demo.db"
    url = f"sqlite:///{path}"
    eng = get_engine(url)
    info = seed_demo(eng, helpers=40, weeks=30, seed=11)
    os.environ["BURNOUT_DATABASE_URL"] = url
    os.environ["BURNOUT_DEMO"] = "0"
    return {"url": url, "engine": eng, "path": path, **info}


@pytest.fixture
def spawnable_main(monkeypatch):
    """The process's main module as ``python -m pytest`` has it, whatever an earlier test left
    there (AppTest runs a page as ``__main__``): a worker spawned now runs nothing again
    (burnout.workers.can_spawn)."""
    main = types.ModuleType("__main__")
    main.__spec__ = types.SimpleNamespace(name="pytest.__main__")
    monkeypatch.setitem(sys.modules, "__main__", main)


@pytest.fixture
def writable_db(demo_db, tmp_path, monkeypatch):
    """A private copy of the demo database, made the pages' database for one test that writes."""
    from burnout.store import get_engine

    path = tmp_path / "copy.db"
    src, dst = sqlite3.connect(demo_db["path"]), sqlite3.connect(path)
    src.backup(dst)
    # as seeded: what earlier pages on the shared database prepared and stored for every
    # process (store/prepared.py: the release audit, the leaving model) is not carried over
    dst.execute("DELETE FROM prepared_results")
    dst.commit()
    src.close(), dst.close()
    url = f"sqlite:///{path}"
    monkeypatch.setenv("BURNOUT_DATABASE_URL", url)
    return {**demo_db, "url": url, "engine": get_engine(url)}


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="session")
def pg_server():
    from pg import Server

    server = Server()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    return pg_server.new_database()
