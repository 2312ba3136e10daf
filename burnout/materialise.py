"""Materialised helper-weeks: the risk model's output for every helper and week,
computed once when data arrive instead of on every page view.

The rows are exactly ``risk.compute_risk(..., drivers=True)`` up to the
*horizon*: the latest week with plausible data (the rule of
:func:`data_horizon`).  A row for week ``j`` depends only on the helper's own
data up to ``j`` (every window of the model trails), on the roster and on the
saved settings, so

* a check-in or an import recomputes only the helpers it touched (and only the
  weeks from the earliest one it touched on);
* the role standard a helper without one falls back to is the median of their
  team (``Settings.resolve_caseload_standard``): a roster change recomputes the
  whole teams it touches (``roster_changed=True``), read whole so the median is
  the one a full rebuild sees;
* data in a week after the horizon move it for everyone (every employed helper
  gains a row for the new week): the table is *extended* (:func:`_extend`): the new
  weeks' rows and the latest rows are computed for everyone, the rows up to the old
  horizon stay (they do not depend on it).  A rebuild remains the fallback where
  that is not safe: the grid would start earlier, data were removed and the
  horizon moved (back), or the table is stale;
* a change of the saved settings (risk weights, caseload standards, check-in
  schedule, anything saved) is *marked* by its fingerprint no longer matching
  the one the table was built under; the next read (:func:`ensure`) rebuilds.

Writers of the table take one lock (``store.helper_weeks.lock``); a refresh
reads its helpers' data after taking it, so two refreshes of one helper cannot
store the older data last, and a rebuild that was overtaken by a refresh while
it computed starts again.  The change counters page caches key on are bumped in
the same transaction as the rows they describe.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from burnout import risk, workers
from burnout.domain.settings import Settings
from burnout.domain.time import now, today
from burnout.store import frames
from burnout.store import helper_weeks as hw
from burnout.store import settings as saved_settings
from burnout.store.retry import DATABASE_ERRORS, run_in_transaction
from burnout.store.schema import caseload_weeks, scores as scores_t, settings as settings_t, submissions

log = logging.getLogger(__name__)

__all__ = ["data_horizon", "ensure", "rebuild", "refresh", "refresh_soon", "settings_fingerprint", "settle"]

# A rebuild overtaken by refreshes while it computed tries again; the last of these
# attempts computes while holding the write lock.
_REBUILD_ATTEMPTS = 3


class _NeedsRebuild(Exception):
    """A refresh found that every helper's rows change (a new week, too many helpers)."""


def settings_fingerprint(engine: Engine) -> str:
    """A hash of every saved setting and of the risk model's version (what the
    helper weeks were computed under): an upgrade that changes the model
    rebuilds the stored weeks on the next read, as a settings change does."""
    with engine.connect() as conn:
        rows = sorted(tuple(r) for r in conn.execute(select(settings_t.c.key, settings_t.c.value)))
    return hashlib.sha1(json.dumps([risk.MODEL_VERSION, rows]).encode()).hexdigest()


def data_horizon(scores: pd.DataFrame, caseload: pd.DataFrame, settings: Settings, today=None
                 ) -> pd.Timestamp | None:
    """The latest week with plausible data: a row dated after today +
    ``import_future_days`` (a typo'd 2099, a clock gone wrong) is ignored, so one
    stray row cannot move the organisation's figures into the future."""
    day = pd.Timestamp(today if today is not None else now()).normalize()
    limit = day + pd.Timedelta(days=int(settings.import_future_days))
    weeks = pd.to_datetime(pd.concat([scores["week_start"], caseload["week_start"]]).dropna())
    weeks = weeks[weeks <= limit]
    return None if weeks.empty else pd.Timestamp(weeks.max())


