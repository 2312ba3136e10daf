"""Storage: migrations, SQLite settings, PostgreSQL round trip, concurrency."""
from __future__ import annotations

import threading

import pandas as pd
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text

from burnout import ingest, seed
from burnout.errors import InputError
from burnout.store import frames, get_engine, make_engine, migrate
from burnout.store import schema as s
from burnout.store.engine import alembic_config


def test_first_start_creates_and_migrates(sqlite_url):
    eng = get_engine(sqlite_url)
    names = set(inspect(eng).get_table_names())
    assert {"helpers", "submissions", "answers", "scores", "caseload_weeks", "users", "audit_log",
            "settings", "alembic_version"} <= names
    with eng.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert conn.execute(text("select version_num from alembic_version")).scalar() == "0004_helper_weeks"
    migrate(eng)  # a second start is a no-op, not an error


def test_migrations_match_the_models(sqlite_url):
    """Every change to schema.py must come with a migration."""
    eng = get_engine(sqlite_url)
    with eng.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), s.metadata)
    assert diff == []


def test_migration_keeps_data_on_upgrade(tmp_path, demo_files):
    url = f"sqlite:///{tmp_path / 'keep.db'}"
    eng = make_engine(url)
    migrate(eng)
    ingest.import_files(eng, **demo_files)
    n = len(frames.answers(eng))
    migrate(eng)
    assert len(frames.answers(eng)) == n


def test_concurrent_writers_lose_nothing(engine, tmp_path):
    roster = ("helper_id,name,team,role,site,fte,start_date\n"
              + "".join(f"H{i},N{i},T,nurse,S,1,2024-01-01\n" for i in range(8)))
    p = tmp_path / "r.csv"
    p.write_text(roster)
    ingest.import_files(engine, roster=p)
    errors = []

    def writer(i):
        body = "helper_id,submitted_at,instrument,sib_1\n" + "".join(
            f"H{i},2026-01-{d:02d}T09:00:00,sib,{1 + d % 5}\n" for d in range(1, 29))
        try:
            ingest.import_files(engine, surveys=body.encode(), names={"surveys": f"w{i}.csv"})
        except Exception as exc:  # noqa: BLE001 - the assertion reports it
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.submissions)).scalar_one() == 8 * 28
        assert conn.execute(select(func.count()).select_from(s.scores)).scalar_one() == 8 * 28


@pytest.mark.postgres
def test_postgresql_round_trip(pg_url, demo_files):
    eng = get_engine(pg_url)
    assert eng.dialect.name == "postgresql"
    ingest.import_files(eng, **demo_files)
    again = ingest.import_files(eng, **demo_files)
    assert again.counts["surveys"]["new"] == 0

    sv_in = pd.read_csv(demo_files["surveys"], parse_dates=["submitted_at"])
    sv_db = frames.answers(eng)
    key = ["helper_id", "instrument", "submitted_at"]
    a = sv_in.sort_values(key).reset_index(drop=True)
    b = sv_db.sort_values(key).reset_index(drop=True).reindex(columns=a.columns)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)

    cl_in = pd.read_csv(demo_files["caseload"], parse_dates=["week_start"])
    cl_db = frames.caseload(eng)
    k = ["helper_id", "week_start"]
    pd.testing.assert_frame_equal(cl_in.sort_values(k).reset_index(drop=True),
                                  cl_db.sort_values(k).reset_index(drop=True)[cl_in.columns], check_dtype=False)
    assert len(frames.scores(eng)) == len(sv_in)
    assert len(frames.roster(eng)) == len(pd.read_csv(demo_files["roster"]))


@pytest.mark.postgres
def test_postgresql_rejected_file_stores_nothing(pg_url, demo_files, tmp_path):
    eng = get_engine(pg_url)
    bad = tmp_path / "surveys.csv"
    txt = demo_files["surveys"].read_text().splitlines()
    txt[-1] = txt[-1].replace("H0", "H9", 1)
    bad.write_text("\n".join(txt) + "\n")
    with pytest.raises(InputError) as info:
        ingest.import_files(eng, roster=demo_files["roster"], surveys=bad)
    assert info.value.file == "surveys.csv" and info.value.column == "helper_id"
    with eng.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.helpers)).scalar_one() == 0


def _seed_at_once(eng, starters: int = 2) -> list:
    """Several dashboard processes starting on one empty database at the same moment."""
    gate = threading.Barrier(starters)
    results, errors = [], []

    def start():
        gate.wait()
        try:
            results.append(seed.seed_demo(eng, helpers=8, weeks=4, seed=3))
        except Exception as exc:  # noqa: BLE001 - the assertion reports it
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    return results


