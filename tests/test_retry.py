"""The store's retry: transient failures are retried, everything else raised at once."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from burnout.store.retry import is_transient, is_unique_violation, retrying


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
