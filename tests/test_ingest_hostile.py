"""The hostile-file corpus (tests/data/bad, MANIFEST.csv says what each file
attacks): each file is refused whole, naming file, row and column, or imported
when it is legitimately fine; nothing else is stored and no exception other
than InputError escapes.  SQLite and PostgreSQL give the same answers."""
from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from burnout import checkin, ingest
from burnout.errors import InputError
from burnout.store import get_engine
from burnout.store import schema as s

BAD = Path(__file__).parent / "data" / "bad"
MANIFEST = list(csv.DictReader(open(BAD / "MANIFEST.csv", encoding="utf-8")))
BASE_ROSTER = (b"helper_id,name,team,role,site,fte,start_date\n"
               b"H1,Ana Ruiz,CW-A,caseworker,North,1,2023-01-09\n"
               b"H2,Bo Chen,CW-A,caseworker,North,0.8,2022-05-02\n"
               b"H3,Cy Diallo,AMH-B,counsellor,South,1,2021-03-15\n")
FORM = b"When,Who,Burnout?\n2026-03-02,H1,2\n"
TABLES = (s.helpers, s.teams, s.submissions, s.answers, s.scores, s.caseload_weeks, s.imports)


def counts(engine) -> dict:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES}


def _engine(url: str):
    eng = get_engine(url)
    ingest.import_files(eng, roster=BASE_ROSTER, names={"roster": "base.csv"})
    return eng


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory):
    return _engine(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'h.db'}")


@pytest.fixture(scope="module")
def pg_engine(pg_server):
    return _engine(pg_server.new_database())


def outcome(engine, entry: dict) -> tuple:
    """(expect, row, column) the import gave, checking that a refusal stores nothing."""
    path = BAD / entry["file"]
    kind = entry["kind"]
    kwargs = ({"surveys": FORM, "mapping": path, "names": {"surveys": "form.csv"}} if kind == "mapping"
              else {kind: path})
    before = counts(engine)
    started = time.perf_counter()
    try:
        ingest.import_files(engine, **kwargs)
    except InputError as err:
        assert counts(engine) == before, "a refused file must store nothing"
        assert time.perf_counter() - started < 10, "a hostile file must be refused quickly"
        assert err.file == path.name or (kind == "mapping" and err.file == "form.csv")
        assert entry["words"] in str(err), str(err)
        assert "Traceback" not in str(err)
        return ("refused", str(err.row) if err.row is not None else "", err.column or "")
    return ("ok", "", "")


def expected(entry: dict) -> tuple:
    return (entry["expect"], entry["row"], entry["column"])


def test_the_corpus_is_big_enough_and_every_file_is_listed():
    listed = {e["file"] for e in MANIFEST}
    on_disk = {p.name for p in BAD.iterdir()} - {"MANIFEST.csv", "make_corpus.py"}
    assert listed == on_disk and len(listed) >= 50
    assert all(e["attack"] for e in MANIFEST)


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_hostile_file_sqlite(sqlite_engine, entry):
    assert outcome(sqlite_engine, entry) == expected(entry)


@pytest.mark.postgres
@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_hostile_file_postgres(pg_engine, entry):
    assert outcome(pg_engine, entry) == expected(entry)


def test_a_200k_row_caseload_file_passes_quickly(tmp_path):
    n_helpers, weeks = 2000, 100
    ids = np.repeat([f"H{i}" for i in range(n_helpers)], weeks)
    week = np.tile(pd.date_range("2024-01-01", periods=weeks, freq="7D").strftime("%Y-%m-%d"), n_helpers)
    rng = np.random.default_rng(1)
    active = rng.integers(5, 40, len(ids))
    df = pd.DataFrame({"helper_id": ids, "week_start": week, "active_cases": active,
                       "new_cases": rng.integers(0, 5, len(ids)), "high_acuity_cases": active // 4,
                       "trauma_exposures": rng.integers(0, 5, len(ids)), "critical_incidents": 0,
                       "hours_worked": rng.integers(20, 50, len(ids)), "overtime_hours": 0})
    raw = df.to_csv(index=False).encode()
    started = time.perf_counter()
    weeks_frame = ingest.prepare(caseload=raw, known_helpers=set(ids))["caseload"][1]
    took = time.perf_counter() - started
    assert len(weeks_frame) == 200_000
    assert took < 30, f"validating 200,000 rows took {took:.1f} s"


# --------------------------------------------------------------------------- fuzzing through the database

FUZZ = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
fuzz_cell = st.one_of(
    st.sampled_from(["H1", "H2", "H3", "H9", "", "1", "3", "5", "2026-03-02", "2026-03-02T09:00", "2099-01-01",
                     "1900-01-01", "sib", "pulse", "Often", "inf", "-1", "1e300", "=HYPERLINK(\"x\")", "\x00",
                     "a" * 200]),
    st.text(max_size=8),
)


@FUZZ
@given(st.lists(st.lists(fuzz_cell, min_size=5, max_size=5), min_size=1, max_size=6))
def test_import_files_on_random_surveys_stores_whole_or_nothing(sqlite_engine, rows):
    """The whole import path (prepare, staging, publish) on random survey rows: stored,
    or refused with nothing stored; never another exception."""
    header = ["helper_id", "submitted_at", "instrument", "sib_1", "pulse_1"]
    body = pd.DataFrame(rows, columns=header).to_csv(index=False).encode("utf-8", "surrogatepass")
    before = counts(sqlite_engine)
    try:
        summary = ingest.import_files(sqlite_engine, surveys=body, names={"surveys": "fuzz.csv"})
    except InputError as err:
        assert err.file == "fuzz.csv" and "Traceback" not in str(err)
        assert counts(sqlite_engine) == before
        return
    new = summary.counts["surveys"]["new"]
    assert counts(sqlite_engine)["submissions"] == before["submissions"] + new


answer = st.one_of(st.none(), st.integers(-2, 120), st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from(["Often", "never", "3", "x", "", True]), st.text(max_size=4))


@FUZZ
@given(st.dictionaries(st.sampled_from(["pulse", "sib", "cbi", "proqol5", "mbi"]),
                       st.dictionaries(st.sampled_from(["pulse_1", "pulse_6", "sib_1", "cbi_w7", "proqol_1",
                                                        "x"]), answer, max_size=4), max_size=3),
       st.one_of(st.none(), st.text(max_size=20)))
def test_save_checkin_on_random_answers_saves_or_refuses_plainly(sqlite_engine, answers, comment):
    """The check-in's scoring entry point: random answers are saved whole or refused
    with a plain InputError, with nothing stored."""
    before = counts(sqlite_engine)
    try:
        ids = checkin.save_checkin(sqlite_engine, "H1", answers, comment=comment)
    except InputError as err:
        assert str(err) and counts(sqlite_engine) == before
        return
    assert counts(sqlite_engine)["submissions"] == before["submissions"] + len(ids)
