"""A re-import is a cheap comparison: an unchanged file is recognised by its
fingerprint and writes nothing; a changed file writes only its changed rows and
refreshes only the helpers they belong to; anything deleted since makes the file
compared row by row again, so what an import stores never depends on the shortcut."""
from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from sqlalchemy import event, func, inspect, select, text

from burnout import checkin, ingest, materialise, selfservice
from burnout.store import frames, get_engine
from burnout.store import schema as s
from test_helper_weeks import assert_exact

# Tables the import's own bookkeeping writes even when no data change (the roster's
# import record and the import lock while it compares).
BOOKKEEPING = {"imports", "import_lock", "audit_log"}


def snapshot(engine) -> dict[str, pd.DataFrame]:
    """Every row of every table, sorted, bookkeeping left out."""
    out = {}
    with engine.connect() as conn:
        for t in s.metadata.sorted_tables:
            if t.name in BOOKKEEPING:
                continue
            df = pd.read_sql(select(t), conn)
            out[t.name] = df.sort_values(list(df.columns)).reset_index(drop=True) if len(df) else df
    return out


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


class WriteCounter:
    """Counts every statement SQLite prepares that would insert, update or delete,
    whichever way it is sent (SQLAlchemy or the DB-API cursor of the bulk writers)."""

    WRITES = {sqlite3.SQLITE_INSERT: "insert", sqlite3.SQLITE_UPDATE: "update", sqlite3.SQLITE_DELETE: "delete"}

    def __init__(self, engine):
        self.seen: list[tuple[str, str]] = []
        engine.dispose()            # new connections, each with the authorizer
        event.listen(engine, "connect", self._install)
        self.engine = engine

    def _install(self, dbapi_conn, _record):
        def authorizer(action, table, *_):
            if action in self.WRITES and table and not table.startswith("sqlite_"):
                self.seen.append((self.WRITES[action], table))
            return sqlite3.SQLITE_OK
        dbapi_conn.set_authorizer(authorizer)

    def close(self):
        event.remove(self.engine, "connect", self._install)
        self.engine.dispose()


@pytest.fixture
def imported(tmp_path, demo_files):
    eng = get_engine(f"sqlite:///{tmp_path / 'reimport.db'}")
    first = ingest.import_files(eng, **demo_files)
    assert first.counts["surveys"]["new"] > 0 and first.counts["caseload"]["new"] > 0
    return eng


def test_an_unchanged_reimport_writes_nothing_and_says_so(imported, demo_files):
    before = snapshot(imported)
    counter = WriteCounter(imported)
    try:
        again = ingest.import_files(imported, surveys=demo_files["surveys"], caseload=demo_files["caseload"])
    finally:
        counter.close()
    assert counter.seen == []
    assert_same(before, snapshot(imported))
    text_ = again.describe()
    assert "surveys.csv: already imported on" in text_ and "caseload.csv: already imported on" in text_
    assert "nothing changed" in text_
    assert again.counts["surveys"]["new"] == 0 and again.counts["surveys"]["unchanged"]
    assert again.counts["caseload"]["updated"] == 0


def test_an_unchanged_reimport_with_the_roster_changes_no_data(imported, demo_files):
    before = snapshot(imported)
    again = ingest.import_files(imported, **demo_files)
    assert_same(before, snapshot(imported))
    assert again.counts["roster"]["new"] == again.counts["roster"]["updated"] == 0
    assert again.counts["surveys"]["unchanged"] and again.counts["caseload"]["unchanged"]


def test_the_same_file_under_another_name_is_recognised(imported, demo_files, tmp_path):
    copy = tmp_path / "surveys-copy.csv"
    copy.write_bytes(demo_files["surveys"].read_bytes())
    again = ingest.import_files(imported, surveys=copy)
    assert again.describe().startswith("surveys-copy.csv: already imported on")
    assert "(as surveys.csv)" in again.describe()


def test_an_upload_read_once_is_recognised_too(imported, demo_files):
    with open(demo_files["caseload"], "rb") as fh:
        again = ingest.import_files(imported, caseload=fh)
    assert again.counts["caseload"].get("unchanged")


