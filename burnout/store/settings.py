"""The organisation's saved settings: read into one ``Settings`` object, saved whole.

Values are JSON rows in the ``settings`` table; the rules (defaults,
validation, clamps) are ``burnout.domain.settings``'s.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Mapping

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, Engine

from burnout.domain.settings import Settings, validate
from burnout.errors import InputError
from burnout.store.retry import retried, write_transaction
from burnout.store.schema import settings as settings_t
from burnout.store.writes import audit

__all__ = ["NOT_SAVEABLE", "load", "save", "saved_values"]

logger = logging.getLogger(__name__)

# The risk-to-burnout link turns every helper's risk score into the burnout
# prevalence HR reads.  Saved again and again (a sweep of the scale), the
# prevalences of one saved state after another solve for hidden helpers' risk
# scores, so the link is never taken from the settings table: it is fitted to
# the organisation's single-item ratings or the documented default.
NOT_SAVEABLE = {
    "burnout_midpoint": "The link from risk score to burnout is fitted to your organisation's "
                        "single-item burnout ratings (or uses the documented default); it cannot be "
                        "saved, because changing it again and again would reveal hidden helpers' scores.",
    "burnout_scale": "The link from risk score to burnout is fitted to your organisation's "
                     "single-item burnout ratings (or uses the documented default); it cannot be "
                     "saved, because changing it again and again would reveal hidden helpers' scores.",
}


def saved_values(conn: Connection) -> dict[str, Any]:
    """What the settings table holds, less any key that may not be saved (a row
    written by hand or by an older version is ignored, and the ignoring logged)."""
    out = {}
    for key, value in conn.execute(select(settings_t.c.key, settings_t.c.value)):
        if key in NOT_SAVEABLE:
            logger.warning("saved setting %s is ignored: %s", key, NOT_SAVEABLE[key])
            continue
        out[key] = json.loads(value)
    return out


def load(engine: Engine) -> Settings:
    """The settings in force: defaults overridden by what admins saved."""
    with engine.connect() as conn:
        return Settings.from_saved(saved_values(conn))


@retried("save")
def save(engine: Engine, values: Mapping[str, Any], actor: str) -> dict[str, Any]:
    """Validate every value first, then save them all in one transaction
    (nothing is saved when one is invalid).  Returns the cleaned values."""
    for key in values:
        if key in NOT_SAVEABLE:
            raise InputError(NOT_SAVEABLE[key], column=key)
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
