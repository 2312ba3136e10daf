"""Action notes ("you said / we did"): what a team raised and what was done about it.

A lead writes them for their team; every helper of the team reads them.  Each
addition and change is written to the audit log in the same transaction.
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from burnout.domain.time import now
from burnout.errors import InputError
from burnout.store.retry import retried, write_transaction
from burnout.store.schema import action_notes as notes_t
from burnout.store.writes import audit


def action_notes(engine: Engine, team: str) -> pd.DataFrame:
    """The team's notes, newest first: note_id, team_id, created_at, author, you_said, we_did, done_on,
    owner, due_on, status (planned / done / dropped), link_kind (driver / alert), link_ref."""
    with engine.connect() as conn:
        return pd.read_sql(select(notes_t).where(notes_t.c.team_id == team).order_by(notes_t.c.created_at.desc()),
                           conn)


STATUSES = ("planned", "done", "dropped")
LINK_KINDS = ("driver", "alert")


def _date(value):
    return pd.Timestamp(value).date() if value not in (None, "") and not pd.isna(value) else None


@retried("save_action_note")
def save_action_note(engine: Engine, actor: Mapping | str, team: str, you_said: str, we_did: str | None = None,
                     done_on=None, note_id: int | None = None, *, owner: str | None = None, due_on=None,
                     status: str | None = None, link_kind: str | None = None, link_ref: str | None = None) -> int:
    """Add a note (``note_id`` None) or update one of the team's notes; audited.

    ``status`` defaults to "done" when the note says what was done, else "planned"
    (the rule the 0003 migration applied to older notes).  A link ties the action to a
    workplace driver (e.g. "caseload") or an alert, so its effect can be followed up.
    """
    you_said = (you_said or "").strip()
    if not you_said:
        raise InputError("Say what the team raised.", column="you_said")
    name = actor.get("username", "lead") if isinstance(actor, Mapping) else str(actor)
    we_did = (we_did or "").strip() or None
    done = _date(done_on)
    status = (status or ("done" if we_did else "planned")).strip().casefold()
    if status not in STATUSES:
        raise InputError(f"The status must be one of {', '.join(STATUSES)}.", column="status")
    link_kind = (link_kind or "").strip().casefold() or None
    if link_kind is not None and link_kind not in LINK_KINDS:
        raise InputError("An action can be linked to a driver or an alert.", column="link_kind")
    link_ref = (link_ref or "").strip()[:80] or None
    if link_ref is None:
        link_kind = None
    plan = {"owner": (owner or "").strip()[:120] or None, "due_on": _date(due_on), "status": status,
            "link_kind": link_kind, "link_ref": link_ref}
    with write_transaction(engine) as conn:
        if note_id is None:
            nid = conn.execute(insert(notes_t).values(team_id=team, created_at=now(), author=name,
                                                      you_said=you_said, we_did=we_did, done_on=done, **plan)
                               ).inserted_primary_key[0]
            audit(conn, name, "action_note_added", detail=f"team {team}, note {nid}")
        else:
            res = conn.execute(update(notes_t).where((notes_t.c.note_id == int(note_id)) & (notes_t.c.team_id == team))
                               .values(you_said=you_said, we_did=we_did, done_on=done, **plan))
            if res.rowcount == 0:
                raise InputError(f"note {note_id} is not a note of team {team}", column="note_id")
            nid = int(note_id)
            audit(conn, name, "action_note_updated", detail=f"team {team}, note {nid}")
    return int(nid)
