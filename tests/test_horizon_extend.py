"""Data past the horizon (the first check-in of a week, an import of later weeks) extend
the stored helper weeks instead of rebuilding them, and the table then equals a full
rebuild cell for cell; where extending is not safe, it still rebuilds."""
from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import pytest

from burnout import checkin, ingest, materialise, selfservice
from burnout.demo import write_demo
from burnout.store import frames, get_engine
from burnout.store import helper_weeks as hw
from burnout.store import settings as saved_settings
from test_helper_weeks import _caseload_csv, _copy, _pulse, _week, frames_equal, full_tables

# The organisation's data end a few weeks back, so the horizon can move by one week and by
# several without any answer dated in the future.
END = dt.date.today() - dt.timedelta(weeks=6)


@pytest.fixture(scope="module")
def past_files(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("past"), helpers=40, weeks=30, seed=11, end_date=END)


@pytest.fixture(scope="module")
def past_db(tmp_path_factory, past_files):
    path = tmp_path_factory.mktemp("hz") / "base.db"
    ingest.import_files(get_engine(f"sqlite:///{path}"), **past_files)
    return path


@pytest.fixture
def rebuilds(monkeypatch):
    """Every full rebuild that recomputes the table (counted, then done as usual)."""
    calls = []
    real = materialise.rebuild

    def counted(engine, stale_only=False):
        n = real(engine, stale_only=stale_only)
        if n or not stale_only:
            calls.append(n)
        return n
    monkeypatch.setattr(materialise, "rebuild", counted)
    return calls


def assert_extended(eng, what: str, horizon_before) -> None:
    """The table holds a later horizon, is not marked stale, and equals a full computation."""
    state = hw.state(eng)
    assert state["settings"] == materialise.settings_fingerprint(eng), f"{what}: marked stale"
    assert hw.horizon_of(state) > horizon_before, f"{what}: the horizon did not move"
    weeks, latest = full_tables(eng)
    frames_equal(hw.read(eng), weeks, f"{what}: helper_weeks")
    frames_equal(hw.read(eng, latest=True), latest, f"{what}: helper_latest")


def _active(eng, n: int) -> list[str]:
    return list(frames.roster(eng).query("end_date != end_date")["helper_id"].iloc[:n])


@pytest.mark.parametrize("weeks_ahead", [1, 3])
def test_a_check_in_in_a_new_week_extends_the_table(past_db, past_files, tmp_path, rebuilds, weeks_ahead):
    eng = _copy(past_db, tmp_path)
    horizon = hw.horizon_of(hw.state(eng))
    # someone leaves during the new weeks: they gain rows up to their last week only
    hid, leaver = _active(eng, 2)
    roster = pd.read_csv(past_files["roster"])
    row = roster[roster["helper_id"] == leaver].copy()
    row["end_date"] = (horizon + pd.Timedelta(weeks=weeks_ahead - 1, days=2)).date().isoformat()
    row["end_reason"] = "moved away"
    row.to_csv(tmp_path / "leaver.csv", index=False)
    ingest.import_files(eng, roster=tmp_path / "leaver.csv")
    before = hw.read(eng)
    when = _week(horizon.date() + dt.timedelta(weeks=weeks_ahead)) + dt.timedelta(hours=2)
    checkin.save_checkin(eng, hid, _pulse(4), submitted_at=when)
    materialise.settle(eng)
    assert rebuilds == []
    assert_extended(eng, f"check-in {weeks_ahead} week(s) ahead", horizon)
    # every helper employed then gained the new weeks, and nobody's earlier rows moved
    after = hw.read(eng)
    assert set(after["week_start"]) - set(before["week_start"]) == {
        pd.Timestamp(_week(horizon.date() + dt.timedelta(weeks=k)).date()) for k in range(1, weeks_ahead + 1)}
    assert after["week_start"].max() == pd.Timestamp(when.date() - dt.timedelta(days=when.weekday()))
    assert after[after["week_start"] > horizon]["helper_id"].nunique() > 20
    assert after.loc[after["helper_id"] == leaver, "week_start"].max() == horizon + pd.Timedelta(weeks=weeks_ahead - 1)


