"""The materialised helper weeks (burnout.materialise) hold exactly what the risk
model computes, stay exact under check-ins, imports, roster changes, consent and
deletion, and every figure a lead or HR reviewer sees is the one the direct
computation gives."""
from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from burnout import auth, checkin, ingest, leaving, materialise, risk, seed, selfservice, workers
from burnout.store import frames, get_engine
from burnout.store import helper_weeks as hw
from burnout.store import schema as s
from burnout.store import settings as saved_settings
from burnout.views.data import TREND_MEASURES, OrgData, default_as_of, load_data
from burnout.views.helper import helper_view
from burnout.views.review import build_review
from burnout.views.team import team_caseload_ratio, team_view, worklist

TOL = 1e-9


# --------------------------------------------------------------------------- the reference

def computed_org_data(engine) -> OrgData:
    """The organisation's frames with the risk computed directly by risk.py: the page
    path before the helper weeks existed, kept as the reference the table must equal."""
    settings = saved_settings.load(engine)
    roster, caseload, scores = frames.roster(engine, settings), frames.caseload(engine), frames.scores(engine)
    as_of = default_as_of(scores, caseload, settings)
    history = risk.compute_risk(roster, caseload, scores, as_of=as_of, drivers=False, settings=settings)
    latest = risk.latest_risk(roster, caseload, scores, as_of=as_of, settings=settings)
    week = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=pd.Timestamp(as_of).weekday()) \
        if as_of is not None else None
    if week is not None:
        scores = scores[scores["week_start"] <= week]
        caseload = caseload[caseload["week_start"] <= week]
    model = leaving.leaving_model(roster, history, scores, as_of=week, settings=settings)
    return OrgData(roster=roster, caseload=caseload, scores=scores, history=history, latest=latest,
                   as_of=week, settings=settings, leaving_model=model)


def full_tables(engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What a rebuild must store, straight from risk.py: compute_risk with drivers up to
    the data's horizon, and latest_risk of the horizon week."""
    settings = saved_settings.load(engine)
    roster, caseload, scores = frames.roster(engine, settings), frames.caseload(engine), frames.scores(engine)
    horizon = materialise.data_horizon(scores, caseload, settings)
    if horizon is None:
        return stored(engine)[:0], stored(engine)[:0]
    weeks = risk.compute_risk(roster, caseload, scores, as_of=horizon, drivers=True, settings=settings)
    latest = risk.latest_risk(roster, caseload, scores, as_of=horizon, settings=settings)
    return weeks.sort_values(["helper_id", "week_start"], kind="stable").reset_index(drop=True), latest


def full_table(engine) -> pd.DataFrame:
    return full_tables(engine)[0]


def assert_exact(engine, what: str) -> None:
    """The stored tables, as the next read finds them, equal a computation of the whole
    organisation from scratch."""
    materialise.ensure(engine)
    weeks, latest = full_tables(engine)
    frames_equal(stored(engine), weeks, f"{what}: helper_weeks")
    frames_equal(hw.read(engine, latest=True), latest, f"{what}: helper_latest")


def frames_equal(a: pd.DataFrame, b: pd.DataFrame, what: str = "") -> None:
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    assert list(a.columns) == list(b.columns), what
    assert len(a) == len(b), f"{what}: {len(a)} rows != {len(b)}"
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y) \
                and not pd.api.types.is_bool_dtype(x):
            xv, yv = x.to_numpy(float), y.to_numpy(float)
            assert np.array_equal(np.isnan(xv), np.isnan(yv)), f"{what}.{c}: missing values differ"
            ok = ~np.isnan(xv)
            assert np.allclose(xv[ok], yv[ok], rtol=0, atol=TOL), f"{what}.{c}: values differ"
        else:
            xs = [None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT or v is pd.NA
                  else v for v in x.tolist()]
            ys = [None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT or v is pd.NA
                  else v for v in y.tolist()]
            assert xs == ys, f"{what}.{c}: values differ"


FIGURE = go.Figure      # plotly resolves go.<name> by a lazy import on every access: once, not per value


def _numbers(xs) -> bool:
    return all(isinstance(x, (int, float, np.number)) and not isinstance(x, bool) for x in xs)


