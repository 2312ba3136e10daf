"""Whether the database holds the synthetic demo organisation: a flag in the settings table.

Read by the importer (real files are refused into a demo database) and by the
pages, written by ``burnout.seed``; kept apart from the seeding itself, which
imports through the importer.
"""
from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.engine import Engine

from burnout.store.schema import settings

DEMO_FLAG = "demo_data"


def _flag(engine: Engine):
    with engine.connect() as conn:
        row = conn.execute(select(settings.c.value).where(settings.c.key == DEMO_FLAG)).first()
    return None if row is None else json.loads(row[0])


def is_demo(engine: Engine) -> bool:
    return bool(_flag(engine))


def demo_was_cleared(engine: Engine) -> bool:
    """True once an admin cleared the demo: an empty database then stays empty."""
    flag = _flag(engine)
    return flag is not None and not flag