def test_a_check_in_of_the_same_week_after_an_extension_refreshes_only_its_helper(past_db, tmp_path, rebuilds):
    eng = _copy(past_db, tmp_path)
    horizon = hw.horizon_of(hw.state(eng))
    a, b = _active(eng, 2)
    when = _week(horizon.date() + dt.timedelta(weeks=1))
    checkin.save_checkin(eng, a, _pulse(2), submitted_at=when + dt.timedelta(hours=1))
    materialise.settle(eng)
    all_before = dict(hw.versions(eng, ["all"]))["all"]
    checkin.save_checkin(eng, b, _pulse(5), submitted_at=when + dt.timedelta(hours=2))
    materialise.settle(eng)
    assert dict(hw.versions(eng, ["all"]))["all"] == all_before       # no new week: one team only
    assert rebuilds == []
    assert_extended(eng, "two check-ins of the new week", horizon)


@pytest.mark.parametrize("many", [False, True, "chunks"])
def test_an_import_of_later_weeks_extends_the_table(past_db, tmp_path, rebuilds, monkeypatch, many):
    """Caseload weeks after the horizon for some helpers (and an earlier week of one of
    them); ``many``: more helpers than a refresh names one by one; "chunks": and the
    extension computed 7 helpers at a time (as a health system's is, 1,500 at a time)."""
    if many:
        monkeypatch.setattr(hw, "MAX_IDS", 5)
    sizes = []
    if many == "chunks":
        monkeypatch.setattr(materialise, "REBUILD_CHUNK", 7)
        real = materialise.compute
        monkeypatch.setattr(materialise, "compute",
                            lambda roster, *a, **k: sizes.append(len(roster)) or real(roster, *a, **k))
    eng = _copy(past_db, tmp_path)
    horizon = hw.horizon_of(hw.state(eng)).date()
    people = _active(eng, 12)
    rows = [(h, horizon + dt.timedelta(weeks=k), 10 + i + k) for i, h in enumerate(people) for k in (1, 2, 3)]
    rows.append((people[0], horizon - dt.timedelta(weeks=4), 40))        # and a week already stored
    ingest.import_files(eng, caseload=_caseload_csv(tmp_path, rows, "later.csv"))
    assert rebuilds == []
    assert_extended(eng, "import of three later weeks", pd.Timestamp(horizon))
    if many == "chunks":
        assert len(sizes) >= 3 and max(sizes) <= 7, sizes


def test_an_import_of_a_roster_and_later_answers_extends_the_table(past_db, past_files, tmp_path, rebuilds):
    """A roster row changed (its whole team recomputed) together with answers past the horizon."""
    eng = _copy(past_db, tmp_path)
    horizon = hw.horizon_of(hw.state(eng)).date()
    roster = pd.read_csv(past_files["roster"])
    row = roster[roster["end_date"].isna()].iloc[[0]].copy()
    row["caseload_standard"] = 7
    row.to_csv(tmp_path / "roster.csv", index=False)
    hid = row["helper_id"].iloc[0]
    surveys = pd.read_csv(past_files["surveys"])
    pulse = surveys[(surveys["helper_id"] == hid) & surveys["instrument"].eq("pulse")].tail(1).copy()
    assert len(pulse)
    pulse["submitted_at"] = (_week(horizon + dt.timedelta(weeks=2)) + dt.timedelta(hours=5)).isoformat()
    pulse.to_csv(tmp_path / "surveys.csv", index=False)
    ingest.import_files(eng, roster=tmp_path / "roster.csv", surveys=tmp_path / "surveys.csv")
    assert rebuilds == []
    assert_extended(eng, "roster + later answers", pd.Timestamp(horizon))


# --------------------------------------------------------------------------- where it still rebuilds

def test_older_data_than_the_grid_with_a_new_week_rebuilds(past_db, tmp_path, rebuilds):
    eng = _copy(past_db, tmp_path)
    state = hw.state(eng)
    horizon, first = hw.horizon_of(state).date(), hw.horizon_of(state, "first").date()
    hid = _active(eng, 1)[0]
    rows = [(hid, first - dt.timedelta(weeks=2), 9), (hid, horizon + dt.timedelta(weeks=1), 9)]
    ingest.import_files(eng, caseload=_caseload_csv(tmp_path, rows, "wide.csv"))
    assert len(rebuilds) == 1
    assert hw.horizon_of(hw.state(eng), "first") < pd.Timestamp(first)
    assert_extended(eng, "older and later data", pd.Timestamp(horizon))