def same_numbers(a, b, path: str) -> None:
    """Two sequences of numbers equal within 1e-9, missing in the same places:
    one array comparison instead of one per value (a figure holds thousands)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert x.shape == y.shape, path
    assert np.array_equal(np.isnan(x), np.isnan(y)), f"{path}: missing values differ"
    ok = ~np.isnan(x)
    assert np.allclose(x[ok], y[ok], rtol=0, atol=TOL), f"{path}: values differ"


def same(a, b, path: str = "", depth: int = 0) -> None:
    """Every figure of two view objects equal (frames within 1e-9); a fitted model
    object from a library is compared by what it prints (its figures)."""
    if depth > 8:
        assert repr(a) == repr(b), path
        return
    if isinstance(a, pd.DataFrame):
        frames_equal(a, b, path)
    elif isinstance(a, pd.Series):
        frames_equal(a.to_frame(), b.to_frame(), path)
    elif isinstance(a, FIGURE):
        same(a.to_plotly_json()["data"], b.to_plotly_json()["data"], path + ".figure", depth + 1)
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        for f in dataclasses.fields(a):
            if f.name != "generated_at":
                same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}", depth + 1)
    elif isinstance(a, dict) or hasattr(a, "items") and not isinstance(a, (str, bytes)):
        assert set(a.keys()) == set(b.keys()), path
        for k in a.keys():
            same(a[k], b[k], f"{path}[{k!r}]", depth + 1)
    elif isinstance(a, np.ndarray) and a.dtype.kind in "iuf" and isinstance(b, np.ndarray) \
            and b.dtype.kind in "iuf":
        same_numbers(a, b, path)
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and a and _numbers(a) and _numbers(b):
        same_numbers(a, b, path)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]", depth + 1)
    elif isinstance(a, np.ndarray):
        same(list(a), list(b), path, depth + 1)
    elif isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            assert a is b, path
        elif np.isnan(a) or np.isnan(b):
            assert np.isnan(a) and np.isnan(b), path
        else:
            assert a == b or abs(a - b) <= TOL, f"{path}: {a!r} != {b!r}"
    elif hasattr(a, "__dict__") and not isinstance(a, (str, bytes, dt.date, pd.Timestamp)):
        same(vars(a), vars(b), path, depth + 1)
    else:
        assert a == b or (pd.isna(a) and pd.isna(b)), f"{path}: {a!r} != {b!r}"


def same_model(a: leaving.LeavingModel, b: leaving.LeavingModel) -> None:
    """Two leaving models equal in everything they report (a fitted library object
    also records when it was fitted)."""
    assert a.describe() == b.describe()
    same(a.link, b.link, "leaving_model.link")
    same(a.observed, b.observed, "leaving_model.observed")
    same({k: v for k, v in vars(a.calibration).items() if k != "model"},
         {k: v for k, v in vars(b.calibration).items() if k != "model"}, "leaving_model.calibration")


def stored(engine) -> pd.DataFrame:
    return hw.read(engine)


# --------------------------------------------------------------------------- layout

def test_the_table_has_the_models_columns():
    assert hw.COLUMNS == risk.OUTPUT_COLUMNS


def test_rebuild_stores_exactly_what_the_model_computes(demo_db):
    eng = demo_db["engine"]
    materialise.rebuild(eng)
    assert_exact(eng, "helper_weeks")


# --------------------------------------------------------------------------- every figure equal

def test_load_data_gives_the_direct_computations_frames(demo_db):
    eng = demo_db["engine"]
    new, old = load_data(eng), computed_org_data(eng)
    assert new.as_of == old.as_of
    for name in ("roster", "caseload", "scores", "history", "latest"):
        frames_equal(getattr(new, name), getattr(old, name), name)
    same_model(new.leaving_model, old.leaving_model)


def test_a_leads_pages_show_the_same_figures(demo_db):
    eng = demo_db["engine"]
    lead = auth.authenticate(eng, "demo-lead", seed.DEMO_PASSWORD)
    team = demo_db["lead_team"]
    new, old = load_data(eng, team=team), computed_org_data(eng)
    assert set(new.roster["team"]) == {team}            # the lead's page reads one team
    for measure in TREND_MEASURES:
        same(team_view(eng, lead, team, data=new, measure=measure),
             team_view(eng, lead, team, data=old, measure=measure), f"team_view[{measure}]")
    for sort in ("risk", "rise"):
        same(worklist(new, team, sort=sort), worklist(old, team, sort=sort), f"worklist[{sort}]")
    same(team_caseload_ratio(new, team), team_caseload_ratio(old, team), "caseload_ratio")
    consenting = old.roster[(old.roster["team"] == team) & old.roster["consent_lead_view"]]["helper_id"]
    assert len(consenting)
    for hid in consenting:
        same(helper_view(eng, lead, hid, data=new), helper_view(eng, lead, hid, data=old), f"helper[{hid}]")


@pytest.mark.parametrize("scope", ["org", "team"])
def test_the_hr_review_shows_the_same_figures(demo_db, scope):
    eng = demo_db["engine"]
    scope = "org" if scope == "org" else f"team:{demo_db['lead_team']}"
    new, old = load_data(eng), computed_org_data(eng)
    scenario = {"burnout_reduction_points": 10, "cap_caseload": True, "intervention_cost": 5000}
    same(build_review(eng, scope, data=new, scenario=scenario),
         build_review(eng, scope, data=old, scenario=scenario), "review")
    # the CLI path (no data passed) reads the same table
    same(build_review(eng, scope), build_review(eng, scope, data=old), "review (loaded)")


def test_review_assumptions_other_than_the_saved_settings_are_computed(demo_db):
    """A session-only risk weight is not what the table was built under: computed, not read."""
    eng = demo_db["engine"]
    weights = dict(risk.DEFAULT_WEIGHTS, caseload=0.2)
    other = saved_settings.load(eng).merged({"risk_weights": weights})
    data = load_data(eng, settings=other)
    roster = frames.roster(eng, other)
    direct = risk.latest_risk(roster, frames.caseload(eng), frames.scores(eng), as_of=data.as_of, settings=other)
    frames_equal(data.latest, direct, "latest under other weights")


# --------------------------------------------------------------------------- incremental = full

def _week(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day - dt.timedelta(days=day.weekday()), dt.time(9))


def _pulse(value: int) -> dict:
    return {"pulse": {f"pulse_{i}": value for i in range(1, 7)}}


def _caseload_csv(tmp_path, rows: list[tuple[str, dt.date, int]], name: str):
    df = pd.DataFrame([{"helper_id": h, "week_start": w.isoformat(), "active_cases": n, "new_cases": 1,
                        "high_acuity_cases": n // 4, "trauma_exposures": 3, "critical_incidents": 0,
                        "hours_worked": 40, "overtime_hours": n // 5} for h, w, n in rows])
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def small_db(tmp_path_factory, demo_files):
    path = tmp_path_factory.mktemp("hw") / "base.db"
    eng = get_engine(f"sqlite:///{path}")
    ingest.import_files(eng, **demo_files)
    return path


def _copy(small_db, tmp_path):
    import sqlite3

    dst = tmp_path / "copy.db"
    a, b = sqlite3.connect(small_db), sqlite3.connect(dst)
    a.backup(b)
    a.close(), b.close()
    return get_engine(f"sqlite:///{dst}")


def test_an_import_refreshes_the_table(small_db, tmp_path):
    eng = _copy(small_db, tmp_path)
    assert_exact(eng, "after the first import")


ACTIONS = st.lists(st.tuples(st.sampled_from(["checkin", "caseload", "back_caseload", "consent", "roster"]),
                             st.integers(0, 10**6)), min_size=1, max_size=6)


def _apply(eng, tmp_path, action: str, r: int, n: int) -> None:
    roster = frames.roster(eng)
    active = roster[roster["end_date"].isna()].reset_index(drop=True)
    hid = active["helper_id"].iloc[r % len(active)]
    horizon = hw.horizon_of(hw.state(eng))
    if action == "checkin":
        # this week or the horizon's week: the latter keeps the horizon, the former moves it
        day = (horizon.date() if r % 3 else dt.date.today())
        when = _week(day) + dt.timedelta(hours=n + r % 50)
        checkin.save_checkin(eng, hid, _pulse(1 + r % 5), submitted_at=when)
    elif action in ("caseload", "back_caseload"):
        week = horizon.date() - dt.timedelta(days=horizon.weekday())
        if action == "back_caseload":
            week -= dt.timedelta(weeks=1 + r % 10)
        ingest.import_files(eng, caseload=_caseload_csv(tmp_path, [(hid, week, 5 + r % 40)], f"c{n}.csv"))
    elif action == "consent":
        selfservice.set_consent(eng, hid, bool(r % 2), actor=hid)
    else:   # the role standard moves: the team's median and so its helpers' ratios move
        row = roster[roster["helper_id"] == hid].iloc[0]
        df = pd.DataFrame([{"helper_id": hid, "name": row["name"], "team": row["team"], "role": row["role"],
                            "site": row["site"], "fte": row["fte"], "start_date": row["start_date"].date(),
                            "caseload_standard": 5 + r % 30}])
        path = tmp_path / f"r{n}.csv"
        df.to_csv(path, index=False)
        ingest.import_files(eng, roster=path)


@hsettings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_incremental_updates_equal_a_full_rebuild(small_db, tmp_path_factory, actions):
    tmp = tmp_path_factory.mktemp("seq")
    eng = _copy(small_db, tmp)
    for n, (action, r) in enumerate(actions):
        _apply(eng, tmp, action, r, n)
    assert_exact(eng, f"after {actions}")


def test_a_check_in_touches_only_its_team_and_the_org(small_db, tmp_path):
    eng = _copy(small_db, tmp_path)
    roster = frames.roster(eng)
    active = roster[roster["end_date"].isna()]
    hid = active["helper_id"].iloc[0]
    team = active["team"].iloc[0]
    other = sorted(set(active["team"]) - {team})[0]
    scopes = ["all", "org", hw.team_scope(team), hw.team_scope(other)]
    before = dict(hw.versions(eng, scopes))
    horizon = hw.horizon_of(hw.state(eng))
    checkin.save_checkin(eng, hid, _pulse(3), submitted_at=_week(horizon.date()) + dt.timedelta(hours=3))
    materialise.settle(eng)        # the refresh runs right after the save, in a worker thread
    after = dict(hw.versions(eng, scopes))
    assert after["org"] > before["org"] and after[hw.team_scope(team)] > before[hw.team_scope(team)]
    assert after["all"] == before["all"] and after[hw.team_scope(other)] == before[hw.team_scope(other)]
    assert_exact(eng, "after one check-in")


def test_consent_changes_the_teams_counter_in_the_same_write(small_db, tmp_path):
    eng = _copy(small_db, tmp_path)
    hid, team = frames.roster(eng)[["helper_id", "team"]].iloc[0]
    before = dict(hw.versions(eng, [hw.team_scope(team)]))[hw.team_scope(team)]
    selfservice.set_consent(eng, hid, True, actor=hid)
    assert dict(hw.versions(eng, [hw.team_scope(team)]))[hw.team_scope(team)] == before + 1


def test_a_deletion_removes_the_helpers_stored_risk(small_db, tmp_path):
    eng = _copy(small_db, tmp_path)
    hid = frames.scores(eng)["helper_id"].iloc[0]
    rid = selfservice.request_deletion(eng, hid, actor=hid)
    selfservice.complete_deletion(eng, rid, actor="admin")
    rows = hw.read(eng, [hid])
    assert rows[[c for c in rows.columns if c.startswith("c_") and c[2:] in risk.SELF_REPORT]].isna().all().all()
    assert_exact(eng, "after a deletion")


def test_a_settings_change_rebuilds_before_the_next_read(small_db, tmp_path):
    eng = _copy(small_db, tmp_path)
    saved_settings.save(eng, {"caseload_standards": {"Case manager": 3}}, actor="admin")
    assert hw.state(eng)["settings"] != materialise.settings_fingerprint(eng)     # marked, not yet rebuilt
    data = load_data(eng)
    assert_exact(eng, "after a settings change")
    assert hw.state(eng)["settings"] == materialise.settings_fingerprint(eng)
    assert len(data.history)


def test_a_new_risk_model_version_rebuilds_before_the_next_read(small_db, tmp_path, monkeypatch):
    """An upgrade that changes the risk formula or its defaults must not leave the
    old model's risk stored: the version is part of what the weeks were built under."""
    eng = _copy(small_db, tmp_path)
    built = hw.state(eng)["settings"]
    monkeypatch.setattr(risk, "MODEL_VERSION", risk.MODEL_VERSION + " (next)")
    assert materialise.settings_fingerprint(eng) != built
    load_data(eng)
    assert hw.state(eng)["settings"] == materialise.settings_fingerprint(eng)


