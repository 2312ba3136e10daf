"""Short write transactions that survive a busy database.

A helper's check-in must never be refused because another writer held the
database for a moment: SQLite's "database is locked/busy", PostgreSQL's
serialization failures (40001), deadlocks (40P01) and a dropped connection are
retried here with jittered exponential backoff under a total time cap, so no
page or CLI ever shows them.  Anything else (a constraint, bad input) is raised
at once: retrying it cannot help.
"""
from __future__ import annotations

import fcntl
import functools
import logging
import os
import random
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)
T = TypeVar("T")

# Every failure that means "the database could not do it now", for pages and the CLI.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (DBAPIError, PoolTimeout, OSError)

_SQLITE_TRANSIENT = ("database is locked", "database is busy", "database table is locked")
_PG_TRANSIENT = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "08000", "08003", "08006"}


def _kind(exc: BaseException) -> str | None:
    """"busy" (locked, serialization, deadlock), "connection" (lost or refused) or None."""
    if isinstance(exc, PoolTimeout):
        return "busy"
    if not isinstance(exc, DBAPIError) or isinstance(exc, IntegrityError):
        return None
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _PG_TRANSIENT:
        return "busy" if code.startswith("4") or code == "55P03" else "connection"
    text = str(orig).lower()
    if any(t in text for t in _SQLITE_TRANSIENT):
        return "busy"
    if exc.connection_invalidated:
        return "connection"
    # psycopg reports a refused or dropped connection as a bare OperationalError
    if type(orig).__module__.startswith("psycopg") and isinstance(exc, OperationalError):
        return "connection"
    return None


def is_transient(exc: BaseException) -> bool:
    """True for failures a retry can cure: busy/locked, serialization, deadlock, lost connection."""
    return _kind(exc) is not None


def retrying(fn: Callable[[], T], *, attempts: int = 12, backoff: float = 0.02, cap: float = 90.0,
             connection_cap: float = 6.0, what: str = "write") -> T:
    """Call ``fn`` until it succeeds, retrying transient failures (see :func:`is_transient`).

    Waits ``backoff * 2**n`` (at most 2 s) with full jitter between attempts, and
    gives up after ``attempts`` tries or ``cap`` seconds, re-raising the last error.
    ``cap`` is generous because an import may hold SQLite's write lock for a while
    and a check-in that waits is better than one that is refused; a database that
    cannot be reached at all gets only ``connection_cap`` seconds, so the person
    hears about it soon instead of watching a spinner.
    """
    start = time.monotonic()
    for n in range(attempts):
        try:
            return fn()
        except DATABASE_ERRORS as exc:
            elapsed = time.monotonic() - start
            kind = _kind(exc)
            limit = connection_cap if kind == "connection" else cap
            if kind is None or n == attempts - 1 or elapsed >= limit:
                raise
            pause = min(2.0, backoff * 2 ** n) * random.random()
            log.info("%s: transient database failure (%s, attempt %d), retrying in %.2f s: %s",
                     what, kind, n + 1, pause, describe_failure(exc))
            time.sleep(min(pause, max(0.0, limit - elapsed)))
    raise AssertionError("unreachable")


@contextmanager
def sqlite_file_lock(engine: Engine, suffix: str, wanted: bool = True) -> Iterator[bool]:
    """An flock on ``<database file>-<suffix>``, shared by every process on this file;
    yields whether it is held (never for PostgreSQL, an in-memory database, or a
    folder where the lock file cannot be made: SQLite itself then says what is wrong).
    The kernel drops it if the process dies."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not wanted or not path or path == ":memory:" or path.startswith("file:"):
        yield False
        return
    try:
        fd = os.open(f"{path}-{suffix}", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield True
    finally:
        os.close(fd)            # closing releases the lock


@contextmanager
def _sqlite_writer_queue(engine: Engine, queue: bool) -> Iterator[None]:
    """Short SQLite writers of every process on this file take turns on an flock.

    SQLite's own busy handler polls with sleeps of up to 100 ms, which lets an
    unlucky check-in wait seconds while others overtake it; waiting on a file lock
    instead wakes the next writer the moment the last one commits.  The lock is
    held only around a short transaction, whose own wait is bounded by the busy
    timeout."""
    with sqlite_file_lock(engine, "writers", queue):
        yield


@contextmanager
def write_transaction(engine: Engine, queue: bool = True, one_statement: bool = False) -> Iterator[Connection]:
    """One write transaction.  On SQLite it starts with BEGIN IMMEDIATE: the write
    lock is taken up front (waiting under the busy timeout), so a read followed by
    a write cannot fail half-way with "database is locked" when another writer
    committed in between; ``queue`` (short writes) also lines up behind
    :func:`_sqlite_writer_queue`.  ``one_statement``: the caller runs a single
    statement, which PostgreSQL makes atomic by itself, so it runs without
    BEGIN and COMMIT (two round trips fewer)."""
    sqlite = engine.dialect.name == "sqlite"
    # the connection is taken from the pool before queueing: the queue is held only to write
    with engine.connect() as conn, _sqlite_writer_queue(engine, queue and sqlite):
        if one_statement and not sqlite:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")
            return
        if sqlite:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.begin()
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def run_in_transaction(engine: Engine, fn: Callable[[Connection], T], *, attempts: int = 12,
                       backoff: float = 0.02, cap: float = 90.0, what: str = "write", short: bool = True,
                       one_statement: bool = False) -> T:
    """Run ``fn(conn)`` in one write transaction, retried whole on transient failures.

    ``fn`` must be safe to run again: it is, when all it does is write inside the
    transaction (a failed attempt is rolled back).  ``short=False`` keeps the
    transaction out of the SQLite writers' queue.  ``one_statement``: see
    :func:`write_transaction`."""
    def attempt() -> T:
        with write_transaction(engine, queue=short, one_statement=one_statement) as conn:
            return fn(conn)
    return retrying(attempt, attempts=attempts, backoff=backoff, cap=cap, what=what)


def describe_failure(exc: BaseException) -> str:
    """The database's own one-line reason, without the SQL or parameters."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def is_unique_violation(exc: BaseException) -> bool:
    """A duplicate key (SQLite "UNIQUE constraint failed", PostgreSQL 23505)."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code == "23505" or "unique constraint" in str(orig).lower()


def is_foreign_key_violation(exc: BaseException) -> bool:
    """A reference to a row that is not there (SQLite "FOREIGN KEY constraint failed", PostgreSQL 23503)."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code == "23503" or "foreign key constraint" in str(orig).lower()


def retried(what: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate a function that is one write transaction (plus checks before it) so
    that busy/locked, serialization and connection failures are retried whole."""
    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def inner(*args, **kwargs) -> T:
            return retrying(lambda: fn(*args, **kwargs), what=what)
        return inner
    return wrap
