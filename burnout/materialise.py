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
  gains a row for the new week): that is a :func:`rebuild`, about once a week;
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

import hashlib
import json
import logging
from typing import Iterable

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from burnout import risk
from burnout.domain.settings import Settings
from burnout.domain.time import now
from burnout.store import frames
from burnout.store import helper_weeks as hw
from burnout.store import settings as saved_settings
from burnout.store.retry import DATABASE_ERRORS, run_in_transaction
from burnout.store.schema import caseload_weeks, scores as scores_t, settings as settings_t, submissions

log = logging.getLogger(__name__)

__all__ = ["data_horizon", "ensure", "rebuild", "refresh", "settings_fingerprint"]

# A rebuild overtaken this often by refreshes while it computed gives up on being exact
# for the overtaking helpers only: their own refresh has already stored their rows.
_REBUILD_ATTEMPTS = 3


class _NeedsRebuild(Exception):
    """A refresh found that every helper's rows change (a new week, too many helpers)."""


def settings_fingerprint(engine: Engine) -> str:
    """A hash of every saved setting (what the helper weeks were computed under)."""
    with engine.connect() as conn:
        rows = sorted(conn.execute(select(settings_t.c.key, settings_t.c.value)).all())
    return hashlib.sha1(json.dumps(rows).encode()).hexdigest()


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


def org_horizon(engine: Engine, settings: Settings, today=None) -> pd.Timestamp | None:
    """:func:`data_horizon` over the whole organisation by two SQL maxima (after a deletion)."""
    day = pd.Timestamp(today if today is not None else now()).normalize()
    limit = day + pd.Timedelta(days=int(settings.import_future_days))
    monday_after = (limit - pd.Timedelta(days=limit.weekday()) + pd.Timedelta(days=7)).to_pydatetime()
    with engine.connect() as conn:
        sub = conn.execute(select(func.max(submissions.c.submitted_at))
                           .join(scores_t, scores_t.c.submission_id == submissions.c.submission_id)
                           .where(submissions.c.submitted_at < monday_after)).scalar()
        cl = conn.execute(select(func.max(caseload_weeks.c.week_start))
                          .where(caseload_weeks.c.week_start <= limit.date())).scalar()
    weeks = []
    if sub is not None:
        s = pd.Timestamp(sub).normalize()
        weeks.append(s - pd.Timedelta(days=s.weekday()))
    if cl is not None:
        weeks.append(pd.Timestamp(cl))
    return max(weeks) if weeks else None


def compute(roster: pd.DataFrame, caseload: pd.DataFrame, scores: pd.DataFrame, horizon,
            settings: Settings) -> pd.DataFrame:
    """The helper-week rows: ``risk.compute_risk`` with drivers, up to ``horizon``."""
    if horizon is None:    # no plausible data: no rows (never the max of implausible ones)
        return risk.compute_risk(roster.iloc[:0], caseload.iloc[:0], scores.iloc[:0], settings=settings)
    return risk.compute_risk(roster, caseload, scores, as_of=horizon, drivers=True, settings=settings)


def _state_value(horizon) -> str:
    return "none" if horizon is None else pd.Timestamp(horizon).isoformat()


def rebuild(engine: Engine) -> int:
    """Recompute every helper's rows; returns the number of rows stored."""
    for _ in range(_REBUILD_ATTEMPTS):
        start = dict(hw.versions(engine, ["org"]))["org"]
        fingerprint = settings_fingerprint(engine)
        settings = saved_settings.load(engine)
        roster, caseload, scores = frames.roster(engine, settings), frames.caseload(engine), frames.scores(engine)
        horizon = data_horizon(scores, caseload, settings)
        rows = compute(roster, caseload, scores, horizon, settings)

        def write(conn) -> bool:
            hw.lock(conn)
            if dict(hw.versions_on(conn, ["org"]))["org"] != start:
                return False              # a refresh stored newer rows while this one computed
            hw.replace(conn, rows)
            hw.set_state(conn, horizon=_state_value(horizon), settings=fingerprint)
            hw.bump(conn, ["all", "org", "horizon"])
            return True

        if run_in_transaction(engine, write, what="helper-week rebuild", short=False):
            log.info("helper weeks rebuilt: %d rows up to %s", len(rows), horizon)
            return len(rows)
    raise RuntimeError("the helper-week table kept changing during the rebuild; run it again")