def test_a_database_from_before_the_table_is_built_on_first_read(small_db, tmp_path):
    eng = _copy(small_db, tmp_path)
    with eng.begin() as conn:
        conn.execute(s.helper_weeks.delete())
        conn.execute(s.materialised_state.delete())
    load_data(eng)
    assert_exact(eng, "first read")


def test_on_postgresql_incremental_equals_full(pg_url, demo_files, tmp_path):
    eng = get_engine(pg_url)
    ingest.import_files(eng, **demo_files)
    assert_exact(eng, "pg import")
    for n, (action, r) in enumerate([("checkin", 4), ("back_caseload", 7), ("roster", 11), ("checkin", 3),
                                     ("consent", 2), ("caseload", 9)]):
        _apply(eng, tmp_path, action, r, n)
    assert_exact(eng, "pg after a sequence")
    lead_team = frames.roster(eng)["team"].iloc[0]
    new = load_data(eng, team=lead_team)
    assert set(new.history["team"]) <= {lead_team}


def test_a_team_median_standard_moves_the_whole_team(small_db, tmp_path):
    """A helper without a role standard falls back to the team median: changing a
    teammate's standard changes their caseload ratio, although their own data did not."""
    eng = _copy(small_db, tmp_path)
    horizon = hw.horizon_of(hw.state(eng)).date()
    people = pd.DataFrame({"helper_id": ["med-1", "med-2", "med-3"], "name": ["A", "B", "C"],
                           "team": "Median team", "role": "Peer navigator (no setting)", "site": "North",
                           "fte": 1.0, "start_date": "2020-01-06", "caseload_standard": [10, 20, None]})
    people.to_csv(tmp_path / "r1.csv", index=False)
    rows = [(h, horizon - dt.timedelta(weeks=k), 18) for h in people["helper_id"] for k in range(3)]
    ingest.import_files(eng, roster=tmp_path / "r1.csv", caseload=_caseload_csv(tmp_path, rows, "c.csv"))
    before = hw.read(eng, ["med-3"])["caseload_ratio"].iloc[-1]
    assert before == pytest.approx(18 / 15)
    people.loc[people["helper_id"] == "med-1", "caseload_standard"] = 30
    people[people["helper_id"] == "med-1"].to_csv(tmp_path / "r2.csv", index=False)
    ingest.import_files(eng, roster=tmp_path / "r2.csv")          # names med-1 only
    assert hw.read(eng, ["med-3"])["caseload_ratio"].iloc[-1] == pytest.approx(18 / 25)
    assert_exact(eng, "after a team median moved")


