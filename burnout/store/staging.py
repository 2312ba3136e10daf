"""An import written in short batches and made visible in one short step.

SQLite has one write lock.  An import that wrote millions of answers in one
transaction held it for a minute or more, and every check-in made meanwhile
waited or failed.  So an import:

1. takes the import lock (:func:`acquire`): one row in ``import_lock`` naming the
   files, who started the import, when and from which process.  A second import
   waits for it, then says whose import is still running;
2. writes its new rows into the ``staging_*`` tables in short transactions
   (:func:`stage`), each of which lines up in the writers' queue like a check-in,
   so check-ins slip in between batches;
3. copies the staged rows into the real tables in one transaction
   (:func:`publish`), plain ``INSERT ... SELECT`` with no Python in between, and
   drops the lock row in the same transaction.

All or nothing: nothing is visible before step 3 commits.  A killed import
leaves staged rows and a lock row whose process is gone; the next import sees
that (same host, dead process, or no sign of life for :data:`STALE_AFTER`) and
clears them before it starts.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import uuid
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from burnout.domain.time import now
from burnout.errors import InputError
from burnout.store.retry import is_unique_violation, run_in_transaction
from burnout.store.schema import (
    CASELOAD_COLUMNS, SCORE_COLUMNS, caseload_weeks, import_lock, staging_answers, staging_caseload,
    staging_scores, staging_submissions, submissions,
)
from burnout.store.writes import bulk_insert, scored

log = logging.getLogger(__name__)

LOCK = "import"
STALE_AFTER = dt.timedelta(minutes=5)   # no heartbeat for this long: the import is gone
BATCH_ROWS = 20_000                     # rows per staging transaction: tens of milliseconds
STAGING = (staging_answers, staging_scores, staging_submissions, staging_caseload)
SUBMISSION_COLUMNS = ["helper_id", "instrument", "submitted_at", "source", "comment", "week_start"]

# Imports running in this process: a lock row naming this process but none of
# these tokens was left by an import of this process that failed.
_running: set[str] = set()


def _host() -> str:
    return socket.gethostname()[:255]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(row, at: dt.datetime | None = None) -> bool:
    """True when the import that holds the lock cannot still be running."""
    if row.host == _host():
        if row.pid == os.getpid():
            return row.token not in _running
        if not _alive(row.pid):
            return True
    return (at or now()) - row.heartbeat_at > STALE_AFTER


def busy_message(row) -> str:
    """Whose import is running, in one sentence."""
    started = pd.Timestamp(row.started_at)
    when = (f"at {started:%H:%M} UTC" if started.date() == now().date()
            else f"on {started:%d %b %Y} at {started:%H:%M} UTC")
    return (f"Another import ({row.files}, started by {row.actor} {when}) is still running; "
            "try again when it finishes")


def clear_staging(conn: Connection) -> None:
    """Empty every staging table (only the lock holder calls this)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("TRUNCATE " + ", ".join(t.name for t in STAGING)))
    else:
        for t in STAGING:       # a DELETE without WHERE: SQLite's truncate optimisation
            conn.execute(delete(t))


def acquire(engine: Engine, files: str, actor: str, wait: float = 120.0,
            waiting: Callable[[str], None] | None = None) -> str:
    """Take the import lock and return its token; wait up to ``wait`` seconds for
    another running import, then raise :class:`InputError` naming it."""
    token = uuid.uuid4().hex
    mine = {"lock": LOCK, "token": token, "files": files[:400], "actor": (actor or "?")[:120],
            "host": _host(), "pid": os.getpid()}
    deadline = time.monotonic() + wait
    told = False

    def attempt(conn: Connection):
        at = now()
        row = conn.execute(select(import_lock).where(import_lock.c.lock == LOCK)).first()
        if row is None:
            conn.execute(insert(import_lock).values(**mine, started_at=at, heartbeat_at=at))
            clear_staging(conn)
            return None
        if not is_stale(row, at):
            return row
        # Taken over only if it is still the same stale row (on PostgreSQL a publishing
        # import holds this row, so the update waits for it and then finds it gone).
        done = conn.execute(update(import_lock).where(import_lock.c.lock == LOCK,
                                                      import_lock.c.token == row.token)
                            .values(**mine, started_at=at, heartbeat_at=at)).rowcount
        if not done:
            return row
        log.warning("import lock of %s (%s, pid %s on %s) was stale: its staged rows are cleared",
                    row.actor, row.files, row.pid, row.host)
        clear_staging(conn)
        return None

    # Known as running before the row can be seen: another thread of this process
    # must never take a just-inserted row for a leftover of this process.
    _running.add(token)
    try:
        while True:
            try:
                other = run_in_transaction(engine, attempt, what="import lock")
            except IntegrityError as exc:
                if not is_unique_violation(exc):
                    raise
                continue        # another import inserted the row at the same moment: look again
            if other is None:
                return token
            if time.monotonic() >= deadline:
                raise InputError(busy_message(other))
            if waiting and not told:
                waiting(busy_message(other).replace("is still running; try again when it finishes",
                                                    "is running; this import waits for it"))
                told = True
            time.sleep(0.5)
    except BaseException:
        _running.discard(token)
        raise


