"""The materialised helper-week table and the change counters: SQL only.

What goes into the rows is computed in ``burnout.materialise`` (the store never
imports the models); this module reads and replaces rows, keeps the record of
what the table was built from, and bumps the counters page caches key on.
Every query is SQLAlchemy Core that runs on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator

import numpy as np
import pandas as pd
from sqlalchemy import String, delete, or_, select, text, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from burnout.store.retry import sqlite_file_lock
from burnout.store.schema import data_versions, helper_latest, helper_weeks, helpers, materialised_state
from burnout.store.writes import bulk_insert

COLUMNS = [c.name for c in helper_weeks.columns]
TEXT_COLUMNS = ("helper_id", "team", "risk_band", "driver_1", "driver_2", "driver_3")
FLOAT_COLUMNS = [c for c in COLUMNS if c not in TEXT_COLUMNS and c != "week_start"]
# Above this many helpers an IN (...) list gets long; callers rebuild instead.
MAX_IDS = 500
# One writer of the helper-week table at a time on PostgreSQL (SQLite's write lock already is one).
_LOCK_KEY = 0x68776B73   # "hwks"


def lock(conn: Connection) -> None:
    """Serialise writers of the table (a rebuild and a refresh must not interleave)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


@contextmanager
def computing(engine: Engine) -> Iterator[bool]:
    """Serialise writers of the table while they read and compute, on SQLite.

    SQLite has one write lock for the whole file: a refresh computing inside its
    write transaction would make every check-in wait for it.  So on SQLite the
    writers of this table take turns on a file lock of their own, read and compute
    holding it, and keep the database's write lock only for the short write.
    Yields True when it holds that lock (the caller computes outside the write);
    elsewhere False (PostgreSQL: :func:`lock` inside the transaction, readers and
    check-ins never wait for it)."""
    with sqlite_file_lock(engine, "helper-weeks") as held:
        yield held


def _chunks(ids: list, n: int = MAX_IDS):
    for i in range(0, len(ids), n):
        yield ids[i:i + n]


def read(engine: Engine, helper_ids: Iterable[str] | None = None, up_to=None, week=None,
         drivers: bool = True, latest: bool = False, only: Iterable[str] | None = None) -> pd.DataFrame:
    """Rows (columns as ``risk.compute_risk``) of ``helper_ids`` (None: everyone),
    weeks up to ``up_to`` or the single ``week``; ``drivers=False`` leaves the
    driver texts empty without reading them; ``only``: just these columns besides
    ``helper_id`` and ``week_start``.  ``latest``: the horizon week's rows as
    ``risk.latest_risk`` gives them (table ``helper_latest``)."""
    table = helper_latest if latest else helper_weeks
    if only is not None:
        wanted = {"helper_id", "week_start", *only}
        cols = [c for c in table.columns if c.name in wanted]
    else:
        cols = [c for c in table.columns if drivers or not c.name.startswith("driver_")]
    keep = [c.name for c in cols] if only is not None else COLUMNS
    q = select(*cols)
    if up_to is not None:
        q = q.where(table.c.week_start <= pd.Timestamp(up_to).date())
    if week is not None:
        q = q.where(table.c.week_start == pd.Timestamp(week).date())
    with engine.connect() as conn:
        if helper_ids is None:
            # In slices, each typed before the next is fetched: the whole organisation's
            # million rows fetched at once were a million row tuples of Python objects
            # (the leaving model's read peaked 2.3 GB over its 0.5 GB frame at L).
            streamed = conn.execution_options(stream_results=True, yield_per=READ_ROWS)
            parts = [_typed(p, keep, order=False) for p in pd.read_sql(q, streamed, chunksize=READ_ROWS)]
            if parts:
                whole = pd.concat(parts, ignore_index=True)
                del parts           # not held while the whole is sorted
                return _ordered(whole)
        else:
            parts = [pd.read_sql(q.where(table.c.helper_id.in_(chunk)), conn)
                     for chunk in _chunks(sorted(set(helper_ids)))]
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[c.name for c in cols])
    return _typed(df, keep)