def org_extent(engine: Engine, settings: Settings, today=None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """:func:`data_horizon` and :func:`grid_start` of the whole organisation by SQL
    minima and maxima (after a deletion, which may move either)."""
    day = pd.Timestamp(today if today is not None else now()).normalize()
    limit = day + pd.Timedelta(days=int(settings.import_future_days))
    monday_after = (limit - pd.Timedelta(days=limit.weekday()) + pd.Timedelta(days=7)).to_pydatetime()
    scored = select(submissions.c.submitted_at).join(scores_t, scores_t.c.submission_id == submissions.c.submission_id)
    with engine.connect() as conn:
        sub = conn.execute(select(func.max(submissions.c.submitted_at))
                           .join(scores_t, scores_t.c.submission_id == submissions.c.submission_id)
                           .where(submissions.c.submitted_at < monday_after)).scalar()
        cl = conn.execute(select(func.max(caseload_weeks.c.week_start))
                          .where(caseload_weeks.c.week_start <= limit.date())).scalar()
        sub_first = conn.execute(select(func.min(scored.subquery().c.submitted_at))).scalar()
        cl_first = conn.execute(select(func.min(caseload_weeks.c.week_start))).scalar()
    weeks = lambda values: pd.DataFrame({"week_start": pd.to_datetime(pd.Series(values, dtype=object))
                                         .dt.normalize()})
    sc = weeks([sub, sub_first]).dropna()
    sc["week_start"] = sc["week_start"] - pd.to_timedelta(sc["week_start"].dt.weekday, unit="D")
    cl_frame = weeks([cl, cl_first]).dropna()
    horizon = data_horizon(sc, cl_frame, settings, today)
    return horizon, grid_start(sc, cl_frame, horizon)


# A caseload row with nothing in it, for no helper, dated at the organisation's first
# week: it pins the start of the model's week grid, so a few helpers computed on
# their own get the very numbers of the whole organisation (the trend's rolling
# sums are taken over week numbers counted from the grid's start).
_PIN = "\x00grid start"
_NAT = np.iinfo(np.int64).min


def grid_start(scores: pd.DataFrame, caseload: pd.DataFrame, horizon) -> pd.Timestamp | None:
    """The first week of the model's grid for data up to ``horizon`` (as ``risk.compute_risk`` finds it)."""
    if horizon is None:
        return None
    last = risk.floor_monday([horizon])[0]
    weeks = np.concatenate([risk.nearest_monday(caseload["week_start"]) if len(caseload) else [],
                            risk.nearest_monday(scores["week_start"]) if len(scores) else []]).astype(np.int64)
    weeks = weeks[(weeks != _NAT) & (weeks <= last)]
    return pd.Timestamp(np.datetime64(int(weeks.min()), "D")) if len(weeks) else None


def compute(roster: pd.DataFrame, caseload: pd.DataFrame, scores: pd.DataFrame, horizon,
            settings: Settings, first=None, rows_from=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The helper-week rows (``risk.compute_risk`` with drivers, up to ``horizon``) and
    the horizon week's rows as ``risk.latest_risk`` gives them; ``first``: the
    organisation's first week, when computing some of its helpers; ``rows_from``:
    only the rows from that week on (computed from the whole history all the same)."""
    if horizon is None:    # no plausible data: no rows (never the max of implausible ones)
        empty = risk.compute_risk(roster.iloc[:0], caseload.iloc[:0], scores.iloc[:0], settings=settings)
        return empty, empty.copy()
    if first is not None:
        pin = pd.DataFrame({"helper_id": [_PIN], "week_start": [pd.Timestamp(first)]})
        caseload = pd.concat([caseload, pin], ignore_index=True) if len(caseload) else \
            pin.reindex(columns=caseload.columns)
    rows = risk.compute_risk(roster, caseload, scores, as_of=horizon, drivers=True, settings=settings,
                             from_week=rows_from)
    latest = risk.latest_risk(roster, caseload, scores, as_of=horizon, settings=settings)
    return (rows[rows["helper_id"] != _PIN].reset_index(drop=True),
            latest[latest["helper_id"] != _PIN].reset_index(drop=True))


def _state_value(horizon) -> str:
    return "none" if horizon is None else pd.Timestamp(horizon).isoformat()


# Helpers computed together by a rebuild: the model's frames and intermediates of a whole
# health system at once took 3.5 GB; a chunk of this many helpers takes tens of MiB and
# the fixed cost per chunk (about a quarter of a CPU-second) stays small beside it.
REBUILD_CHUNK = 1_500


def _data_of(engine: Engine, ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The caseload and score frames of ``ids``, named :data:`hw.MAX_IDS` at a time."""
    sub = [ids[j:j + hw.MAX_IDS] for j in range(0, max(len(ids), 1), hw.MAX_IDS)]
    return (pd.concat([frames.caseload(engine, helper_ids=c) for c in sub], ignore_index=True),
            pd.concat([frames.scores(engine, helper_ids=c) for c in sub], ignore_index=True))


def _chunked_rows(engine: Engine, settings: Settings, roster: pd.DataFrame, horizon, first,
                  chunk: int) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """:func:`compute` of every helper, ``chunk`` helpers at a time on the organisation's
    grid (``first`` pinned, as a refresh computes its helpers): equal to computing the
    whole organisation at once (tests/test_import_speed.py), with the memory of one chunk.
    Many helpers: the chunks are computed by worker processes (burnout.workers), each
    reading its chunk's data itself, and put together in the same order."""
    ids = sorted(frames.helper_ids(engine))
    jobs = [(roster[roster["helper_id"].isin(part)], part)
            for part in (ids[i:i + chunk] for i in range(0, len(ids), chunk))]
    url = workers.url_of(engine)
    done = None
    if workers.MAX_WORKERS > 1 and len(jobs) > 1 and len(ids) >= workers.MIN_HELPERS and url and workers.can_spawn():
        done = _in_processes(url, settings, horizon, first, jobs)
    if done is None:
        done = [_chunk(engine, settings, horizon, first, r, part) for r, part in jobs]
    return [d[0] for d in done], [d[1] for d in done]


def _chunk(engine: Engine | str, settings: Settings, horizon, first, roster: pd.DataFrame,
           part: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One chunk of :func:`_chunked_rows`: its helpers' data read and computed, compacted
    (in a worker process ``engine`` is the URL)."""
    engine = workers.engine_of(engine) if isinstance(engine, str) else engine
    caseload, scores = _data_of(engine, part)
    rows, last = compute(roster, caseload, scores, horizon, settings, first)
    return hw.compact(rows), hw.compact(last)


def _in_processes(url: str, settings: Settings, horizon, first, jobs: list) -> list | None:
    """The chunks computed by worker processes; None, and the caller computes them here,
    when the processes cannot be started or die."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        with workers.pool(workers.MAX_WORKERS) as pool:
            futures = [pool.submit(_chunk, url, settings, horizon, first, r, part) for r, part in jobs]
            return [f.result() for f in futures]
    except (OSError, BrokenProcessPool) as exc:
        log.warning("the rebuild's worker processes failed (%s); computing here", exc)
        return None


def rebuild(engine: Engine, stale_only: bool = False, chunk: int | None = None) -> int:
    """Recompute every helper's rows; returns the number of rows stored.

    It computes without holding the database's write lock (a check-in need not wait for it);
    when a refresh stored newer rows meanwhile it computes again, and the last
    attempt computes while holding the lock, so it always finishes.  ``stale_only``
    (a read or a write that found the table stale): nothing is done (0) when a rebuild
    that finished while this one waited its turn already put it right.  More helpers
    than ``chunk`` (default :data:`REBUILD_CHUNK`) are computed a chunk at a time."""
    chunk = chunk or REBUILD_CHUNK

    def compute_all() -> tuple[tuple[list[pd.DataFrame], list[pd.DataFrame]], dict]:
        fingerprint = settings_fingerprint(engine)
        settings = saved_settings.load(engine)
        roster = frames.roster(engine, settings)
        horizon = None
        if len(roster) > chunk:
            # by SQL minima and maxima (the rule a refresh checks the stored state with), not by
            # reading every scored submission's and caseload week's date into Python (L: 2.9 M)
            horizon, first = org_extent(engine, settings)
        if horizon is not None:
            rows = _chunked_rows(engine, settings, roster, horizon, first, chunk)
        else:      # one chunk, or no data at all
            caseload, scores = frames.caseload(engine), frames.scores(engine)
            horizon = data_horizon(scores, caseload, settings)
            first = grid_start(scores, caseload, horizon)
            rows = tuple([r] for r in compute(roster, caseload, scores, horizon, settings))
        return rows, {"horizon": _state_value(horizon), "first": _state_value(first), "settings": fingerprint}

    def store(conn, rows: tuple[list[pd.DataFrame], list[pd.DataFrame]], state: dict) -> None:
        hw.replace(conn, rows[0])
        hw.replace(conn, rows[1], latest=True)
        hw.set_state(conn, **state)
        hw.bump(conn, ["all", "org", "horizon", hw.PAST])

    # SQLite: refreshes wait on hw.computing while this computes, check-ins do not
    with hw.computing(engine):
        if stale_only and _current(engine):
            return 0
        for attempt in range(_REBUILD_ATTEMPTS):
            last = attempt == _REBUILD_ATTEMPTS - 1
            start = dict(hw.versions(engine, ["org"]))["org"]
            computed = None if last else compute_all()

            def write(conn):
                hw.lock(conn)
                if computed is None:
                    rows, state = compute_all()
                elif dict(hw.versions_on(conn, ["org"]))["org"] != start:
                    return None               # a refresh stored newer rows while this one computed
                else:
                    rows, state = computed
                store(conn, rows, state)
                return sum(len(r) for r in rows[0])

            n = run_in_transaction(engine, write, what="helper-week rebuild", short=False)
            if n is not None:
                log.info("helper weeks rebuilt: %d rows", n)
                return n
    raise AssertionError("unreachable: the last attempt holds the lock")


def _current(engine: Engine) -> bool:
    """The table was built, under the saved settings, and not marked stale since."""
    st = hw.state(engine)
    return bool(st) and st.get("settings") == settings_fingerprint(engine)


def ensure(engine: Engine) -> dict[str, str]:
    """The table's state, after a rebuild when it was never built or the saved settings changed."""
    settle(engine)
    if not _current(engine):
        rebuild(engine, stale_only=True)
    return hw.state(engine)


def refresh(engine: Engine, helper_ids: Iterable[str], weeks: Iterable | None = None, *,
            roster_changed: bool = False, data_removed: bool = False, rebuild_later: bool = False) -> None:
    """Recompute the rows of ``helper_ids`` after their data changed (call after the commit).

    ``weeks``: the weeks the change touched (None: any); rows from the earliest
    one on are replaced.  ``roster_changed``: roster rows changed, so whole teams
    (old and new) are recomputed.  ``data_removed``: data may have gone, so the
    organisation's horizon is checked by SQL (it may move back).

    Data after the horizon (the first check-in of a week) or more helpers than can
    be named *extend* the table (:func:`_extend`): every helper gains the new weeks'
    rows and the latest rows are replaced, the stored weeks before stay.  Falls back
    to a :func:`rebuild` when the table is stale, the grid would start earlier, or
    data were removed and the horizon moved; ``rebuild_later`` (a check-in, where a
    person waits): the table is marked stale instead and rebuilt in a background
    thread (and by the next read, if that comes first).
    """
    ids = {str(h) for h in helper_ids if h is not None}
    if not ids:
        return
    st = hw.state(engine)
    if not st or st.get("settings") != settings_fingerprint(engine):
        rebuild(engine, stale_only=True)
        return
    settings = saved_settings.load(engine)
    from_week = None
    if weeks is not None and not roster_changed:
        days = pd.to_datetime(pd.Series(list(weeks))).dropna()
        if not days.empty:
            first = days.min().normalize()
            from_week = first - pd.Timedelta(days=first.weekday())

    def computed(conn) -> _Result:
        state = hw.state(conn)
        horizon, first = hw.horizon_of(state), hw.horizon_of(state, "first")
        teams = hw.teams_of(conn, ids)
        members = ids | (hw.team_members(conn, teams) if roster_changed else set())
        if horizon is None:
            raise _NeedsRebuild          # nothing stored to extend
        if len(members) > hw.MAX_IDS:
            return _extend(engine, settings, members, teams, from_week, horizon, first, data_removed)
        roster = frames.roster(engine, settings, team_ids=teams)
        roster = roster[roster["helper_id"].isin(members)]
        caseload = frames.caseload(engine, helper_ids=members)
        scores = frames.scores(engine, helper_ids=members)
        own = data_horizon(scores, caseload, settings)
        if own is not None and own > horizon:
            return _extend(engine, settings, members, teams, from_week, horizon, first, data_removed)
        own_first = grid_start(scores, caseload, horizon)
        if own_first is not None and (first is None or own_first < first):
            raise _NeedsRebuild          # older data than any before: the grid starts earlier
        if data_removed and org_extent(engine, settings) != (horizon, first):
            raise _NeedsRebuild
        rows, latest = compute(roster, caseload, scores, horizon, settings, first)
        if from_week is not None:
            rows = rows[rows["week_start"] >= from_week]
        return _Result(rows, latest, members, teams, (horizon, first), from_week)

    def run() -> None:
        with hw.computing(engine) as outside:
            if not outside:
                def write(conn) -> None:
                    hw.lock(conn)
                    _store(conn, computed(conn))
                run_in_transaction(engine, write, what="helper-week refresh")
                return
            # SQLite: every writer of the table waits on hw.computing, so what was read
            # here is still what holds when the short write below stores it
            with engine.connect() as conn:
                result = computed(conn)

            def write_short(conn) -> None:
                state = hw.state(conn)
                if (hw.horizon_of(state), hw.horizon_of(state, "first")) != result.built_on or \
                        state.get("settings") != st.get("settings"):
                    raise _NeedsRebuild   # a rebuild or a stale mark came in between
                _store(conn, result)
            run_in_transaction(engine, write_short, what="helper-week refresh")

    try:
        run()
    except _NeedsRebuild:
        if not rebuild_later:
            rebuild(engine)
            return
        mark_stale(engine)
        threading.Thread(target=_rebuild_quietly, args=(engine,), name="helper-week rebuild", daemon=True).start()


@dataclasses.dataclass(frozen=True)
class _Result:
    """What a refresh or an extension stores: ``rows`` of ``members`` from ``from_week``
    (None: all their weeks); when the horizon moved (``horizon`` set), also every other
    helper's rows after the old horizon's week, and ``latest`` for everyone."""
    rows: pd.DataFrame
    latest: pd.DataFrame
    members: set
    teams: set
    built_on: tuple          # (horizon, first) of the table the result extends
    from_week: pd.Timestamp | None
    horizon: pd.Timestamp | None = None


def _monday(day) -> pd.Timestamp:
    return pd.Timestamp(np.datetime64(int(risk.floor_monday([day])[0]), "D"))


def _extend(engine: Engine, settings: Settings, members: set, teams: set, from_week, horizon, first,
            data_removed: bool) -> _Result:
    """The rows a change stores when the horizon moves forward or too many helpers changed
    to name them, computed from the whole organisation's data.

    A stored row of week j depends only on the helper's own data up to j, the roster and
    the settings (every window trails, the grid's first week is pinned), never on the
    horizon: so when the data reach past it, the rows up to the old horizon's week stay
    as they are, and what changes is (a) every helper's rows in the new weeks, (b) the
    latest rows (``latest_risk`` counts who is employed on the horizon's *day* and looks
    back a fixed number of weeks from it, so every helper's latest row is replaced) and
    (c) the changed helpers' own rows from their earliest changed week.  The model still
    reads every earlier week (a run of rising answers, the first check-in, the first
    data have no bound), but only the new cells get driver texts and are stored.
    Equal to a rebuild: tests/test_horizon_extend.py."""
    roster = frames.roster(engine, settings)
    new, new_first = org_extent(engine, settings)
    if new is None or new < horizon:
        raise _NeedsRebuild              # the horizon moves back: data were removed
    if new_first != first:
        raise _NeedsRebuild              # older data than any before, or the first week's data went
    moved = new != horizon
    if data_removed and moved:
        raise _NeedsRebuild
    keep = roster["helper_id"].isin(members)
    old_last = _monday(horizon)
    rows_from = from_week            # the members' rows; None: all their weeks
    if moved:
        # employed on some day from the old horizon's next week to the new horizon's week
        # (a little wide: a helper kept who gains no row costs only the computing)
        lo = min(old_last + pd.Timedelta(days=7), new.normalize())
        hi = max(_monday(new) + pd.Timedelta(days=6), new.normalize())
        start, end = roster["start_date"], roster["end_date"]
        keep |= (start.isna() | (start <= hi)) & (end.isna() | (end > lo))
        if rows_from is not None:
            rows_from = min(rows_from, old_last + pd.Timedelta(days=7))
    ids = sorted(roster.loc[keep, "helper_id"])
    whole = keep.all() and len(ids) <= REBUILD_CHUNK
    rows_parts, latest_parts = [], []
    # a chunk of helpers at a time (the memory of one chunk), each on the organisation's grid
    for i in range(0, max(len(ids), 1), REBUILD_CHUNK):
        part = ids[i:i + REBUILD_CHUNK]
        if whole:
            caseload, scores = frames.caseload(engine), frames.scores(engine)
        else:    # not the data of those who left before the new weeks (a third of a roster with years of leavers)
            caseload, scores = _data_of(engine, part)
        rows, latest = compute(roster[keep & roster["helper_id"].isin(part)], caseload, scores, new, settings,
                               first, rows_from)
        mine = rows["helper_id"].isin(members)
        if from_week is not None:
            mine &= rows["week_start"] >= from_week
        if moved:
            rows = rows[mine | (rows["week_start"] > old_last)]
        else:
            rows, latest = rows[mine], latest[latest["helper_id"].isin(members)]
        rows_parts.append(rows)
        latest_parts.append(latest)
    rows = pd.concat(rows_parts, ignore_index=True)
    latest = pd.concat(latest_parts, ignore_index=True)
    return _Result(rows.reset_index(drop=True), latest.reset_index(drop=True), members, teams,
                   (horizon, first), from_week, new if moved else None)


def _reaches_past(from_week) -> bool:
    """Rows from ``from_week`` on (None: all weeks) include a completed week.  An hour's
    margin: a check-in stored on Sunday night counts as one of the completed week, so a
    process whose clock runs a little ahead never keeps a fit that misses it."""
    current = _monday(now() + pd.Timedelta(hours=1))
    return from_week is None or pd.Timestamp(from_week) < current


def _store(conn, result: _Result) -> None:
    """Store a refresh's or an extension's rows, its state and the counters, on one transaction."""
    past = _reaches_past(result.from_week)
    if result.horizon is not None:
        old_last = _monday(result.built_on[0])
        new_weeks = result.rows["week_start"] > old_last
        others = new_weeks & ~result.rows["helper_id"].isin(result.members)
        # every row after the old horizon's week goes (there should be none), the new weeks come in
        hw.replace(conn, result.rows[others], None, from_week=old_last + pd.Timedelta(days=7))
        hw.replace(conn, result.rows[~others], result.members, from_week=result.from_week)
        hw.replace(conn, result.latest, None, latest=True)
        hw.set_state(conn, horizon=_state_value(result.horizon))
        # every team gains a week: the change a rebuild makes, without recomputing the past
        past = past or _reaches_past(old_last + pd.Timedelta(days=7))
        hw.bump(conn, ["all", "org", "horizon", *([hw.PAST] if past else [])])
        return
    hw.replace(conn, result.rows, result.members, from_week=result.from_week)
    hw.replace(conn, result.latest, result.members, latest=True)
    hw.bump(conn, ["org", *(hw.team_scope(t) for t in result.teams), *([hw.PAST] if past else [])])


def mark_stale(engine: Engine) -> None:
    """Make the next read rebuild the table (its settings fingerprint no longer matches);
    a rebuild computing meanwhile sees the counter move and computes again."""
    def write(conn) -> None:
        hw.set_state(conn, settings="stale")
        hw.bump(conn, ["org"])
    run_in_transaction(engine, write, what="mark stale")


def _rebuild_quietly(engine: Engine) -> None:
    try:
        rebuild(engine, stale_only=True)
    except Exception:  # noqa: BLE001 - a background job: the next read rebuilds
        log.exception("background rebuild of the helper weeks failed; the next read rebuilds them")



def after_commit(engine: Engine, helper_ids: Iterable[str], weeks: Iterable | None = None, **kw) -> None:
    """:func:`refresh` for the write paths, once their own transaction has committed:
    what was stored stays stored when the refresh fails, so the failure is logged and
    the table marked stale (the next read rebuilds it) instead of reaching the person."""
    try:
        refresh(engine, helper_ids, weeks, **kw)
    except Exception:  # noqa: BLE001 - the write is stored; the table is rebuilt on the next read
        log.exception("helper weeks not refreshed after a write; marking them for a rebuild")
        try:
            mark_stale(engine)
        except DATABASE_ERRORS:
            log.exception("could not mark the helper weeks stale either")


def after_import(engine: Engine, roster_ids: Iterable[str], rows: pd.DataFrame | list[pd.DataFrame]) -> None:
    """Refresh the helpers whose rows an import stored or changed: ``roster_ids`` (roster
    rows: whole teams) and ``rows`` (helper_id, at: each stored submission or caseload
    week; a frame or a list of frames), from the earliest week stored.  An unchanged
    re-import refreshes nothing."""
    ids = {str(h) for h in roster_ids}
    roster_changed = bool(ids)
    # each frame's helpers and earliest date apart: concatenating the submissions' times
    # with the caseload weeks' dates made an object per row (a second at M)
    parts = [r for r in ([rows] if isinstance(rows, pd.DataFrame) else rows) if len(r)]
    for part in parts:
        ids.update(str(h) for h in pd.unique(part["helper_id"]))
    firsts = [m for m in (pd.to_datetime(part["at"]).min() for part in parts) if pd.notna(m)]
    weeks = [min(firsts)] if firsts else []
    if ids:
        after_commit(engine, ids, None if roster_changed else weeks, roster_changed=roster_changed)


# --------------------------------------------------------------------------- check-ins, refreshed together
# A check-in is stored in a few milliseconds; recomputing its helper costs about a
# quarter of a CPU-second, mostly fixed cost (settings, reads, the model's set-up).
# Done inside save_checkin, 32 people saving at once would queue behind each
# other's refreshes.  So a check-in only names its helper here; one worker thread
# per database refreshes every helper named meanwhile in one pass, right after.
# The thread is not a daemon: a CLI process finishes its refreshes before it exits.
# A process killed in between leaves rows behind; ``python -m burnout rebuild``
# (or any later refresh that moves the horizon) puts them right.
_SETTLE_SECONDS = 0.2
_pending: dict[Engine, dict[str, pd.Timestamp | None]] = {}
_workers: dict[Engine, threading.Thread] = {}
_pending_lock = threading.Lock()


def refresh_soon(engine: Engine, helper_ids: Iterable[str], weeks: Iterable | None = None) -> None:
    """Queue a refresh of ``helper_ids`` (from the earliest of ``weeks``) for the worker thread."""
    days = pd.to_datetime(pd.Series(list(weeks or []), dtype=object)).dropna()
    first = days.min() if not days.empty else None
    with _pending_lock:
        queued = _pending.setdefault(engine, {})
        for h in helper_ids:
            h = str(h)
            old = queued.get(h, first)
            queued[h] = None if old is None or first is None else min(old, first)
        if engine not in _workers:
            worker = threading.Thread(target=_drain, args=(engine,), name="helper-week refresh")
            _workers[engine] = worker
            worker.start()


# Called with the engine after each pass of the refresh worker (a check-in's helper weeks
# are stored): the dashboard brings what it showed lately up to date then (ui/common.py),
# instead of the next person who opens a page.  A listener must return at once: settle()
# waits for the worker that calls it.
_listeners: list[Callable[[Engine], None]] = []


def on_refreshed(listener: Callable[[Engine], None]) -> None:
    """Call ``listener(engine)`` after each pass of the refresh worker (at most once per listener)."""
    if listener not in _listeners:
        _listeners.append(listener)


def _refreshed(engine: Engine) -> None:
    for listener in list(_listeners):
        try:
            listener(engine)
        except Exception:  # noqa: BLE001 - only the head start is lost: pages compute on demand
            log.exception("a listener of the helper-week refreshes failed")


def _drain(engine: Engine) -> None:
    while True:
        time.sleep(_SETTLE_SECONDS)          # let check-ins arriving together share one pass
        with _pending_lock:
            batch = _pending.pop(engine, {})
            if not batch:
                _workers.pop(engine, None)
                return
        ids = sorted(batch)
        for i in range(0, len(ids), hw.MAX_IDS):
            chunk = ids[i:i + hw.MAX_IDS]
            starts = [batch[h] for h in chunk]
            weeks = None if any(w is None for w in starts) else [min(starts)]
            after_commit(engine, chunk, weeks, rebuild_later=True)
        _refreshed(engine)       # still a worker: settle() returns after the listeners were told


def settle(engine: Engine | None = None, timeout: float = 60.0) -> None:
    """Wait until this process's queued refreshes (of ``engine``, or all) are stored:
    a page about to read the table, a test, or a command that reads what it just wrote."""
    deadline = time.monotonic() + timeout
    while True:
        with _pending_lock:
            workers = [w for e, w in _workers.items() if engine is None or e is engine]
        if not workers:
            return
        for w in workers:
            w.join(max(0.0, deadline - time.monotonic()))
        if time.monotonic() >= deadline:
            log.warning("helper-week refreshes still running after %.0f s", timeout)
            return


# What the organisation-wide figures depend on (the HR review, the release audit): any change.
ORG_SCOPES = ("all", "org")


def cache_key(engine: Engine, scopes: Iterable[str], wait: bool = True) -> str:
    """The change counters of ``scopes``, the saved settings' fingerprint and the calendar
    week (the as-of week never runs past it): what every cache of figures (the pages', the
    stored release audit) is keyed on.  A few indexed rows, so a change anywhere in scope
    shows at once, also from another process; this process's queued refreshes are waited
    for first, so a check-in it just saved counts (not with ``wait=False``: a listener of
    the refreshes, which runs on the refresh worker)."""
    if wait:
        settle(engine)
    week = today() - dt.timedelta(days=today().weekday())
    return repr((hw.versions(engine, scopes), settings_fingerprint(engine), week.isoformat()))