def _owned(conn: Connection, token: str) -> None:
    """Refresh the heartbeat; fails if another import took the lock over (it found
    this one silent for :data:`STALE_AFTER`)."""
    done = conn.execute(update(import_lock).where(import_lock.c.lock == LOCK, import_lock.c.token == token)
                        .values(heartbeat_at=now())).rowcount
    if not done:
        raise InputError("this import was stopped because it stalled and another import took over; "
                         "nothing of its files was stored")


def release(engine: Engine, token: str) -> None:
    """Drop the lock and the staged rows of an import that did not publish.  Best
    effort: when the database is away, the next import clears them instead."""
    def drop(conn: Connection) -> None:
        if conn.execute(delete(import_lock).where(import_lock.c.token == token)).rowcount:
            clear_staging(conn)
    try:
        run_in_transaction(engine, drop, what="import cleanup", cap=10.0)
    except Exception:   # noqa: BLE001 - the import's own error is the one to report
        log.warning("could not clear an unfinished import now; the next import will", exc_info=True)
    finally:
        _running.discard(token)


def stage(engine: Engine, token: str, table, df: pd.DataFrame,
          progress: Callable[[int], None] | None = None) -> None:
    """Write ``df`` into a staging table, :data:`BATCH_ROWS` rows per short transaction."""
    for start in range(0, len(df), BATCH_ROWS):
        part = df.iloc[start:start + BATCH_ROWS]

        def write(conn: Connection, part=part) -> None:
            _owned(conn, token)
            bulk_insert(conn, table, part)
        run_in_transaction(engine, write, what="import batch")
        if progress:
            progress(start + len(part))


SCORE_CHUNK = 100_000      # submissions scored at a time: the scoring's scratch stays small


def stage_submissions(engine: Engine, token: str, subs: pd.DataFrame, answers_long: pd.DataFrame,
                      progress: Callable[[float], None] | None = None) -> None:
    """``subs``: seq + SUBMISSION_COLUMNS; ``answers_long``: seq, instrument, item_id, value,
    in seq order (writes.new_submissions).  The answers are scored and staged
    :data:`SCORE_CHUNK` submissions at a time, between the staging transactions (the write
    lock is held only to write): scoring 11 M answers at once held several copies of them."""
    progress = progress or (lambda x: None)
    total = max(1, len(subs) + len(answers_long))
    stage(engine, token, staging_submissions, subs[["seq", *SUBMISSION_COLUMNS]],
          lambda n: progress(min(1.0, n / total)))
    seq = answers_long["seq"].to_numpy()
    cuts = np.searchsorted(seq, np.arange(1, len(subs) + 1, SCORE_CHUNK)[1:], side="left")
    for lo, hi in zip([0, *cuts], [*cuts, len(seq)]):
        part = answers_long.iloc[lo:hi]
        if part.empty:
            continue
        stage(engine, token, staging_answers, part[["seq", "item_id", "value"]])
        stage(engine, token, staging_scores, scored(part, key="seq").reindex(columns=["seq", *SCORE_COLUMNS]))
        progress(min(1.0, (len(subs) + hi) / total))