def test_after_a_deletion_the_file_is_compared_again_and_restores_exactly_what_a_full_import_would(
        imported, demo_files):
    """Deleting a helper's answers (their request) is counted by a database trigger;
    the next import of the same file then compares row by row, as it always did."""
    hid = frames.scores(imported)["helper_id"].iloc[0]
    n_before = len(frames.scores(imported))
    rid = selfservice.request_deletion(imported, hid, actor=hid)
    gone = selfservice.complete_deletion(imported, rid, actor="admin")["submissions"]
    assert gone > 0
    again = ingest.import_files(imported, surveys=demo_files["surveys"])
    assert not again.counts["surveys"].get("unchanged")
    assert again.counts["surveys"]["new"] == gone
    assert len(frames.scores(imported)) == n_before
    third = ingest.import_files(imported, surveys=demo_files["surveys"])
    assert third.counts["surveys"].get("unchanged")


def test_deletions_are_counted_by_the_database_whoever_deletes(imported):
    with imported.connect() as conn:
        before = {k: conn.execute(select(s.data_versions.c.version).where(
            s.data_versions.c.scope == f"deleted:{k}")).scalar() or 0 for k in s.DELETION_COUNTED}
    with imported.begin() as conn:      # by hand, past every function of the project
        conn.execute(text("DELETE FROM caseload_weeks WHERE week_start = (SELECT min(week_start) "
                          "FROM caseload_weeks)"))
    with imported.connect() as conn:
        after = {k: conn.execute(select(s.data_versions.c.version).where(
            s.data_versions.c.scope == f"deleted:{k}")).scalar() or 0 for k in s.DELETION_COUNTED}
    assert after["caseload_weeks"] > before["caseload_weeks"]
    assert after["submissions"] == before["submissions"]


def test_a_newer_caseload_file_makes_an_older_one_compare_again(imported, demo_files, tmp_path):
    """A caseload week holds the newest file's figures: re-importing an older file after
    a newer one puts the older figures back, exactly as without the shortcut."""
    table = pd.read_csv(demo_files["caseload"], dtype=str, keep_default_na=False)
    row = table.iloc[[3]].copy()
    row["active_cases"] = str(int(float(row["active_cases"].iloc[0])) + 7)
    newer = tmp_path / "newer.csv"
    row.to_csv(newer, index=False)
    assert ingest.import_files(imported, caseload=newer).counts["caseload"]["updated"] == 1
    back = ingest.import_files(imported, caseload=demo_files["caseload"])
    assert not back.counts["caseload"].get("unchanged") and back.counts["caseload"]["updated"] == 1
    assert ingest.import_files(imported, caseload=demo_files["caseload"]).counts["caseload"].get("unchanged")


def test_a_file_with_other_answers_keeps_saying_so(imported, demo_files, tmp_path):
    table = pd.read_csv(demo_files["surveys"], dtype=str, keep_default_na=False)
    sib = table.index[table["instrument"] == "sib"][0]
    table.loc[sib, "sib_1"] = "5" if table.loc[sib, "sib_1"] != "5" else "1"
    changed = tmp_path / "surveys.csv"
    table.to_csv(changed, index=False)
    for _ in range(2):      # not skipped: the note about the kept answers comes every time
        summary = ingest.import_files(imported, surveys=changed)
        assert summary.counts["surveys"]["different"] == 1 and summary.warnings


def test_other_limits_or_a_mapping_make_another_fingerprint(demo_files):
    raw = demo_files["surveys"].read_bytes()
    base = ingest.core.fingerprint("surveys", raw, ingest.ImportLimits())
    assert base == ingest.core.fingerprint("surveys", raw, ingest.ImportLimits())
    assert base != ingest.core.fingerprint("surveys", raw + b"\n", ingest.ImportLimits())
    assert base != ingest.core.fingerprint("surveys", raw, ingest.ImportLimits(max_rows=10))
    assert base != ingest.core.fingerprint("surveys", raw, ingest.ImportLimits(), mapping=b"columns: {}")
    assert base != ingest.core.fingerprint("surveys", raw, ingest.ImportLimits(), sheet="2026")
    assert base != ingest.core.fingerprint("caseload", raw, ingest.ImportLimits())


# --------------------------------------------------------------------------- one changed row

@pytest.fixture
def refreshed(monkeypatch):
    """The helpers each refresh after an import was asked for."""
    calls: list[set[str]] = []
    real = materialise.after_commit

    def spy(engine, helper_ids, *args, **kw):
        calls.append({str(h) for h in helper_ids})
        return real(engine, helper_ids, *args, **kw)
    monkeypatch.setattr(materialise, "after_commit", spy)
    return calls


