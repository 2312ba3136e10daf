"""The organisation's saved settings: read into one ``Settings`` object, saved whole.

Values are JSON rows in the ``settings`` table; the rules (defaults,
validation, clamps) are ``burnout.domain.settings``'s.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, Engine

from burnout.domain.settings import Settings, validate
from burnout.store.retry import retried, write_transaction
from burnout.store.schema import settings as settings_t
from burnout.store.writes import audit

__all__ = ["load", "save", "saved_values"]


def saved_values(conn: Connection) -> dict[str, Any]:
    return {key: json.loads(value) for key, value in conn.execute(select(settings_t.c.key, settings_t.c.value))}


def load(engine: Engine) -> Settings:
    """The settings in force: defaults overridden by what admins saved."""
    with engine.connect() as conn:
        return Settings.from_saved(saved_values(conn))


@retried("save")
def save(engine: Engine, values: Mapping[str, Any], actor: str) -> dict[str, Any]:
    """Validate every value first, then save them all in one transaction
    (nothing is saved when one is invalid).  Returns the cleaned values."""
    clean = {k: validate(k, v) for k, v in values.items()}
    with write_transaction(engine) as conn:
        for key, value in clean.items():
            text = json.dumps(_plain(value), sort_keys=True)
            conn.execute(delete(settings_t).where(settings_t.c.key == key))
            conn.execute(insert(settings_t).values(key=key, value=text))
            audit(conn, actor, "setting_changed", detail=f"{key}={text[:500]}")
    return clean


def _plain(value):
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
