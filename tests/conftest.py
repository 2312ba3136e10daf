"""Shared fixtures: throwaway databases, the demo organisation, AppTest helpers."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m burnout ...`` as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([PYTHON, "-m", "burnout", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd or ROOT, timeout=300)


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
def writable_db(demo_db, tmp_path, monkeypatch):
    """A private copy of the demo database, made the pages' database for one test that writes."""
    from burnout.store import get_engine

    path = tmp_path / "copy.db"
    src, dst = sqlite3.connect(demo_db["path"]), sqlite3.connect(path)
    src.backup(dst)
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