def stage_caseload(engine: Engine, token: str, weeks: pd.DataFrame) -> None:
    stage(engine, token, staging_caseload, weeks[CASELOAD_COLUMNS])


def publish(conn: Connection, token: str, caseload_update: Sequence[str] | None) -> tuple[int, int]:
    """Copy the staged rows into the real tables, empty staging and drop the lock,
    inside the caller's (one) transaction.  ``caseload_update``: the caseload
    columns a staged week replaces in a stored one (None: no caseload staged).
    Returns (submissions, answers) stored."""
    if conn.dialect.name == "postgresql":
        # our row, held until commit: a second import that thinks us stale waits for it
        row = conn.execute(select(import_lock.c.token).where(import_lock.c.lock == LOCK)
                           .with_for_update()).first()
        if row is None or row.token != token:
            _owned(conn, token)      # raises the plain message
    else:
        _owned(conn, token)
    stored = _publish_submissions(conn)
    if caseload_update is not None:
        _publish_caseload(conn, caseload_update)
    clear_staging(conn)
    conn.execute(delete(import_lock).where(import_lock.c.token == token))
    return stored


def finished(token: str) -> None:
    """The import published (its lock row went with it)."""
    _running.discard(token)


def _publish_submissions(conn: Connection) -> tuple[int, int]:
    n = conn.execute(select(func.count()).select_from(staging_submissions)).scalar_one()
    if not n:
        return 0, 0
    # A check-in stored since the import read what was there keeps its place:
    # the import's copy of that submission (same helper, instrument and time) is dropped.
    same = (select(staging_submissions.c.seq)
            .join(submissions, (submissions.c.helper_id == staging_submissions.c.helper_id)
                  & (submissions.c.instrument == staging_submissions.c.instrument)
                  & (submissions.c.submitted_at == staging_submissions.c.submitted_at)))
    taken = conn.execute(same).scalars().all()
    for start in range(0, len(taken), 10_000):
        part = taken[start:start + 10_000]
        for t in (staging_answers, staging_scores, staging_submissions):
            conn.execute(delete(t).where(t.c.seq.in_(part)))
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        # New ids follow the highest stored one; no other insert may take one meanwhile
        # (a check-in waits for this lock as it would for SQLite's write lock).
        conn.execute(text("LOCK TABLE submissions IN SHARE ROW EXCLUSIVE MODE"))
    base = conn.execute(select(func.coalesce(func.max(submissions.c.submission_id), 0))).scalar_one()
    base = int(base)
    stored = conn.execute(text(
        f"INSERT INTO submissions (submission_id, {', '.join(SUBMISSION_COLUMNS)}) "
        f"SELECT seq + :base, {', '.join(SUBMISSION_COLUMNS)} FROM staging_submissions"), {"base": base}).rowcount
    n_answers = conn.execute(text("INSERT INTO answers (submission_id, item_id, value) "
                                  "SELECT seq + :base, item_id, value FROM staging_answers"),
                             {"base": base}).rowcount
    cols = ", ".join(SCORE_COLUMNS)
    conn.execute(text(f"INSERT INTO scores (submission_id, {cols}) SELECT seq + :base, {cols} "
                      "FROM staging_scores"), {"base": base})
    top = conn.execute(select(func.max(submissions.c.submission_id))).scalar_one()
    if postgres and top is not None:
        conn.execute(text("SELECT setval(pg_get_serial_sequence('submissions', 'submission_id'), :v)"),
                     {"v": int(top)})
    return int(stored), int(n_answers)


def _publish_caseload(conn: Connection, replace: Sequence[str]) -> None:
    cols = ", ".join(CASELOAD_COLUMNS)
    sets = ", ".join(f"{c} = excluded.{c}" for c in replace)
    action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
    # "WHERE true" keeps SQLite from reading ON CONFLICT as part of the SELECT's join
    conn.execute(text(f"INSERT INTO {caseload_weeks.name} ({cols}) SELECT {cols} FROM {staging_caseload.name} "
                      f"WHERE true ON CONFLICT (helper_id, week_start) {action}"))


def holder(engine: Engine):
    """The running import's lock row (files, actor, started_at ...), or None."""
    with engine.connect() as conn:
        return conn.execute(select(import_lock).where(import_lock.c.lock == LOCK)).first()
