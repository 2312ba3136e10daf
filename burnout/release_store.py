"""The organisation's release audit, kept in the database once computed.

A lead reads the HR review too, so a lead's page must respect what the HR review
shows (views.team.OrgAudit: the joint plan and the HR heatmap's verdicts).  That
audit covers the whole organisation: at 10,000 helpers, reading it and auditing
cost about 60 CPU-s, which every process paid on its first lead open after a start
or any change.  The audit holds no answers, only who answered in which group and
the verdicts (about 2.5 MB compressed at that size), so it is kept
(store/prepared.py, under ``release_audit:<measure>``):

- the import and ``rebuild`` commands compute it for the measure a lead's page opens
  on, when the data arrive (:func:`prepare`);
- a page that needs an audit not stored for the current state computes it (after a
  check-in, from the frames its process holds, a few seconds) and stores it, so
  the other processes behind a load balancer read it instead of computing it again.

An audit is used only for the exact state it was made for: the organisation's
change counters, the saved settings and the calendar week (``materialise.cache_key``,
the key every page cache uses) and this code.  Nothing here imports streamlit.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable

from sqlalchemy.engine import Engine

from burnout import audit_cache, disclosure, materialise, privacy, workers
from burnout.store import prepared
from burnout.store.retry import DATABASE_ERRORS
from burnout.views import tables
from burnout.views import team as team_views
from burnout.views.data import TREND_MEASURES, leaving_model_for, load_latest, load_review_data, store_read

log = logging.getLogger(__name__)

# the measure a lead's page opens on (ui/team.py offers TREND_MEASURES in this order)
OPENING_MEASURE = next(iter(TREND_MEASURES))


def name_of(measure: str) -> str:
    return f"release_audit:{measure}"


def data_key(engine: Engine) -> str:
    return materialise.cache_key(engine, materialise.ORG_SCOPES)


def load(engine: Engine, measure: str, key: str) -> team_views.OrgAudit | None:
    """The stored audit of ``measure`` when it was made for ``key`` by this code, else None."""
    audit = prepared.load(engine, name_of(measure), key, team_views.OrgAudit)
    return audit if audit is not None and audit.measure == measure else None


def save(engine: Engine, measure: str, key: str, audit: team_views.OrgAudit) -> bool:
    """Store ``audit`` (of ``measure``, made at ``key``) as the measure's latest, and its plan
    as the latest plan of any state (:func:`seed`)."""
    if audit.measure != measure:
        raise ValueError(f"an audit of {audit.measure} is not one of {measure}")
    saved = prepared.save(engine, name_of(measure), key, audit)
    prepared.save(engine, LATEST_PLAN, "", (privacy.SEARCH_BUDGET, audit.plan))
    return saved


# The plan of the audit stored last, whatever state it was made for: its column audits are
# kept under who answered in which group (audit_cache), so most of them are the audits of
# a state a few changes later too.  A process about to audit the organisation puts them in
# its cache first (:func:`seed`) and computes only the audits whose counts differ: after one
# check-in, the current week's, block's and windows' (tests/test_release_store.py).
LATEST_PLAN = "release_plan:latest"


# The organisation's team x week blocks the last preparing suppressed (views.tables.by_week),
# whatever state: keyed on their rows, verdicts and known people, so every week a change did
# not touch is read back by a process that puts them in its cache (:func:`seed_weeks`).
# Kept by the import, ``rebuild`` and the work a change of every figure starts (ui/common)
# only: a week's blocks stay right for as long as its rows do, and a page storing them after
# every check-in would write them all again.
LATEST_WEEKS = "release_weeks:latest"


def save_weeks(engine: Engine) -> None:
    """Keep the week blocks this process has suppressed (:data:`LATEST_WEEKS`)."""
    prepared.save(engine, LATEST_WEEKS, "", tables.week_blocks())


def seed_weeks(engine: Engine) -> int:
    """Put the week blocks the last preparing kept in this process's cache; how many were new."""
    try:
        stored = prepared.load(engine, LATEST_WEEKS, "", list)
    except DATABASE_ERRORS as exc:       # only the head start is lost
        log.warning("the week blocks were not read: %s", exc)
        return 0
    return 0 if stored is None else tables.seed_weeks(stored)