def _assert_seeded_once(eng, results) -> None:
    assert len(results) >= 2 and all(r == results[0] for r in results)
    with eng.connect() as conn:
        n = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
             for t in (s.teams, s.action_notes, s.users)}
        flags = conn.execute(select(s.settings.c.value).where(s.settings.c.key == seed.DEMO_FLAG)).scalars().all()
    assert n["action_notes"] == 2 and n["users"] == 5 and flags == ["true"]
    alone = get_engine(f"sqlite:///{eng.url.database}.alone") if eng.dialect.name == "sqlite" else None
    if alone is not None:
        seed.seed_demo(alone, helpers=8, weeks=4, seed=3)
        assert len(frames.roster(eng)) == len(frames.roster(alone))
        assert len(frames.answers(eng)) == len(frames.answers(alone))


def test_concurrent_first_start_seeds_the_demo_once(engine):
    _assert_seeded_once(engine, _seed_at_once(engine, starters=3))
    # a later start finds the demo there and stores nothing
    before = len(frames.answers(engine))
    seed.seed_demo(engine, helpers=8, weeks=4, seed=3)
    assert len(frames.answers(engine)) == before


def test_seeding_after_the_demo_was_cleared_stores_nothing(engine):
    seed.seed_demo(engine, helpers=8, weeks=4, seed=3)
    seed.clear_all_data(engine, new_admin="ops.admin")    # clearing keeps the product administrable
    seed.seed_demo(engine, helpers=8, weeks=4, seed=3)
    assert frames.helper_ids(engine) == set()


@pytest.mark.postgres
def test_postgresql_concurrent_first_start_seeds_the_demo_once(pg_url):
    eng = get_engine(pg_url)
    _assert_seeded_once(eng, _seed_at_once(eng, starters=3))


@pytest.mark.postgres
def test_postgresql_reimport_with_other_answers_keeps_stored(pg_url, demo_files, tmp_path):
    eng = get_engine(pg_url)
    ingest.import_files(eng, roster=demo_files["roster"], surveys=demo_files["surveys"])
    stored = frames.answers(eng)
    table = pd.read_csv(demo_files["surveys"], dtype=str, keep_default_na=False)
    sib = table.index[table["instrument"] == "sib"][0]
    table.loc[sib, "sib_1"] = "5" if table.loc[sib, "sib_1"] != "5" else "1"
    changed = tmp_path / "surveys.csv"
    table.to_csv(changed, index=False)
    summary = ingest.import_files(eng, surveys=changed)
    assert summary.counts["surveys"]["new"] == 0 and summary.counts["surveys"]["different"] == 1
    assert f"helper {table.loc[sib, 'helper_id']} sib" in summary.describe()
    pd.testing.assert_frame_equal(frames.answers(eng), stored)


def test_team_client_word_is_editable_and_reaches_the_check_in(engine, demo_files):
    from burnout import checkin, ingest
    from burnout.errors import InputError
    from burnout.store.writes import set_client_word

    ingest.import_files(engine, roster=demo_files["roster"])
    roster = pd.read_csv(demo_files["roster"], dtype=str)
    team, helper = roster.loc[0, "team"], roster.loc[0, "helper_id"]
    assert set_client_word(engine, team, "  Resident ") == "resident"
    assert checkin.client_word(engine, helper) == "resident"
    ingest.import_files(engine, roster=demo_files["roster"])        # a re-import keeps the team's word
    assert checkin.client_word(engine, helper) == "resident"
    for bad in ("", "=cmd()", "x" * 60):
        with pytest.raises(InputError):
            set_client_word(engine, team, bad)
    with pytest.raises(InputError, match="no team"):
        set_client_word(engine, "no-such-team", "resident")


def test_0003_keeps_action_notes_and_sets_their_status(tmp_path):
    """Notes written before action plans survive: 'we did' means done, else planned."""
    url = f"sqlite:///{tmp_path / 'notes.db'}"
    eng = make_engine(url)
    cfg = alembic_config(url)
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002_accounts")
    with eng.begin() as conn:
        conn.execute(text("insert into teams (team_id) values ('T')"))
        conn.execute(text("insert into action_notes (team_id, created_at, author, you_said, we_did) values "
                          "('T', '2026-01-05 09:00:00', 'lead', 'too many cases', 'capped intake'), "
                          "('T', '2026-01-06 09:00:00', 'lead', 'no debriefs', NULL)"))
    migrate(eng)
    with eng.connect() as conn:
        rows = conn.execute(text("select you_said, we_did, status from action_notes order by note_id")).all()
    assert rows == [("too many cases", "capped intake", "done"), ("no debriefs", None, "planned")]