def test_a_rebuild_in_chunks_of_helpers_stores_what_one_pass_stores(small_db, tmp_path, monkeypatch):
    """A rebuild at the size of a health system computes a chunk of helpers at a time on
    the organisation's grid (bounded memory); the table must be the one-pass table."""
    eng = _copy(small_db, tmp_path)
    materialise.rebuild(eng, chunk=10 ** 9)
    whole, whole_latest, state = stored(eng), hw.read(eng, latest=True), hw.state(eng)
    calls = []
    real = materialise.compute
    monkeypatch.setattr(materialise, "compute",
                        lambda roster, *a, **k: calls.append(len(roster)) or real(roster, *a, **k))
    n = materialise.rebuild(eng, chunk=7)
    assert len(calls) >= 5 and max(calls) <= 7
    assert n == len(whole)
    frames_equal(stored(eng), whole, "chunked helper_weeks")
    frames_equal(hw.read(eng, latest=True), whole_latest, "chunked helper_latest")
    assert hw.state(eng) == state            # the same horizon and grid start, found from the week columns
    assert_exact(eng, "after a chunked rebuild")


@pytest.mark.parametrize("where", ["sqlite", "postgresql"])
def test_a_rebuild_in_worker_processes_stores_what_one_pass_stores(where, small_db, demo_files, tmp_path,
                                                                   monkeypatch, request, spawnable_main):
    """At the size of a health system the chunks are computed by worker processes, each
    reading its own helpers' data over its own connection: the table must be the one-pass
    table."""
    if where == "sqlite":
        eng = _copy(small_db, tmp_path)
    else:
        eng = get_engine(request.getfixturevalue("pg_url"))
        ingest.import_files(eng, **demo_files)
    materialise.rebuild(eng, chunk=10 ** 9)
    whole, whole_latest, state = stored(eng), hw.read(eng, latest=True), hw.state(eng)
    used = []
    real = materialise._in_processes
    monkeypatch.setattr(materialise, "_in_processes", lambda *a: used.append(real(*a)) or used[-1])
    monkeypatch.setattr(workers, "MIN_HELPERS", 0)
    monkeypatch.setattr(workers, "MAX_WORKERS", 2)
    assert workers.can_spawn()
    assert materialise.rebuild(eng, chunk=9) == len(whole)
    assert len(used) == 1 and used[0] is not None and len(used[0]) >= 5     # computed by the workers
    frames_equal(stored(eng), whole, "helper_weeks computed by worker processes")
    frames_equal(hw.read(eng, latest=True), whole_latest, "helper_latest computed by worker processes")
    assert hw.state(eng) == state
    assert_exact(eng, "after a rebuild in worker processes")


