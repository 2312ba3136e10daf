"""Faults: a killed import, two imports at once, a missing, read-only or stopped
database.  Data stays whole, people read one plain sentence (never a traceback,
host or path), the CLI exits 2 with one line, and the dashboard recovers by
itself when the database is back."""
from __future__ import annotations

import os
import random
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from streamlit.testing.v1 import AppTest

from burnout import auth, checkin, cli, ingest, seed
from burnout.demo import write_demo
from burnout.errors import InputError
from burnout.store import frames, get_engine, staging
from burnout.store import schema as s
from burnout.ui import common

from conftest import PYTHON, ROOT, run_cli

TABLES = (s.helpers, s.submissions, s.answers, s.scores, s.caseload_weeks)


@pytest.fixture(scope="module")
def org_files(tmp_path_factory) -> dict[str, Path]:
    """Big enough that an import is still writing a few seconds in."""
    return write_demo(tmp_path_factory.mktemp("faults"), helpers=100, weeks=52, seed=5)


@pytest.fixture(scope="module")
def clean_counts(org_files, tmp_path_factory) -> dict[str, int]:
    eng = get_engine(f"sqlite:///{tmp_path_factory.mktemp('clean') / 'clean.db'}")
    ingest.import_files(eng, **org_files)
    return counts(eng)


def counts(eng) -> dict[str, int]:
    with eng.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES}


def import_args(files) -> list[str]:
    return ["import", "--roster", str(files["roster"]), "--surveys", str(files["surveys"]),
            "--caseload", str(files["caseload"])]


def writing(eng):
    """A probe that is true once an import has begun writing (not just reading files):
    it holds the import lock row from its first staged batch to its last commit."""
    return lambda: staging.holder(eng) is not None


def staged(eng) -> dict[str, int]:
    with eng.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (*staging.STAGING, s.import_lock)}


