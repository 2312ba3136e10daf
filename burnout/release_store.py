"""The organisation's release audit, kept in the database once computed.

A lead reads the HR review too, so a lead's page must respect what the HR review
shows (views.team.OrgAudit: the joint plan and the HR heatmap's verdicts).  That
audit covers the whole organisation: at 10,000 helpers, reading it and auditing
cost about 60 CPU-s, which every process paid on its first lead open after a start
or any change.  The audit holds no answers, only who answered in which group and
the verdicts (about 2.5 MB compressed at that size), so it is kept here:

- the import and ``rebuild`` commands compute it for the measure a lead's page opens
  on, when the data arrive (:func:`prepare`);
- a page that needs an audit not stored for the current state computes it (after a
  check-in, from the frames its process holds, a few seconds) and stores it, so
  the other processes behind a load balancer read it instead of computing it again.

An audit is used only for the exact state it was made for: the organisation's
change counters, the saved settings and the calendar week (``materialise.cache_key``,
the key every page cache uses) and this code (:func:`code_fingerprint`: an upgrade
never reads an audit an older release made).  Anything else (another state, a
payload that does not read back as an audit of that measure) is ignored and the
audit computed again: a stored audit can make a page faster, never show more.
Nothing here imports streamlit.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import pickle
import sys
import zlib
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from burnout import materialise
from burnout.domain.time import now
from burnout.store.retry import DATABASE_ERRORS
from burnout.store.schema import release_audits
from burnout.views import team as team_views
from burnout.views.data import TREND_MEASURES, load_review_data

log = logging.getLogger(__name__)

# the measure a lead's page opens on (ui/team.py offers TREND_MEASURES in this order)
OPENING_MEASURE = next(iter(TREND_MEASURES))


@functools.cache
def code_fingerprint() -> str:
    """A hash of the package's source and instrument files and of the numeric libraries'
    versions: what the audit's rules are, so an audit made by other code is never read."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.yaml")]):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(repr((sys.version_info[:2], np.__version__, pd.__version__)).encode())
    return h.hexdigest()


def state_of(data_key: str, measure: str) -> str:
    """What an audit of ``measure`` made at ``data_key`` (``materialise.cache_key`` of
    ``materialise.ORG_SCOPES``) by this code is stored under."""
    return hashlib.sha256(repr((data_key, measure, code_fingerprint())).encode()).hexdigest()


def data_key(engine: Engine) -> str:
    return materialise.cache_key(engine, materialise.ORG_SCOPES)


def _stored_state(engine: Engine, measure: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(release_audits.c.state).where(release_audits.c.measure == measure)).scalar()


def load(engine: Engine, measure: str, key: str) -> team_views.OrgAudit | None:
    """The stored audit of ``measure`` when it was made for ``key`` by this code, else None."""
    with engine.connect() as conn:
        row = conn.execute(select(release_audits.c.state, release_audits.c.payload)
                           .where(release_audits.c.measure == measure)).first()
    if row is None or row.state != state_of(key, measure):
        return None
    try:
        audit = pickle.loads(zlib.decompress(row.payload))
    except Exception:       # a damaged row: compute again rather than fail the page
        log.warning("the stored release audit of %s could not be read; computing it again", measure)
        return None
    if not isinstance(audit, team_views.OrgAudit) or audit.measure != measure:
        return None
    return audit


def save(engine: Engine, measure: str, key: str, audit: team_views.OrgAudit) -> bool:
    """Store ``audit`` (of ``measure``, made at ``key``) as the measure's latest.  A write
    that fails (a locked database) only loses the saving: the caller has its audit."""
    if audit.measure != measure:
        raise ValueError(f"an audit of {audit.measure} is not one of {measure}")
    payload = zlib.compress(pickle.dumps(audit, protocol=pickle.HIGHEST_PROTOCOL), 1)
    try:
        with engine.begin() as conn:
            conn.execute(delete(release_audits).where(release_audits.c.measure == measure))
            conn.execute(release_audits.insert().values(measure=measure, state=state_of(key, measure),
                                                        made_at=now(), payload=payload))
    except DATABASE_ERRORS as exc:
        log.warning("the release audit of %s was not stored: %s", measure, exc)
        return False
    return True


def prepare(engine: Engine, measures: Iterable[str] = (OPENING_MEASURE,),
            progress: Callable[[str], None] | None = None) -> list[str]:
    """Compute and store the audits of ``measures`` not yet stored for the current state
    (when data arrive: the import and rebuild commands).  Stored only when no change
    landed while they were computed (else the next page computes them).  Returns the
    measures stored.  A database error only loses the preparing: the data are stored,
    and the first page that needs an audit computes it."""
    try:
        return _prepare(engine, measures, progress)
    except DATABASE_ERRORS as exc:
        log.warning("the release audit was not prepared: %s", exc)
        return []


def _prepare(engine: Engine, measures: Iterable[str], progress: Callable[[str], None] | None) -> list[str]:
    key = data_key(engine)
    missing = [m for m in dict.fromkeys(measures) if _stored_state(engine, m) != state_of(key, m)]
    if not missing:
        return []
    if progress:
        progress("checking what the organisation's review shows (for the leads' pages)")
    data = load_review_data(engine, with_model=False)
    audits = {m: team_views.org_audit(data, m) for m in missing}
    if data_key(engine) != key:
        return []
    return [m for m, audit in audits.items() if save(engine, m, key, audit)]