def test_workers_are_spawned_only_where_the_main_module_is_not_run_again(monkeypatch):
    """A spawned worker runs a main *script* again (one without a main guard would redo its
    work, a rebuild wait on its own lock): only ``python -m package`` and ``python -c`` spawn."""
    import sys
    import types

    def main(name=None, file=None):
        mod = types.ModuleType("__main__")
        mod.__spec__ = types.SimpleNamespace(name=name) if name else None
        if file:
            mod.__file__ = file
        monkeypatch.setitem(sys.modules, "__main__", mod)
        return workers.can_spawn()

    assert main("burnout.__main__", "/x/burnout/__main__.py") and main("pytest.__main__", "/x/pytest/__main__.py")
    assert main()                                        # python -c
    assert not main(file="/home/someone/nightly.py")     # a script: computed in the process
    assert not main("mytool", "/x/mytool.py")            # python -m of a plain module


def test_the_whole_organisations_read_in_slices_equals_the_read_by_helper(small_db, tmp_path, monkeypatch):
    """The whole organisation's rows are fetched a slice at a time (a million rows fetched at
    once peaked at 2.3 GB at L); the frame must be the one a read by helper gives, and a
    read of ``only`` some columns those columns of it."""
    eng = _copy(small_db, tmp_path)
    ids = frames.roster(eng)["helper_id"].tolist()
    by_helper = hw.read(eng, ids)
    monkeypatch.setattr(hw, "READ_ROWS", 37)
    assert len(by_helper) > 5 * 37
    frames_equal(hw.read(eng), by_helper, "the read in slices")
    only = hw.read(eng, None, only=leaving.HISTORY_COLUMNS)
    assert list(only.columns) == [c for c in hw.COLUMNS if c in {"helper_id", "week_start", *leaving.HISTORY_COLUMNS}]
    frames_equal(only, by_helper[list(only.columns)], "the read of the leaving model's columns")