def risk_series(engine: Engine, up_to, own: Iterable[str], helper_ids: Iterable[str] | None = None
                ) -> pd.DataFrame:
    """``helper_id, week_start, risk_score`` of every stored helper-week up to ``up_to`` whose
    risk rests on the helper's own answers (one of the ``own`` pressure columns is present):
    the weekly risk the HR review follows, without the rest of the row; ``helper_ids``: only theirs."""
    t = helper_weeks
    q = (select(t.c.helper_id, type_coerce(t.c.week_start, String).label("week_start"), t.c.risk_score)
         .where(t.c.week_start <= pd.Timestamp(up_to).date(), t.c.risk_score.is_not(None),
                or_(*[t.c[c].is_not(None) for c in own]))
         .order_by(t.c.helper_id, t.c.week_start))
    with engine.connect() as conn:
        if helper_ids is None:
            df = pd.read_sql(q, conn)
        else:
            parts = [pd.read_sql(q.where(t.c.helper_id.in_(c)), conn) for c in _chunks(sorted(set(helper_ids)))]
            df = pd.concat(parts, ignore_index=True) if parts else pd.read_sql(q.where(t.c.helper_id.in_([])), conn)
    df["week_start"] = pd.to_datetime(df["week_start"]).astype("datetime64[ns]")
    df["risk_score"] = pd.to_numeric(df["risk_score"]).astype(float)
    return df


def _typed(df: pd.DataFrame, keep: list[str] = COLUMNS, order: bool = True) -> pd.DataFrame:
    for c in ("driver_1", "driver_2", "driver_3"):
        if c in keep:
            df[c] = df[c].fillna("") if c in df else ""
    df["week_start"] = pd.to_datetime(df["week_start"]).astype("datetime64[ns]")
    for c in FLOAT_COLUMNS:
        if c in keep:
            df[c] = pd.to_numeric(df[c]).astype(float)
    for c in ("helper_id", "team", "risk_band"):
        if c in keep:
            df[c] = df[c].astype(object).where(df[c].notna(), None)
    df = df[keep]
    return _ordered(df) if order else df


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    out = df.sort_values(["helper_id", "week_start"], kind="stable")
    # a new index on the sorted copy, not reset_index, which copies the whole frame once more
    # (the leaving model's read of a million rows at L)
    out.index = pd.RangeIndex(len(out))
    return out


READ_ROWS = 100_000    # rows fetched at a time by a whole-organisation read
INSERT_ROWS = 50_000   # rows converted to Python values at a time (a million at once took a GB)