def kill_import_after(url: str, files, seconds: float, after_writing_began: bool = False) -> int | None:
    """Start the CLI import and SIGKILL it ``seconds`` after it started (or after it
    began writing); its exit code if it finished first."""
    probe = writing(get_engine(url)) if after_writing_began else None
    proc = subprocess.Popen([PYTHON, "-m", "burnout", *import_args(files)], cwd=ROOT,
                            env={**os.environ, "BURNOUT_DATABASE_URL": url},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if probe is not None:
        deadline = time.monotonic() + 120
        while proc.poll() is None and not probe() and time.monotonic() < deadline:
            time.sleep(0.02)
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return None


def check_killed_imports(url: str, files, clean: dict[str, int], times: list[float]) -> None:
    """Kill at random times from the start, then at random times inside the write phase."""
    eng = get_engine(url)
    empty = {k: 0 for k in clean}
    killed_writing = 0
    for n, at in enumerate(times):
        in_write = n % 2 == 1
        finished = kill_import_after(url, files, at, after_writing_began=in_write)
        killed_writing += in_write and finished is None
        if eng.dialect.name == "sqlite":
            with sqlite3.connect(eng.url.database) as raw:
                assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        got = counts(eng)
        # all or nothing: a killed import leaves no part of its files behind
        assert got in (empty, clean), (at, finished, got)
    assert killed_writing >= 1      # at least one kill landed while rows were being written
    done = run_cli(*import_args(files), env={"BURNOUT_DATABASE_URL": url}, process=True)
    assert done.returncode == 0, done.stderr
    assert counts(eng) == clean
    # what the killed imports had staged was cleared by the next one, and it left nothing
    assert set(staged(eng).values()) == {0}


def test_import_killed_at_any_time_leaves_sqlite_whole(org_files, clean_counts, tmp_path):
    rnd = random.Random(7)
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    get_engine(url)
    check_killed_imports(url, org_files, clean_counts,
                         [rnd.uniform(1, 6), rnd.uniform(0.1, 1.0), rnd.uniform(4, 9), rnd.uniform(0.5, 1.5)])


@pytest.mark.postgres
def test_import_killed_at_any_time_leaves_postgresql_whole(org_files, clean_counts, pg_url):
    rnd = random.Random(8)
    check_killed_imports(pg_url, org_files, clean_counts, [rnd.uniform(1, 8), rnd.uniform(0.1, 1.5)])


def two_imports_at_once(url: str, files, clean: dict[str, int]) -> None:
    env = {**os.environ, "BURNOUT_DATABASE_URL": url}
    procs = [subprocess.Popen([PYTHON, "-m", "burnout", *import_args(files)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    assert not any("Traceback" in err for _, err in outs)
    assert counts(get_engine(url)) == clean


def test_two_imports_at_once_queue_on_sqlite(org_files, clean_counts, tmp_path):
    url = f"sqlite:///{tmp_path / 'two.db'}"
    get_engine(url)     # created and migrated, as by a running dashboard
    two_imports_at_once(url, org_files, clean_counts)


@pytest.mark.postgres
def test_two_imports_at_once_queue_on_postgresql(org_files, clean_counts, pg_url):
    get_engine(pg_url)
    two_imports_at_once(pg_url, org_files, clean_counts)


# --------------------------------------------------------------------------- the CLI

def assert_one_plain_line(proc, where: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("error: cannot use the database at ") and where in lines[0]
    assert "BURNOUT_DATABASE_URL" in lines[0]


def test_cli_missing_database_path_is_one_line_and_exit_2(tmp_path, org_files):
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    for args in (import_args(org_files), ["risk", "--output", str(tmp_path / "r.csv")]):
        proc = run_cli(*args, env={"BURNOUT_DATABASE_URL": url}, process=True)
        assert_one_plain_line(proc, str(tmp_path / "no" / "such"))
        assert "unable to open database file" in proc.stderr


def test_cli_read_only_database_is_one_line_and_exit_2(tmp_path, org_files):
    path = tmp_path / "ro.db"
    get_engine(f"sqlite:///{path}")
    # opened read-only by SQLite itself: file modes do not bind root, who runs CI here
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    proc = run_cli(*import_args(org_files), env={"BURNOUT_DATABASE_URL": url}, process=True)
    assert_one_plain_line(proc, str(path))
    assert "readonly" in proc.stderr


def test_cli_hides_the_password_of_an_unreachable_postgresql():
    url = "postgresql+psycopg://admin:s3cret-pw@127.0.0.1:1/burnout"
    proc = run_cli("risk", "--output", "/dev/null", env={"BURNOUT_DATABASE_URL": url}, process=True)
    assert_one_plain_line(proc, "postgresql+psycopg://admin:***@127.0.0.1:1/burnout")
    assert "s3cret" not in proc.stderr


# --------------------------------------------------------------------------- pages

def page_texts(at: AppTest) -> str:
    return "\n".join(str(getattr(el, "value", "")) for kind in ("title", "markdown", "caption", "info",
                                                                  "warning", "error", "success")
                     for el in getattr(at, kind))


def test_checkin_keeps_the_answers_when_saving_fails(writable_copy, monkeypatch):
    eng = writable_copy
    at = AppTest.from_file(str(ROOT / "burnout" / "ui" / "checkin.py"), default_timeout=30)
    at.session_state["user"] = auth.authenticate(eng, "demo-helper1", seed.DEMO_PASSWORD)
    at.session_state["last_seen"] = common.now()
    at.run()
    again = [b for b in at.button if b.label == "Check in again"]
    if again:
        again[0].click().run()
    chosen = ["Never", "Always", "Never", "Often", "Rarely", "Sometimes"]
    for i, label in enumerate(chosen, start=1):
        at.radio(key=f"q_pulse_{i}").set_value(label)
    at.text_area(key="checkin_comment").input("a hard week")
    hid = at.session_state["user"]["helper_id"]
    before = len(frames.submissions_frame(eng, hid))

    def stopped(*args, **kwargs):
        raise OperationalError("INSERT INTO submissions ...", {}, Exception(
            'connection to server at "db.internal.example" (10.0.0.5), port 5432 failed: /var/run/x'))

    real_save = checkin.save_checkin
    monkeypatch.setattr(checkin, "save_checkin", stopped)
    next(b for b in at.button if b.label == "Save my check-in").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [common.CHECKIN_NOT_SAVED]
    shown = page_texts(at)
    assert "db.internal" not in shown and "/var/run" not in shown and "Traceback" not in shown
    # the answers are still on the page, and nothing was stored
    assert [at.radio(key=f"q_pulse_{i}").value for i in range(1, 7)] == chosen
    assert at.text_area(key="checkin_comment").value == "a hard week"
    assert len(frames.submissions_frame(eng, hid)) == before

    monkeypatch.setattr(checkin, "save_checkin", real_save)     # the database is back: the same answers save
    next(b for b in at.button if b.label == "Save my check-in").click().run()
    assert any("check-in is saved" in x.value for x in at.success)
    assert len(frames.submissions_frame(eng, hid)) == before + 1      # the pulse (no single item given)


@pytest.fixture
def writable_copy(writable_db):
    return writable_db["engine"]


def import_until_writing(url: str, probe, files: dict):
    """Start the CLI import of the organisation's surveys and caseload and return once
    it writes (``probe``), it ended, or two minutes passed."""
    proc = subprocess.Popen([PYTHON, "-m", "burnout", "import", "--surveys", str(files["surveys"]),
                             "--caseload", str(files["caseload"])], cwd=ROOT,
                            env={**os.environ, "BURNOUT_DATABASE_URL": url},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while proc.poll() is None and not probe() and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc


def test_dashboard_on_a_missing_database_shows_a_plain_page_then_recovers(tmp_path, monkeypatch):
    folder = tmp_path / "not-yet"
    monkeypatch.setenv("BURNOUT_DATABASE_URL", f"sqlite:///{folder / 'burnout.db'}")
    monkeypatch.setenv("BURNOUT_DEMO", "0")
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [common.DB_UNAVAILABLE]
    assert str(tmp_path) not in page_texts(at) and "unable to open" not in page_texts(at)
    folder.mkdir()          # the volume is mounted again
    at.run()
    assert not at.exception and not at.error
    assert "Sign in" in page_texts(at) or at.text_input


# --------------------------------------------------------------------------- PostgreSQL stops and returns

@pytest.fixture
def own_pg():
    """A server of this test's own, so stopping it disturbs no other test."""
    from pg import Server

    server = Server()
    if server.data is None:
        pytest.skip("BURNOUT_TEST_PG_URL points at a shared server; it must not be stopped")
    yield server
    server.stop()


def pg_ctl(server, action: str) -> None:
    opts = (f"-p {server.port} -k {server.data} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off")
    cmd = [*server.as_user, f"{server.bin}/pg_ctl", "-D", server.data, "-w", "-t", "60"]
    if action == "stop":
        cmd += ["-m", "fast", "stop"]
    else:
        cmd += ["-l", f"{server.data}/server.log", "-o", opts, "start"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=90)


@pytest.mark.postgres
def test_postgresql_stops_while_a_helper_saves_then_comes_back(own_pg, monkeypatch):
    url = own_pg.new_database()
    eng = get_engine(url)
    seed.seed_demo(eng, helpers=8, weeks=4, seed=3)
    monkeypatch.setenv("BURNOUT_DATABASE_URL", url)
    hid = auth.authenticate(eng, "demo-helper1", seed.DEMO_PASSWORD)["helper_id"]
    pg_ctl(own_pg, "stop")
    try:
        t = time.monotonic()
        with pytest.raises(OperationalError):
            checkin.save_checkin(eng, hid, {"sib": {"sib_1": 2}})
        assert time.monotonic() - t < 30       # a stopped server is reported soon, not after minutes
        proc = run_cli("risk", "--output", "/dev/null", env={"BURNOUT_DATABASE_URL": url}, process=True)
        assert_one_plain_line(proc, f"127.0.0.1:{own_pg.port}")
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
        at.run()
        assert not at.exception and [e.value for e in at.error] == [common.DB_UNAVAILABLE]
    finally:
        pg_ctl(own_pg, "start")
    # back: the same engine (pool pre-ping) and the same page work again without a restart
    ids = checkin.save_checkin(eng, hid, {"sib": {"sib_1": 2}})
    assert len(ids) == 1
    at.run()
    assert not at.exception and not at.error
    sub = frames.submissions_frame(eng, hid)
    assert pd.Timestamp(sub["submitted_at"].max()).year >= 2026


def test_a_checkin_during_an_import_waits_and_is_saved(org_files, tmp_path):
    """SQLite has one writer at a time: a check-in made while an import writes waits
    for it (retried inside the store) instead of failing with "database is locked"."""
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    eng = get_engine(url)
    ingest.import_files(eng, roster=org_files["roster"])
    hid = sorted(frames.helper_ids(eng))[0]
    probe = writing(eng)
    proc = import_until_writing(url, probe, org_files)
    ids = checkin.save_checkin(eng, hid, {"sib": {"sib_1": 3}}, submitted_at=pd.Timestamp("2030-01-07 08:00"))
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    assert len(ids) == 1
    stored = frames.submissions_frame(eng, hid)
    assert (stored["source"] == "checkin").sum() == 1 and (stored["source"] == "import").sum() > 0


def test_a_full_disk_is_one_line_exit_2_and_stores_nothing(org_files, tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'full.db'}"
    eng = get_engine(url)
    with eng.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()

    # SQLite's own "disk full" (SQLITE_FULL) once the file would grow by 20 pages
    @event.listens_for(eng, "connect")
    def nearly_full(dbapi_conn, _record):
        dbapi_conn.execute(f"PRAGMA max_page_count={pages + 20}")

    eng.dispose()
    monkeypatch.setenv("BURNOUT_DATABASE_URL", url)
    assert cli.main(import_args(org_files)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "database or disk is full" in err[0] and str(tmp_path) in err[0]
    assert counts(eng) == {t.name: 0 for t in TABLES}


# --------------------------------------------------------------------------- one import at a time, staged

def test_checkins_keep_flowing_while_a_large_import_writes(org_files, tmp_path):
    """The import writes in short batches, so check-ins made meanwhile are saved
    while it is still writing (not after it), every one of them."""
    url = f"sqlite:///{tmp_path / 'flow.db'}"
    eng = get_engine(url)
    ingest.import_files(eng, roster=org_files["roster"])
    ids = sorted(frames.helper_ids(eng))
    probe = writing(eng)
    proc = import_until_writing(url, probe, org_files)
    results: list[tuple[bool, bool]] = []      # (saved, the import was still writing when it returned)
    errors: list[BaseException] = []

    def checkins():
        n = 0
        while proc.poll() is None and n < 400:
            try:
                checkin.save_checkin(eng, ids[n % len(ids)], {"sib": {"sib_1": 1 + n % 5}},
                                     submitted_at=pd.Timestamp("2031-01-06 08:00") + pd.Timedelta(seconds=n))
                results.append((True, probe()))
            except Exception as exc:   # noqa: BLE001 - any failure is what this test looks for
                errors.append(exc)
            n += 1
            time.sleep(0.05)

    t = threading.Thread(target=checkins)
    t.start()
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    t.join()
    assert errors == []
    assert sum(during for _, during in results) >= 3, results
    stored = frames.submissions_frame(eng)
    assert (stored["source"] == "checkin").sum() == len(results)
    assert set(staged(eng).values()) == {0}


def lock_row(eng, pid: int, started, files: str = "roster.csv", actor: str = "admin") -> None:
    with eng.begin() as conn:
        conn.execute(s.import_lock.insert().values(lock="import", token="t" * 32, files=files, actor=actor,
                                                   started_at=started, heartbeat_at=common.now(),
                                                   host=socket.gethostname(), pid=pid))


ROSTER = b"helper_id,name,team,role,site,fte,start_date\nZ1,Zoe,T1,nurse,North,1,2024-01-01\n"


def test_a_second_import_says_whose_import_is_running(tmp_path):
    eng = get_engine(f"sqlite:///{tmp_path / 'second.db'}")
    other = subprocess.Popen(["sleep", "120"])          # a live process on this host holds the lock
    try:
        lock_row(eng, other.pid, pd.Timestamp(common.now()).floor("min").replace(hour=14, minute=2))
        with pytest.raises(InputError) as err:
            ingest.import_files(eng, roster=ROSTER, names={"roster": "new.csv"}, wait=0.5)
        assert str(err.value) == ("Another import (roster.csv, started by admin at 14:02 UTC) is still "
                                  "running; try again when it finishes")
        assert counts(eng)["helpers"] == 0
    finally:
        other.kill()
        other.wait()
    # its process is gone: the next import takes over and stores its file
    ingest.import_files(eng, roster=ROSTER, names={"roster": "new.csv"}, wait=0)
    assert counts(eng)["helpers"] == 1 and set(staged(eng).values()) == {0}


def test_a_killed_imports_leftovers_are_cleared_and_never_shown(tmp_path):
    eng = get_engine(f"sqlite:///{tmp_path / 'left.db'}")
    ingest.import_files(eng, roster=ROSTER)
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock_row(eng, dead.pid, pd.Timestamp(common.now()))
    with eng.begin() as conn:      # what a killed import had staged before it was killed
        conn.execute(s.staging_submissions.insert().values(seq=1, helper_id="Z1", instrument="sib",
                                                           submitted_at=pd.Timestamp("2026-01-05 09:00"),
                                                           source="import"))
        conn.execute(s.staging_answers.insert().values(seq=1, item_id="sib_1", value=4.0))
    assert counts(eng)["submissions"] == 0      # staged is not stored
    survey = b"helper_id,submitted_at,instrument,sib_1\nZ1,2026-02-02T09:00:00,sib,2\n"
    ingest.import_files(eng, surveys=survey, names={"surveys": "s.csv"}, wait=0)
    sub = frames.answers(eng)
    assert sub["sib_1"].tolist() == [2.0]       # only this import's row; the leftover is gone
    assert set(staged(eng).values()) == {0}


def test_an_import_that_fails_half_way_leaves_no_lock_behind(tmp_path, monkeypatch):
    eng = get_engine(f"sqlite:///{tmp_path / 'fail.db'}")
    ingest.import_files(eng, roster=ROSTER)
    real = staging.publish

    def broken(conn, token, update):
        real(conn, token, update)
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(staging, "publish", broken)
    survey = b"helper_id,submitted_at,instrument,sib_1\nZ1,2026-02-02T09:00:00,sib,2\n"
    with pytest.raises(OperationalError):
        ingest.import_files(eng, surveys=survey, names={"surveys": "s.csv"})
    assert counts(eng)["submissions"] == 0 and set(staged(eng).values()) == {0}
    monkeypatch.setattr(staging, "publish", real)
    ingest.import_files(eng, surveys=survey, names={"surveys": "s.csv"}, wait=0)
    assert counts(eng)["submissions"] == 1


def fill_checkin(at: AppTest, chosen: list[str]) -> None:
    again = [b for b in at.button if b.label == "Check in again"]
    if again:
        again[0].click().run()
    for i, label in enumerate(chosen, start=1):
        at.radio(key=f"q_pulse_{i}").set_value(label)


def fill_up(path) -> int:
    """Fill the database file to its last byte at its current size (SQLite's own
    "database or disk is full" from then on); returns that size in pages."""
    with sqlite3.connect(path) as raw:
        pages = raw.execute("PRAGMA page_count").fetchone()[0]
        raw.execute(f"PRAGMA max_page_count={pages}")
        for size in (4096, 512, 64, 8, 1):
            try:
                while True:
                    raw.execute("INSERT INTO audit_log (at, actor, action, detail) VALUES "
                                "('2020-01-01 00:00:00.000000', 'filler', 'filler', ?)", ("x" * size,))
                    raw.commit()
            except sqlite3.OperationalError as exc:
                assert "full" in str(exc)
                raw.rollback()
    return pages


@pytest.mark.parametrize("fault", ["read-only", "full disk"])
def test_a_real_write_failure_on_the_checkin_page_keeps_the_answers(writable_copy, monkeypatch, fault):
    """Not a stand-in exception: SQLite itself refuses the write (a read-only file,
    a disk with no room), the page says so in one sentence and keeps the answers."""
    eng = writable_copy
    user = auth.authenticate(eng, "demo-helper1", seed.DEMO_PASSWORD)
    path = eng.url.database
    if fault == "read-only":
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    else:
        url = f"sqlite:///{path}"
        pages = fill_up(path)
        event.listen(get_engine(url), "connect",
                     lambda dbapi_conn, _r: dbapi_conn.execute(f"PRAGMA max_page_count={pages}"))
        get_engine(url).dispose()
    monkeypatch.setenv("BURNOUT_DATABASE_URL", url)
    before = len(frames.submissions_frame(eng, user["helper_id"]))
    at = AppTest.from_file(str(ROOT / "burnout" / "ui" / "checkin.py"), default_timeout=30)
    at.session_state["user"] = user
    at.session_state["last_seen"] = common.now()
    at.run()
    chosen = ["Never", "Always", "Never", "Often", "Rarely", "Sometimes"]
    fill_checkin(at, chosen)
    next(b for b in at.button if b.label == "Save my check-in").click().run()
    assert not at.exception
    assert common.CHECKIN_NOT_SAVED in [e.value for e in at.error]
    shown = page_texts(at)
    assert str(path) not in shown and "readonly" not in shown and "disk" not in shown.lower()
    assert [at.radio(key=f"q_pulse_{i}").value for i in range(1, 7)] == chosen
    assert len(frames.submissions_frame(eng, user["helper_id"])) == before


@pytest.mark.postgres
def test_two_imports_asking_for_the_lock_at_the_same_moment_on_postgresql(pg_url):
    """Both see no lock row and insert one: the loser is told to wait, not shown a
    duplicate-key error."""
    eng = get_engine(pg_url)
    barrier = threading.Barrier(8)
    got, errors = [], []
    real = staging.clear_staging

    def slow_clear(conn):       # widen the window between reading "no lock" and committing
        real(conn)
        time.sleep(0.2)

    def take():
        barrier.wait()
        try:
            token = staging.acquire(eng, "r.csv", "admin", wait=30)
            got.append(token)
            staging.release(eng, token)
        except Exception as exc:   # noqa: BLE001 - any failure is what this test looks for
            errors.append(exc)

    staging.clear_staging = slow_clear
    try:
        threads = [threading.Thread(target=take) for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
    finally:
        staging.clear_staging = real
    assert errors == [] and len(got) == 8 and staging.holder(eng) is None


def test_imports_from_threads_of_one_process_take_turns(tmp_path):
    """Eight imports from one dashboard process: none mistakes another's fresh lock
    row for a leftover of its own process."""
    eng = get_engine(f"sqlite:///{tmp_path / 'threads.db'}")
    roster = "helper_id,name,team,role,site,fte,start_date\n" + "".join(
        f"H{i},N{i},T,nurse,S,1,2024-01-01\n" for i in range(8))
    ingest.import_files(eng, roster=roster.encode())
    errors = []

    def writer(i):
        body = "helper_id,submitted_at,instrument,sib_1\n" + "".join(
            f"H{i},2026-01-{d:02d}T09:00:00,sib,{1 + d % 5}\n" for d in range(1, 29))
        try:
            for _ in range(3):
                ingest.import_files(eng, surveys=body.encode(), names={"surveys": f"w{i}.csv"})
        except Exception as exc:  # noqa: BLE001 - the assertion reports it
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    assert counts(eng)["submissions"] == 8 * 28 and set(staged(eng).values()) == {0}