def test_one_helper_computed_alone_gets_the_organisations_exact_numbers(small_db, tmp_path):
    """The trend's rolling sums count weeks from the grid's start: a helper computed
    alone (a refresh) must sit on the organisation's grid, or late starters' trends
    drift (about 1e-7) and a score at a band edge can change band."""
    eng = _copy(small_db, tmp_path)
    settings = saved_settings.load(eng)
    roster, caseload, scores = frames.roster(eng, settings), frames.caseload(eng), frames.scores(eng)
    horizon = materialise.data_horizon(scores, caseload, settings)
    first = materialise.grid_start(scores, caseload, horizon)
    whole, whole_latest = materialise.compute(roster, caseload, scores, horizon, settings)
    starts = scores.groupby("helper_id")["week_start"].min().sort_values()
    for hid in starts.index[-8:]:           # the latest starters: their grid moves most
        alone, alone_latest = materialise.compute(roster[roster["helper_id"] == hid],
                                                  caseload[caseload["helper_id"] == hid],
                                                  scores[scores["helper_id"] == hid], horizon, settings, first)
        mine = whole[whole["helper_id"] == hid]
        assert len(alone) == len(mine) > 0
        frames_equal(alone, mine, f"weeks {hid}")      # within 1e-9: matrix products round by shape
        frames_equal(alone_latest, whole_latest[whole_latest["helper_id"] == hid], f"latest {hid}")