def compact(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with its text columns as categories: a rebuild holds every helper's rows
    until it stores them, and the same team, band and driver texts repeat in most rows."""
    out = rows.copy()
    for c in TEXT_COLUMNS:
        if c in out:
            out[c] = out[c].astype("category")
    return out


def replace(conn: Connection, rows: pd.DataFrame | list[pd.DataFrame], helper_ids: Iterable[str] | None = None,
            from_week=None, latest: bool = False) -> None:
    """Replace the rows of ``helper_ids`` (None: every row) from ``from_week`` on
    (None: all their weeks) with ``rows`` (a frame or a list of frames), on the
    caller's transaction (``latest``: in ``helper_latest``)."""
    table = helper_latest if latest else helper_weeks
    q = delete(table)
    if from_week is not None:
        q = q.where(table.c.week_start >= pd.Timestamp(from_week).date())
    if helper_ids is None:
        conn.execute(q)
    else:
        for chunk in _chunks(sorted(set(helper_ids))):
            conn.execute(q.where(table.c.helper_id.in_(chunk)))
    for part in ([rows] if isinstance(rows, pd.DataFrame) else rows):
        for start in range(0, len(part), INSERT_ROWS):
            out = part.iloc[start:start + INSERT_ROWS][COLUMNS].copy()
            week = out["week_start"]
            week = week if pd.api.types.is_datetime64_dtype(week) else pd.to_datetime(week)
            days = week.to_numpy("datetime64[D]")
            # SQLite: the text SQLAlchemy's Date writes ("YYYY-MM-DD"); elsewhere dates.
            # Either made by numpy, not a Timestamp per row (a million rows at L)
            out["week_start"] = (np.datetime_as_string(days).astype(object) if conn.dialect.name == "sqlite"
                                 else days.astype(object))
            # plain floats, infinities as NaN, stored as NULL: in one block, not column by column
            floats = out[FLOAT_COLUMNS].to_numpy(dtype=float, copy=True)
            floats[np.isinf(floats)] = np.nan
            out[FLOAT_COLUMNS] = floats
            for c in TEXT_COLUMNS:
                if isinstance(out[c].dtype, pd.CategoricalDtype):
                    out[c] = out[c].astype(object)
            bulk_insert(conn, table, out)


def teams_of(conn: Connection, helper_ids: Iterable[str]) -> set[str]:
    """Teams the helpers are in now and the teams their stored rows name (a move changes both)."""
    out: set[str] = set()
    for chunk in _chunks(sorted(set(helper_ids))):
        out.update(conn.execute(select(helpers.c.team_id).where(helpers.c.helper_id.in_(chunk))).scalars())
        out.update(conn.execute(select(helper_weeks.c.team).distinct()
                                .where(helper_weeks.c.helper_id.in_(chunk))).scalars())
    return {t for t in out if t is not None}


def team_members(conn: Connection, teams: Iterable[str]) -> set[str]:
    teams = sorted(set(teams))
    out: set[str] = set()
    for chunk in _chunks(teams):
        out.update(conn.execute(select(helpers.c.helper_id).where(helpers.c.team_id.in_(chunk))).scalars())
    return out


# --------------------------------------------------------------------------- state

def state(engine_or_conn) -> dict[str, str]:
    """What the table was built from (``horizon``, ``settings``); empty when never built."""
    q = select(materialised_state.c.name, materialised_state.c.value)
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            return dict(conn.execute(q).all())
    return dict(engine_or_conn.execute(q).all())


def set_state(conn: Connection, **values: str) -> None:
    for name, value in values.items():
        conn.execute(delete(materialised_state).where(materialised_state.c.name == name))
        conn.execute(materialised_state.insert().values(name=name, value=str(value)))


def horizon_of(st: dict[str, str], name: str = "horizon") -> pd.Timestamp | None:
    """A week recorded in the state (``horizon``, or the grid's ``first`` week)."""
    value = st.get(name)
    return pd.Timestamp(value) if value not in (None, "", "none") else None


# --------------------------------------------------------------------------- change counters

def team_scope(team: str) -> str:
    return f"team:{team}"


# Bumped when stored rows of a completed week change (a rebuild, an import or deletion
# reaching back, a roster change): what the leaving model is fitted on.  A check-in,
# dated in the current week, leaves it as it is (views.data.leaving_model_for).
PAST = "past"


def bump(conn: Connection, scopes: Iterable[str]) -> None:
    """Add one to each counter (created at 1), on the caller's transaction."""
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(conn.dialect.name)
    for scope in sorted(set(scopes)):
        if dialect is not None:
            stmt = dialect.insert(data_versions).values(scope=scope, version=1)
            conn.execute(stmt.on_conflict_do_update(index_elements=["scope"],
                                                    set_={"version": data_versions.c.version + 1}))
        else:
            res = conn.execute(data_versions.update().where(data_versions.c.scope == scope)
                               .values(version=data_versions.c.version + 1))
            if res.rowcount == 0:
                conn.execute(data_versions.insert().values(scope=scope, version=1))


def versions_on(conn: Connection, scopes: Iterable[str]) -> tuple[tuple[str, int], ...]:
    scopes = list(scopes)
    got = dict(conn.execute(select(data_versions.c.scope, data_versions.c.version)
                            .where(data_versions.c.scope.in_(scopes))).all())
    return tuple((s, int(got.get(s, 0))) for s in scopes)


def all_versions(engine: Engine) -> dict[str, int]:
    """Every counter by scope: what a holder of the organisation's frames compares with the
    counters it read them at, to re-read only the teams whose counter moved."""
    with engine.connect() as conn:
        return {s: int(v) for s, v in conn.execute(select(data_versions.c.scope, data_versions.c.version))}


def versions(engine: Engine, scopes: Iterable[str]) -> tuple[tuple[str, int], ...]:
    """The counters of ``scopes`` (0 for one never bumped), in the order given: a cache key."""
    with engine.connect() as conn:
        return versions_on(conn, scopes)


def bump_for_helpers(conn: Connection, helper_ids: Iterable[str]) -> None:
    """A change to these helpers that leaves their helper weeks as they are (a consent
    choice): their teams' figures and the organisation's change, on the caller's transaction."""
    bump(conn, ["org", *(team_scope(t) for t in teams_of(conn, helper_ids))])