def seed(engine: Engine, plan: disclosure.JointPlan | None = None) -> int:
    """Put the column audits of ``plan`` (None: of the latest stored plan, any state) in this
    process's audit cache; how many were new to it."""
    if plan is not None:
        return audit_cache.seed(plan.audits, privacy.SEARCH_BUDGET)
    try:
        stored = prepared.load(engine, LATEST_PLAN, "", tuple)
    except DATABASE_ERRORS as exc:       # only the head start is lost
        log.warning("the latest plan was not read: %s", exc)
        return 0
    return 0 if stored is None else audit_cache.seed(stored[1].audits, stored[0])


def prepare(engine: Engine, measures: Iterable[str] = (OPENING_MEASURE,),
            progress: Callable[[str], None] | None = None) -> list[str]:
    """Compute and store the audits of ``measures`` not yet stored for the current state,
    when data arrive (the import and rebuild commands).  Stored only when no change landed
    while they were computed (else the next page computes them).  Returns the measures
    stored.  A database error only loses the preparing: the data are stored, and the first
    page that needs an audit computes it.

    The review's read is kept too (views.data.store_read) when it was read whole: a page
    process's first read then reads only the teams changed since.  So is the leaving
    model fitted on it (views.data.leaving_model_for), which the HR review's first open
    and the ``risk`` command would otherwise fit (half a minute at 10,000 helpers)."""
    try:
        return _prepare(engine, measures, progress)
    except DATABASE_ERRORS as exc:
        log.warning("the release audit was not prepared: %s", exc)
        return []


def _prepare(engine: Engine, measures: Iterable[str], progress: Callable[[str], None] | None) -> list[str]:
    key = data_key(engine)
    missing = [m for m in dict.fromkeys(measures) if not prepared.is_current(engine, name_of(m), key)]
    if not missing:         # an unchanged import reads nothing
        return []
    if progress:
        progress("checking what the organisation's review shows (for the leads' pages)")
    data = load_review_data(engine, with_model=False)
    fit = _fit_elsewhere(engine, len(data.roster))    # the leaving model, beside the audits
    try:
        seed(engine)                 # after a small change most column audits are the last stored plan's
        seed_weeks(engine)           # and most week blocks the last preparing's
        audits = {m: team_views.org_audit(data, m) for m in missing}
        # a whole read, with the week rows and people frame the audits worked out from it: the
        # pages' processes start from it
        store_read(engine, data)
        if data_key(engine) != key:
            return []
        save_weeks(engine)
        stored = [m for m, audit in audits.items() if save(engine, m, key, audit)]
        del audits
    finally:
        fitted = _fitted(fit)
    if not fitted:
        if progress:
            progress("fitting the leaving model (for the HR review)")
        leaving_model_for(engine, data)     # stored under its own key: what it was fitted on
    return stored


def _fit_elsewhere(engine: Engine, helpers: int):
    """The leaving model fitted and stored by a worker process while this one audits (half a
    minute each at 10,000 helpers), where one can be started (burnout.workers); else None."""
    url = workers.url_of(engine)
    if helpers < workers.MIN_HELPERS or url is None or not workers.can_spawn():
        return None
    try:
        pool = workers.pool(1)
        return pool, pool.submit(_fit_and_store, url)
    except OSError as exc:
        log.warning("the leaving model's worker process could not start (%s); fitting here", exc)
        return None


def _fit_and_store(url: str) -> bool:
    """In the worker: the default week's leaving model (views.data.load_latest fits and stores
    it under the key a review's read has); False where the stored weeks do not hold it."""
    return load_latest(workers.engine_of(url)) is not None


def _fitted(fit) -> bool:
    """Waits for the worker of :func:`_fit_elsewhere`: whether it stored the model."""
    if fit is None:
        return False
    pool, future = fit
    try:
        return bool(future.result())
    except Exception as exc:   # noqa: BLE001 - a failed worker only means the model is fitted here
        log.warning("the leaving model's worker process failed (%s); fitting here", exc)
        return False
    finally:
        pool.shutdown()