def test_a_check_in_in_a_new_week_does_not_wait_for_the_extension(small_db, tmp_path, monkeypatch):
    """The first check-in of a week moves every helper's figures: the helper does not
    wait for that; the worker thread extends the table by the new week right after
    (tests/test_horizon_extend.py), without a rebuild."""
    eng = _copy(small_db, tmp_path)
    started, extended = [], []
    real_thread, real_extend = materialise.threading.Thread, materialise._extend

    def thread(target, args, name="", **kw):
        if name == "helper-week rebuild":
            return type("T", (), {"start": lambda self: started.append(args)})()
        return real_thread(target=target, args=args, name=name, **kw)
    monkeypatch.setattr(materialise.threading, "Thread", thread)
    monkeypatch.setattr(materialise, "_extend", lambda *a, **kw: (extended.append(1), real_extend(*a, **kw))[1])
    hid = frames.roster(eng).query("end_date != end_date")["helper_id"].iloc[0]
    horizon = hw.horizon_of(hw.state(eng))
    checkin.save_checkin(eng, hid, _pulse(4), submitted_at=_week(horizon.date() + dt.timedelta(weeks=1)))
    assert extended == [] and hw.horizon_of(hw.state(eng)) == horizon    # not in the request
    materialise.settle(eng)
    assert extended == [1] and not started and hw.state(eng)["settings"] != "stale"
    assert hw.horizon_of(hw.state(eng)) > horizon
    assert_exact(eng, "after a new week's check-in")


def test_a_check_in_returns_before_its_refresh_and_many_share_one_pass(small_db, tmp_path, monkeypatch):
    """Saving does not compute: the helper waits for the insert only; check-ins saved
    together are refreshed in one pass, and the table then equals a full rebuild."""
    eng = _copy(small_db, tmp_path)
    calls = []
    monkeypatch.setattr(materialise, "_SETTLE_SECONDS", 5.0)     # the four saves land within one pause
    real = materialise.after_commit
    monkeypatch.setattr(materialise, "after_commit", lambda e, ids, *a, **kw: (calls.append(sorted(ids)),
                                                                              real(e, ids, *a, **kw)))
    active = frames.roster(eng).query("end_date != end_date")["helper_id"].iloc[:4]
    horizon = hw.horizon_of(hw.state(eng))
    for i, hid in enumerate(active):
        checkin.save_checkin(eng, hid, _pulse(2 + i % 3), submitted_at=_week(horizon.date()) + dt.timedelta(hours=i))
    assert calls == []                       # nothing computed inside the four saves
    materialise.settle(eng)
    assert calls == [sorted(active)]         # one pass for all four
    assert_exact(eng, "after four check-ins refreshed together")


def test_the_comparison_finds_one_changed_value_in_a_figure():
    """The equality tests above compare figures by arrays, not value by value: one
    value off by more than the tolerance, or missing, still fails them."""
    a = go.Figure(go.Scatter(x=[1, 2, 3], y=[0.5, 0.25, np.nan]))
    same(a, go.Figure(go.Scatter(x=[1, 2, 3], y=[0.5, 0.25 + TOL / 2, np.nan])))
    for y in ([0.5, 0.25 + 1e-6, np.nan], [0.5, 0.25, 0.0], [0.5, 0.25]):
        with pytest.raises(AssertionError):
            same(a, go.Figure(go.Scatter(x=[1, 2, 3], y=y)))
