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
    """The team's notes, newest first: note_id, team_id, created_at, author, you_said, we_did, done_on."""
    with engine.connect() as conn:
        return pd.read_sql(select(notes_t).where(notes_t.c.team_id == team).order_by(notes_t.c.created_at.desc()),
                           conn)


@retried("save_action_note")
def save_action_note(engine: Engine, actor: Mapping | str, team: str, you_said: str, we_did: str | None = None,
                     done_on=None, note_id: int | None = None) -> int:
    """Add a note (``note_id`` None) or update one of the team's notes; audited."""
    you_said = (you_said or "").strip()
    if not you_said:
        raise InputError("say what the team raised ('you said')", column="you_said")
    name = actor.get("username", "lead") if isinstance(actor, Mapping) else str(actor)
    we_did = (we_did or "").strip() or None
    done = pd.Timestamp(done_on).date() if done_on not in (None, "") and not pd.isna(done_on) else None
    with write_transaction(engine) as conn:
        if note_id is None:
            nid = conn.execute(insert(notes_t).values(team_id=team, created_at=now(), author=name,
                                                      you_said=you_said, we_did=we_did, done_on=done)
                               ).inserted_primary_key[0]
            audit(conn, name, "action_note_added", detail=f"team {team}, note {nid}")
        else:
            res = conn.execute(update(notes_t).where((notes_t.c.note_id == int(note_id)) & (notes_t.c.team_id == team))
                               .values(you_said=you_said, we_did=we_did, done_on=done))
            if res.rowcount == 0:
                raise InputError(f"note {note_id} is not a note of team {team}", column="note_id")
            nid = int(note_id)
            audit(conn, name, "action_note_updated", detail=f"team {team}, note {nid}")
    return int(nid)
