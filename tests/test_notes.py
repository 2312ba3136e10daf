"""Action notes ("you said / we did"): add, update, refuse, audit; the team workbook's action plan."""
from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest
from sqlalchemy import select

from burnout.cli import write_report
from burnout.errors import InputError
from burnout.store import schema as s
from burnout.store.notes import action_notes, save_action_note
from burnout.store.schema import audit_log, teams
from burnout.views.data import load_data


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


def test_team_workbook_carries_the_action_plan_with_before_and_after(writable_db, tmp_path):
    eng, team = writable_db["engine"], writable_db["lead_team"]
    as_of = load_data(eng).as_of
    done = save_action_note(eng, "demo-lead", team, "Caseloads are too high", "=Paused new intakes",
                            done_on=as_of - pd.Timedelta(weeks=6), owner="Team lead",
                            due_on=as_of - pd.Timedelta(weeks=6), status="done", link_kind="driver",
                            link_ref="caseload")
    save_action_note(eng, "demo-lead", team, "No time for supervision", owner="Ana", status="planned")
    with eng.begin() as conn:   # written before the action, so there are weeks before and after
        conn.execute(s.action_notes.update().where(s.action_notes.c.note_id == done)
                     .values(created_at=(as_of - pd.Timedelta(weeks=7)).to_pydatetime()))
    path = write_report(eng, scope=f"team:{team}", fmt="xlsx", out=tmp_path / "team.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[-1] == "Action plan"
    rows = [[c for c in r] for r in wb["Action plan"].iter_rows(values_only=True)]
    header = rows.index(["Status", "You said", "We did", "Owner", "Due by", "Done on", "About", "Before → after"])
    plan = {r[1]: r for r in rows[header + 1:]}
    row = plan["Caseloads are too high"]
    assert row[0] == "done" and row[3] == "Team lead" and row[6] == "driver: caseload above the role's standard"
    assert row[2] == "'=Paused new intakes"                     # a formula never runs in the sheet
    assert re.fullmatch(r"caseload \d+ % → \d+ %(, strain \d+ → \d+)? over \d+ weeks", row[7])
    assert plan["No time for supervision"][0] == "planned" and not plan["No time for supervision"][7]
    org = openpyxl.load_workbook(write_report(eng, scope="org", fmt="xlsx", out=tmp_path / "org.xlsx"))
    assert "Action plan" not in org.sheetnames
