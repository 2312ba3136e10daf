"""Action notes ("you said / we did"): add, update, refuse, audit."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from burnout.errors import InputError
from burnout.store.notes import action_notes, save_action_note
from burnout.store.schema import audit_log, teams


def test_action_notes_add_update_and_audit(engine):
    with engine.begin() as conn:
        conn.execute(teams.insert(), [{"team_id": "T1", "kind": None, "client_word": "client"},
                                      {"team_id": "T2", "kind": None, "client_word": "client"}])
    lead = {"username": "lead1", "role": "lead", "team_id": "T1"}
    nid = save_action_note(engine, lead, "T1", "=cmd Too many new intakes", None, None)
    save_action_note(engine, lead, "T1", "Too many new intakes", "Paused intakes", "2026-11-02", note_id=nid)
    notes = action_notes(engine, "T1")
    assert len(notes) == 1 and notes.iloc[0]["we_did"] == "Paused intakes"
    assert str(notes.iloc[0]["done_on"])[:10] == "2026-11-02"
    assert action_notes(engine, "T2").empty
    with pytest.raises(InputError):
        save_action_note(engine, lead, "T2", "x", note_id=nid)      # not a note of T2
    with pytest.raises(InputError):
        save_action_note(engine, lead, "T1", "   ")
    with engine.connect() as conn:
        actions = [r.action for r in conn.execute(select(audit_log.c.action))]
    assert actions.count("action_note_added") == 1 and actions.count("action_note_updated") == 1