def test_one_changed_caseload_row_changes_that_row_only_and_refreshes_its_helper(
        imported, demo_files, tmp_path, refreshed):
    table = pd.read_csv(demo_files["caseload"], dtype=str, keep_default_na=False)
    i = len(table) // 2
    hid, week = table.loc[i, "helper_id"], table.loc[i, "week_start"]
    table.loc[i, "overtime_hours"] = str(float(table.loc[i, "overtime_hours"] or 0) + 9.5)
    changed = tmp_path / "caseload.csv"
    table.to_csv(changed, index=False)
    before = snapshot(imported)["caseload_weeks"]
    summary = ingest.import_files(imported, caseload=changed)
    assert summary.counts["caseload"]["new"] == 0 and summary.counts["caseload"]["updated"] == 1
    after = snapshot(imported)["caseload_weeks"]
    key = (after["helper_id"] == hid) & (pd.to_datetime(after["week_start"]) == pd.Timestamp(week))
    assert key.sum() == 1
    pd.testing.assert_frame_equal(after[~key].reset_index(drop=True), before[~key].reset_index(drop=True))
    assert after.loc[key, "overtime_hours"].iloc[0] == pytest.approx(
        before.loc[key, "overtime_hours"].fillna(0).iloc[0] + 9.5)
    assert refreshed == [{hid}]
    assert_exact(imported, "after one changed caseload row")


def test_one_new_submission_stores_that_submission_and_refreshes_its_helper(
        imported, demo_files, tmp_path, refreshed):
    table = pd.read_csv(demo_files["surveys"], dtype=str, keep_default_na=False)
    row = table[table["instrument"] == "pulse"].iloc[[-1]].copy()
    row["submitted_at"] = (pd.Timestamp(row["submitted_at"].iloc[0]) - pd.Timedelta(days=2)).isoformat()
    hid = row["helper_id"].iloc[0]
    grown = tmp_path / "surveys.csv"
    pd.concat([table, row]).to_csv(grown, index=False)
    n = len(frames.scores(imported))
    summary = ingest.import_files(imported, surveys=grown)
    assert summary.counts["surveys"]["new"] == 1 and summary.counts["surveys"]["already_stored"] == len(table)
    assert len(frames.scores(imported)) == n + 1
    assert refreshed == [{hid}]
    assert_exact(imported, "after one new submission")


def test_a_helper_moving_team_refreshes_both_teams(imported, demo_files, tmp_path):
    roster = pd.read_csv(demo_files["roster"], dtype=str, keep_default_na=False)
    active = roster[roster["end_date"] == ""]
    teams = active["team"].unique()
    mover = active[active["team"] == teams[0]].iloc[[0]].copy()
    mover["team"] = teams[1]
    path = tmp_path / "move.csv"
    mover.to_csv(path, index=False)
    summary = ingest.import_files(imported, roster=path)
    assert summary.counts["roster"]["updated"] == 1
    assert_exact(imported, "after a helper moved team")


def test_a_check_in_then_the_same_file_again_is_still_skipped(imported, demo_files):
    """Check-ins only add answers, so they never change what the file would store."""
    hid = frames.roster(imported)["helper_id"].iloc[0]
    checkin.save_checkin(imported, hid, {"pulse": {f"pulse_{k}": 2 for k in range(1, 7)}})
    assert ingest.import_files(imported, surveys=demo_files["surveys"]).counts["surveys"].get("unchanged")


def test_migration_0006_drops_the_unused_session_draft(imported):
    assert "draft" not in {c["name"] for c in inspect(imported).get_columns("sessions")}
    with imported.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.imports)
                            .where(s.imports.c.content_hash.isnot(None))).scalar_one() == 2


@pytest.mark.postgres
def test_on_postgresql_an_unchanged_reimport_is_skipped_until_something_is_deleted(pg_url, demo_files):
    eng = get_engine(pg_url)
    ingest.import_files(eng, **demo_files)
    before = snapshot(eng)
    again = ingest.import_files(eng, **demo_files)
    assert again.counts["surveys"].get("unchanged") and again.counts["caseload"].get("unchanged")
    assert_same(before, snapshot(eng))
    hid = frames.scores(eng)["helper_id"].iloc[0]
    rid = selfservice.request_deletion(eng, hid, actor=hid)
    gone = selfservice.complete_deletion(eng, rid, actor="admin")["submissions"]
    third = ingest.import_files(eng, surveys=demo_files["surveys"])
    assert third.counts["surveys"]["new"] == gone and not third.counts["surveys"].get("unchanged")