def test_a_settings_change_then_a_new_week_rebuilds(past_db, tmp_path, rebuilds):
    eng = _copy(past_db, tmp_path)
    horizon = hw.horizon_of(hw.state(eng))
    saved_settings.save(eng, {"caseload_standards": {"Case manager": 3}}, actor="admin")
    checkin.save_checkin(eng, _active(eng, 1)[0], _pulse(3), submitted_at=_week(horizon.date() + dt.timedelta(weeks=1)))
    materialise.settle(eng)
    materialise.ensure(eng)
    assert len(rebuilds) == 1           # once, under the new settings: not extended under the old ones
    assert_extended(eng, "settings changed, then a new week", horizon)


def test_removing_the_only_data_of_the_new_week_moves_the_horizon_back(past_db, tmp_path, rebuilds):
    eng = _copy(past_db, tmp_path)
    horizon = hw.horizon_of(hw.state(eng))
    hid = _active(eng, 1)[0]
    checkin.save_checkin(eng, hid, _pulse(3), submitted_at=_week(horizon.date() + dt.timedelta(weeks=2)))
    materialise.settle(eng)
    assert rebuilds == [] and hw.horizon_of(hw.state(eng)) > horizon
    rid = selfservice.request_deletion(eng, hid, actor=hid)
    selfservice.complete_deletion(eng, rid, actor="admin")
    materialise.ensure(eng)
    assert len(rebuilds) == 1 and hw.horizon_of(hw.state(eng)) == horizon
    weeks, latest = full_tables(eng)
    frames_equal(hw.read(eng), weeks, "after the deletion: helper_weeks")
    frames_equal(hw.read(eng, latest=True), latest, "after the deletion: helper_latest")


def test_a_rebuild_between_computing_and_storing_an_extension_wins(past_db, tmp_path, rebuilds, monkeypatch):
    """On SQLite an extension computes outside the write: a stale mark that lands meanwhile
    makes it give way to a rebuild instead of storing over it."""
    eng = _copy(past_db, tmp_path)
    horizon = hw.horizon_of(hw.state(eng))
    real = materialise._extend

    def overtaken(*a, **kw):
        out = real(*a, **kw)
        materialise.mark_stale(eng)
        return out
    monkeypatch.setattr(materialise, "_extend", overtaken)
    materialise.refresh(eng, _active(eng, 1), [horizon + dt.timedelta(weeks=1)])   # no new data: not extended
    assert rebuilds == [] and hw.state(eng)["settings"] != "stale"
    checkin.save_checkin(eng, _active(eng, 1)[0], _pulse(3), submitted_at=_week(horizon.date() + dt.timedelta(weeks=1)))
    materialise.settle(eng)
    materialise.ensure(eng)
    for t in threading.enumerate():
        if t.name == "helper-week rebuild":    # the background rebuild the stale mark started
            t.join(60)
    assert len(rebuilds) == 1                  # once: the read's own found it done
    assert_extended(eng, "extension overtaken by a stale mark", horizon)


# --------------------------------------------------------------------------- PostgreSQL

@pytest.mark.postgres
def test_on_postgresql_extending_equals_a_rebuild(pg_url, past_files, tmp_path, rebuilds, monkeypatch):
    eng = get_engine(pg_url)
    ingest.import_files(eng, **past_files)
    rebuilds.clear()                               # the first import builds the table
    horizon = hw.horizon_of(hw.state(eng))
    a, b = _active(eng, 2)
    checkin.save_checkin(eng, a, _pulse(4), submitted_at=_week(horizon.date() + dt.timedelta(weeks=1)))
    materialise.settle(eng)
    assert_extended(eng, "pg: check-in one week ahead", horizon)
    monkeypatch.setattr(hw, "MAX_IDS", 5)
    later = hw.horizon_of(hw.state(eng)).date()
    rows = [(h, later + dt.timedelta(weeks=k), 12 + k) for h in _active(eng, 10) for k in (1, 2)]
    ingest.import_files(eng, caseload=_caseload_csv(tmp_path, rows, "later.csv"))
    checkin.save_checkin(eng, b, _pulse(2), submitted_at=_week(later + dt.timedelta(weeks=2)) + dt.timedelta(hours=4))
    materialise.settle(eng)
    assert rebuilds == []
    assert_extended(eng, "pg: import of later weeks and a check-in", horizon)
