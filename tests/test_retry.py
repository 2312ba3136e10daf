"""The store's retry: transient failures are retried, everything else raised at once."""
from __future__ import annotations

import datetime as dt
import sqlite3

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from burnout import checkin, ingest
from burnout.errors import InputError
from burnout.store import frames, get_engine
from burnout.store import schema as s
from burnout.store.retry import is_foreign_key_violation, is_transient, is_unique_violation, retrying


def op(message: str) -> OperationalError:
    return OperationalError("INSERT ...", {}, sqlite3.OperationalError(message))


class Pg(Exception):
    def __init__(self, code):
        super().__init__(f"sqlstate {code}")
        self.sqlstate = code


def test_locked_busy_serialization_and_deadlock_are_transient():
    assert is_transient(op("database is locked"))
    assert is_transient(op("database is busy"))
    assert is_transient(OperationalError("x", {}, Pg("40001")))
    assert is_transient(OperationalError("x", {}, Pg("40P01")))
    assert not is_transient(op("unable to open database file"))
    assert not is_transient(op("attempt to write a readonly database"))
    assert not is_transient(IntegrityError("x", {}, sqlite3.IntegrityError("UNIQUE constraint failed: t.a")))
    assert is_unique_violation(IntegrityError("x", {}, sqlite3.IntegrityError("UNIQUE constraint failed: t.a")))
    assert is_unique_violation(IntegrityError("x", {}, Pg("23505")))


def test_retrying_waits_out_a_busy_database():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 4:
            raise op("database is locked")
        return "saved"

    assert retrying(flaky, backoff=0.001) == "saved" and len(calls) == 4


def test_retrying_gives_up_and_raises_the_real_error():
    calls = []

    def broken():
        calls.append(1)
        raise op("unable to open database file")

    with pytest.raises(OperationalError):
        retrying(broken, backoff=0.001)
    assert len(calls) == 1      # not transient: no retry

    def always_locked():
        calls.append(1)
        raise op("database is locked")

    with pytest.raises(OperationalError):
        retrying(always_locked, attempts=5, backoff=0.001)
    assert len(calls) == 1 + 5


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request):
    eng = (request.getfixturevalue("engine") if request.param == "sqlite"
           else get_engine(request.getfixturevalue("pg_url")))
    ingest.import_files(eng, roster=b"helper_id,name,team,role,site,fte,start_date\n"
                                    b"H1,Ana,T1,nurse,North,1,2024-01-01\n", names={"roster": "r.csv"})
    return eng


def test_the_constraints_refuse_in_plain_words_on_both_engines(db):
    """No read before the insert: the foreign key refuses a helper who is not in the
    roster, the unique key a second save; both end as the plain sentences."""
    with pytest.raises(InputError, match="'NOPE' is not in the roster"):
        checkin.save_checkin(db, "NOPE", {"sib": {"sib_1": 2}})
    at = dt.datetime(2026, 3, 2, 9, 0)
    checkin.save_checkin(db, "H1", {"sib": {"sib_1": 2}}, submitted_at=at)
    with pytest.raises(InputError, match="already stored"):
        checkin.save_checkin(db, "H1", {"sib": {"sib_1": 4}}, submitted_at=at)
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.submissions)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(s.audit_log)
                            .where(s.audit_log.c.action == "checkin_saved")).scalar_one() == 1
    # a refused save leaves the next id free: nothing half-written stays behind
    checkin.save_checkin(db, "H1", {"sib": {"sib_1": 3}}, submitted_at=at + dt.timedelta(days=7))


def test_foreign_key_violations_are_recognised():
    assert is_foreign_key_violation(IntegrityError("x", {}, sqlite3.IntegrityError("FOREIGN KEY constraint failed")))
    assert is_foreign_key_violation(IntegrityError("x", {}, Pg("23503")))
    assert not is_foreign_key_violation(IntegrityError("x", {}, Pg("23505")))


def test_a_checkin_is_stored_whole_and_alike_on_both_engines(db):
    """PostgreSQL writes a check-in as one statement, SQLite as several in one
    transaction: the rows stored are the same."""
    at = dt.datetime(2026, 3, 9, 9, 0)
    ids = checkin.save_checkin(db, "H1", {"sib": {"sib_1": 4}, "pulse": {"pulse_1": 5, "pulse_2": 1}},
                               comment="long week", submitted_at=at, actor="H1")
    subs = frames.submissions_frame(db, "H1")
    assert subs["submission_id"].tolist() == ids and subs["instrument"].tolist() == ["pulse", "sib"]
    assert subs["comment"].tolist()[0] == "long week" and pd.isna(subs["comment"].tolist()[1])
    ans = frames.answers(db, helper_id="H1").set_index("instrument")
    assert ans.loc["pulse", "pulse_1"] == 5 and ans.loc["pulse", "pulse_2"] == 1 and ans.loc["sib", "sib_1"] == 4
    sc = frames.scores(db, "H1").set_index("instrument")
    assert sc.loc["sib", "sib_level"] == 4 and bool(sc.loc["sib", "burned_out"]) is True
    assert pd.isna(sc.loc["pulse", "sib_level"]) and pd.isna(sc.loc["sib", "pulse_strain"])
    with db.connect() as conn:
        row = conn.execute(select(s.audit_log.c.actor, s.audit_log.c.detail)
                           .where(s.audit_log.c.action == "checkin_saved")).one()
    assert tuple(row) == ("H1", "pulse, sib")


def test_a_saved_check_in_takes_its_draft_with_it_on_both_engines(db):
    """On PostgreSQL the check-in is one statement: the draft's removal is part of it,
    and a refused save (a duplicate) leaves the draft where it was."""
    at = dt.datetime(2026, 3, 2, 9, 0)
    checkin.save_partial(db, "H1", {"q_sib_1": 2}, today=at.date())
    checkin.save_checkin(db, "H1", {"sib": {"sib_1": 2}}, submitted_at=at)
    assert checkin.load_partial(db, "H1", today=at.date()) == {}
    checkin.save_partial(db, "H1", {"q_sib_1": 4}, today=at.date())
    with pytest.raises(InputError, match="already stored"):
        checkin.save_checkin(db, "H1", {"sib": {"sib_1": 4}}, submitted_at=at)
    assert checkin.load_partial(db, "H1", today=at.date()) == {"q_sib_1": 4}