def ensure(engine: Engine) -> dict[str, str]:
    """The table's state, after a rebuild when it was never built or the saved settings changed."""
    st = hw.state(engine)
    if not st or st.get("settings") != settings_fingerprint(engine):
        rebuild(engine)
        st = hw.state(engine)
    return st


def refresh(engine: Engine, helper_ids: Iterable[str], weeks: Iterable | None = None, *,
            roster_changed: bool = False, data_removed: bool = False) -> None:
    """Recompute the rows of ``helper_ids`` after their data changed (call after the commit).

    ``weeks``: the weeks the change touched (None: any); rows from the earliest
    one on are replaced.  ``roster_changed``: roster rows changed, so whole teams
    (old and new) are recomputed.  ``data_removed``: data may have gone, so the
    organisation's horizon is checked by SQL (it may move back).  Falls back to a
    :func:`rebuild` when the table is stale, the horizon moves, or too many helpers
    are touched to name them.
    """
    ids = {str(h) for h in helper_ids if h is not None}
    if not ids:
        return
    st = hw.state(engine)
    if not st or st.get("settings") != settings_fingerprint(engine):
        rebuild(engine)
        return
    settings = saved_settings.load(engine)
    from_week = None
    if weeks is not None and not roster_changed:
        days = pd.to_datetime(pd.Series(list(weeks))).dropna()
        if not days.empty:
            first = days.min().normalize()
            from_week = first - pd.Timedelta(days=first.weekday())

    def write(conn) -> None:
        hw.lock(conn)
        horizon = hw.horizon_of(hw.state(conn))
        teams = hw.teams_of(conn, ids)
        members = ids | (hw.team_members(conn, teams) if roster_changed else set())
        if len(members) > hw.MAX_IDS:
            raise _NeedsRebuild
        roster = frames.roster(engine, settings, team_ids=teams)
        roster = roster[roster["helper_id"].isin(members)]
        caseload = frames.caseload(engine, helper_ids=members)
        scores = frames.scores(engine, helper_ids=members)
        own = data_horizon(scores, caseload, settings)
        if own is not None and (horizon is None or own > horizon):
            raise _NeedsRebuild          # a new week: every employed helper gains a row
        if data_removed and org_horizon(engine, settings) != horizon:
            raise _NeedsRebuild
        rows = compute(roster, caseload, scores, horizon, settings)
        if from_week is not None:
            rows = rows[rows["week_start"] >= from_week]
        hw.replace(conn, rows, members, from_week=from_week)
        hw.bump(conn, ["org", *(hw.team_scope(t) for t in teams)])

    try:
        run_in_transaction(engine, write, what="helper-week refresh")
    except _NeedsRebuild:
        rebuild(engine)



def after_commit(engine: Engine, helper_ids: Iterable[str], weeks: Iterable | None = None, **kw) -> None:
    """:func:`refresh` for the write paths, once their own transaction has committed:
    what was stored stays stored when the refresh fails, so the failure is logged and
    the table marked stale (the next read rebuilds it) instead of reaching the person."""
    try:
        refresh(engine, helper_ids, weeks, **kw)
    except DATABASE_ERRORS:
        log.exception("helper weeks not refreshed after a write; marking them for a rebuild")
        try:
            run_in_transaction(engine, lambda conn: hw.set_state(conn, settings="stale"), what="mark stale")
        except DATABASE_ERRORS:
            log.exception("could not mark the helper weeks stale either")


def after_import(engine: Engine, prepared: dict, counts: dict) -> None:
    """Refresh the helpers an import stored something new or changed for (an unchanged
    re-import stores nothing and refreshes nothing); a roster change refreshes whole teams."""
    ids: set[str] = set()
    weeks: list = []
    changed = lambda kind: sum(int(counts.get(kind, {}).get(k, 0)) for k in ("new", "updated")) > 0
    roster_changed = "roster" in prepared and changed("roster")
    if roster_changed:
        ids.update(prepared["roster"][1]["helper_id"].astype(str))
    if "surveys" in prepared and changed("surveys"):
        subs = prepared["surveys"][1]
        ids.update(subs["helper_id"].astype(str))
        weeks.append(pd.to_datetime(subs["submitted_at"]).min())
    if "caseload" in prepared and changed("caseload"):
        cl = prepared["caseload"][1]
        ids.update(cl["helper_id"].astype(str))
        weeks.append(pd.to_datetime(cl["week_start"]).min())
    if ids:
        after_commit(engine, ids, None if roster_changed else weeks, roster_changed=roster_changed)
