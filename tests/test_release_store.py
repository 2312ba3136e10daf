"""The organisation's release audit kept in the database (burnout/release_store.py): read
back it answers every verdict as the computed one does, it is used only for the exact data
state and code it was made for, the import stores it, and a lead's first open in a fresh
process reads it instead of auditing the organisation."""
from __future__ import annotations

import dataclasses
import io
import pickle
import pickletools
import threading
import zlib

import pandas as pd
import pytest
import streamlit as st
from sqlalchemy import select, update

from burnout import checkin, disclosure, materialise, privacy, release_store
from burnout.store import frames, prepared
from burnout.store import schema as s
from burnout.ui import common
from burnout.views import team as team_views
from burnout.views import data as views_data
from burnout.views.data import STORED_READ, TREND_MEASURES, load_data, load_review_data

from conftest import run_cli
from test_team_page_cache import ANSWERS, chart_specs, open_team_page

MEASURE = release_store.OPENING_MEASURE


def _other_helper(engine, team: str) -> str:
    r = frames.roster(engine)
    return str(r[r["end_date"].isna() & (r["team"] != team)]["helper_id"].iloc[0])


def _tables(page: team_views.TeamPage) -> list:
    return [page.bands_table, page.trend_table, page.scatter_table, page.participation_table,
            page.symptoms_table, page.view.weekly, page.view.heatmap_cells, page.view.alerts]


def test_the_opening_measure_is_the_lead_page_s_first_choice():
    assert MEASURE == list(TREND_MEASURES)[0] == "pulse_strain"


@pytest.mark.parametrize("measure", ["pulse_strain", "burned_out"])
def test_a_stored_audit_reads_back_with_every_verdict_and_the_same_team_pages(writable_db, measure):
    eng = writable_db["engine"]
    data = load_review_data(eng, with_model=False)
    made = team_views.org_audit(data, measure)
    key = release_store.data_key(eng)
    assert release_store.save(eng, measure, key, made)
    back = release_store.load(eng, measure, key)
    assert back is not None and back is not made
    teams = sorted(set(data.roster["team"].dropna().astype(str)))
    assert [back.verdicts(t) for t in teams] == [made.verdicts(t) for t in teams]
    assert dict(back.weekly) == dict(made.weekly)
    assert {m: dict(c) for m, c in back.alert_weekly.items()} == {m: dict(c) for m, c in made.alert_weekly.items()}
    # the lead's team keeps some results private: its page asks the joint plan week by week
    team = writable_db["lead_team"]
    tdata = load_data(eng, team=team)
    with_made = team_views.team_page(tdata, team, measure, org=made)
    with_back = team_views.team_page(tdata, team, measure, org=back)
    for a, b in zip(_tables(with_made), _tables(with_back)):
        pd.testing.assert_frame_equal(a, b)
    assert with_made.view.private_note == with_back.view.private_note


def test_an_audit_is_used_only_for_its_state_measure_and_code(writable_db, monkeypatch):
    eng, team = writable_db["engine"], writable_db["lead_team"]
    key = release_store.data_key(eng)
    audit = team_views.org_audit(load_review_data(eng, with_model=False), MEASURE)
    release_store.save(eng, MEASURE, key, audit)
    assert release_store.load(eng, MEASURE, key) is not None
    assert release_store.load(eng, "risk_score", key) is None          # another measure: none stored
    with pytest.raises(ValueError):
        release_store.save(eng, "risk_score", key, audit)               # an audit of another measure
    # another release of the code never reads it
    monkeypatch.setattr(prepared, "code_fingerprint", lambda: "another release")
    assert release_store.load(eng, MEASURE, key) is None
    monkeypatch.undo()
    # one check-in anywhere: a new state, the stored audit is no longer it
    checkin.save_checkin(eng, _other_helper(eng, team), ANSWERS)
    assert release_store.data_key(eng) != key
    assert release_store.load(eng, MEASURE, release_store.data_key(eng)) is None


def test_a_damaged_or_foreign_payload_is_ignored(writable_db):
    eng = writable_db["engine"]
    key = release_store.data_key(eng)
    audit = team_views.org_audit(load_review_data(eng, with_model=False), MEASURE)
    release_store.save(eng, MEASURE, key, audit)
    with eng.begin() as conn:
        conn.execute(update(s.prepared_results).values(payload=b"not an audit"))
    assert release_store.load(eng, MEASURE, key) is None
    with eng.begin() as conn:
        conn.execute(update(s.prepared_results).values(payload=zlib.compress(pickle.dumps({"status": "shown"}))))
    assert release_store.load(eng, MEASURE, key) is None


def test_a_load_leaves_the_collector_as_it_found_it(writable_db):
    """A stored result is unpickled with the cyclic collector paused (prepared._unpickled); it
    runs again afterwards, also after a damaged payload, and stays paused if it was."""
    import gc
    eng = writable_db["engine"]
    prepared.save(eng, "probe", "k", {"frame": pd.DataFrame({"a": range(5)})})
    assert gc.isenabled()
    assert prepared.load(eng, "probe", "k", dict)["frame"]["a"].sum() == 10
    assert gc.isenabled()
    with eng.begin() as conn:
        conn.execute(update(s.prepared_results).values(payload=zlib.compress(b"not a pickle")))
    assert prepared.load(eng, "probe", "k", dict) is None and gc.isenabled()
    gc.disable()
    try:
        prepared.load(eng, "probe", "k", dict)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_import_command_stores_the_audit_of_the_current_state(tmp_path, demo_files):
    url = f"sqlite:///{tmp_path / 'imp.db'}"
    r = run_cli("import", "--roster", str(demo_files["roster"]), "--surveys", str(demo_files["surveys"]),
                "--caseload", str(demo_files["caseload"]), env={"BURNOUT_DATABASE_URL": url})
    assert r.returncode == 0, r.stderr
    from burnout.store import get_engine
    eng = get_engine(url)
    stored = release_store.load(eng, MEASURE, release_store.data_key(eng))
    assert stored is not None
    made = team_views.org_audit(load_review_data(eng, with_model=False), MEASURE)
    teams = sorted(set(frames.roster(eng)["team"].dropna().astype(str)))
    assert [stored.verdicts(t) for t in teams] == [made.verdicts(t) for t in teams]
    # nothing changed: preparing again stores nothing
    assert release_store.prepare(eng) == []
    # a rebuild keeps it current
    r = run_cli("rebuild", env={"BURNOUT_DATABASE_URL": url})
    assert r.returncode == 0, r.stderr
    assert release_store.load(eng, MEASURE, release_store.data_key(eng)) is not None


def test_an_audit_is_not_stored_when_the_data_changed_while_it_was_made(writable_db, monkeypatch):
    eng = writable_db["engine"]
    keys = iter(["before", "after"])
    monkeypatch.setattr(release_store, "data_key", lambda engine: next(keys))
    assert release_store.prepare(eng) == []
    with eng.connect() as conn:
        names = conn.execute(select(s.prepared_results.c.name)).scalars().all()
    assert release_store.name_of(MEASURE) not in names


def _fresh_process() -> None:
    """What a new dashboard process starts with: no cached pages, frames or warming."""
    materialise.settle()
    common.stop_updates()       # this process's updates after a check-in are no part of the next
    st.cache_resource.clear()
    st.cache_data.clear()
    common._HELD.clear()
    common._WARMING.clear()
    common._AUDITED.clear()
    common._SEEDED.clear()


def test_a_lead_s_first_open_in_a_fresh_process_reads_the_stored_audit(writable_db, monkeypatch):
    eng, team = writable_db["engine"], writable_db["lead_team"]
    # the data reach this week first (the week's first check-in moves every figure's week)
    checkin.save_checkin(eng, _other_helper(eng, team), ANSWERS)
    assert release_store.prepare(eng) == [MEASURE]
    _fresh_process()
    made, reads = [], []
    real_audit, real_read = team_views.org_audit, common.load_review_data
    monkeypatch.setattr(team_views, "org_audit",
                        lambda *a, **k: made.append(threading.current_thread().name) or real_audit(*a, **k))
    monkeypatch.setattr(common, "load_review_data",
                        lambda *a, **k: reads.append(k.get("since") is not None) or real_read(*a, **k))
    at = open_team_page(eng, "demo-lead")
    first = chart_specs(at)
    # the page read the stored audit; the process computes its own once in the background,
    # so that the next change costs only what changed
    common._wait_warm(writable_db["url"])
    assert made == ["burnout-audit-warm"] and reads == [False]
    # a check-in elsewhere: this process computes the new state's audit from the frames it
    # holds (an incremental read) and stores it
    checkin.save_checkin(eng, _other_helper(eng, team), ANSWERS)
    materialise.settle(eng)
    at.run()        # the page from before while the update checks the verdicts again, or the new one
    common.wait_for_updates()
    at.run()
    assert not at.exception
    assert len(made) == 2 and made[1] != "burnout-audit-warm"       # the update's, or the page's own run
    assert reads == [False, True]
    common._wait_warm(writable_db["url"])        # stored after the page is shown
    assert release_store.load(eng, MEASURE, release_store.data_key(eng)) is not None
    # another process reads what this one stored, and draws the same page
    _fresh_process()
    again = open_team_page(eng, "demo-lead")
    common._wait_warm(writable_db["url"])
    assert made[2:] == ["burnout-audit-warm"]
    assert chart_specs(again) == chart_specs(at)
    assert len(first) == len(chart_specs(again))


def _open_review(engine) -> "AppTest":
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT
    from burnout import auth
    from burnout import seed

    at = AppTest.from_file(str(ROOT / "burnout" / "ui" / "org_review.py"), default_timeout=120)
    at.session_state["user"] = auth.authenticate(engine, "demo-hr", seed.DEMO_PASSWORD)
    at.session_state["last_seen"] = common.now()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shown(at) -> tuple:
    return ({m.label: m.value for m in at.metric}, chart_specs(at),
            [el.value.to_dict() if hasattr(el.value, "to_dict") else el.value for el in at.dataframe])


def test_an_hr_reviewer_s_first_open_in_a_fresh_process_uses_the_stored_plan(writable_db, monkeypatch):
    """The HR review's joint plan is the one the stored release audit holds for the same state
    (views.team.org_audit audits the same people the same way): a process's first review reads
    it instead of auditing the organisation, shows exactly what auditing itself shows, audits
    once in the background, and audits the next state itself from what that warmed."""
    from burnout.views import review as review_mod

    eng, team, url = writable_db["engine"], writable_db["lead_team"], writable_db["url"]
    checkin.save_checkin(eng, _other_helper(eng, team), ANSWERS)
    _fresh_process()
    own = _shown(_open_review(eng))          # nothing stored: the review audits for itself
    common._wait_warm(url)
    assert release_store.prepare(eng) == [MEASURE]
    _fresh_process()
    audits = []
    real = review_mod.review_plan
    monkeypatch.setattr(review_mod, "review_plan",
                        lambda *a, **k: audits.append(("review", threading.current_thread().name)) or real(*a, **k))
    monkeypatch.setattr(common, "review_plan",
                        lambda *a, **k: audits.append(("warm", threading.current_thread().name)) or real(*a, **k))
    at = _open_review(eng)
    common._wait_warm(url)
    assert audits == [("warm", "burnout-plan-warm")]
    assert _shown(at) == own
    # the next state is audited by this process itself (the stored audit is of the state before):
    # by the update after the check-in, the page in use (a click meanwhile shows the review
    # made last: test_update_after_change), or the page
    checkin.save_checkin(eng, _other_helper(eng, team), ANSWERS)
    at.run()
    assert not at.exception
    common.wait_for_updates(url)
    assert [who for who, _ in audits[1:]] == ["review"] and audits[1][1] != "burnout-plan-warm"


def test_a_fresh_process_after_a_check_in_reads_only_the_changed_team(writable_db, monkeypatch):
    """A page process's whole read is kept for the others (after the page, ui/common._org_frames);
    after a check-in, a fresh process's HR review starts from it and reads only the checked-in
    helper's team again, and shows what a process reading everything shows."""
    eng, team, url = writable_db["engine"], writable_db["lead_team"], writable_db["url"]
    helper = _other_helper(eng, team)
    # the data reach this week first (the week's first check-in moves every figure's week)
    checkin.save_checkin(eng, helper, ANSWERS)
    _fresh_process()
    _open_review(eng)
    common._wait_warm(url)                   # the whole read is stored after the page is shown
    checkin.save_checkin(eng, helper, ANSWERS, submitted_at=common.now() - pd.Timedelta(hours=1))
    _fresh_process()        # (after the first process brought its review up to date)
    asked = []
    real = frames.scores_by_week
    monkeypatch.setattr(frames, "scores_by_week",
                        lambda *a, helper_ids=None, **k: asked.append(helper_ids) or real(*a, helper_ids=helper_ids, **k))
    started = _shown(_open_review(eng))
    common._wait_warm(url)
    roster = frames.roster(eng)
    their_team = roster.loc[roster["helper_id"] == helper, "team"].iloc[0]
    assert [set(ids) for ids in asked] == [set(roster.loc[roster["team"] == their_team, "helper_id"])]
    # a process with nothing kept to start from reads everything, and shows the same
    monkeypatch.setattr(views_data, "stored_read", lambda *a, **k: None)
    _fresh_process()
    assert _shown(_open_review(eng)) == started
    assert asked[1:] == [None]


def test_a_fresh_process_after_a_check_in_audits_only_what_the_check_in_changed(writable_db, monkeypatch):
    """The audit stored is of the state before a check-in: a fresh process's lead page and HR
    review put its plan's column audits in their cache (release_store.seed) and audit only
    the columns whose counts the check-in changed, and show exactly what a process that
    audits everything shows."""
    from burnout import audit_cache, privacy
    from burnout.views import tables

    eng, team, url = writable_db["engine"], writable_db["lead_team"], writable_db["url"]
    # nothing of the tests before in this process's caches: the week blocks are kept by their
    # content, and an earlier test's copy of the demo, with the same check-ins, has the same
    # blocks as this state's (the preparing keeps every block the process holds)
    audit_cache.clear()
    disclosure._PLANS.clear()
    tables._WEEKS.clear()
    checkin.save_checkin(eng, _other_helper(eng, team), ANSWERS)
    assert release_store.prepare(eng) == [MEASURE]
    r = frames.roster(eng)
    second = r.loc[r["end_date"].isna() & (r["team"] != team), "helper_id"].iloc[1]      # not in this week yet
    checkin.save_checkin(eng, second, ANSWERS)
    calls, weeks = [], []
    real = privacy.audit_atoms
    monkeypatch.setattr(privacy, "audit_atoms", lambda *a, **k: calls.append(1) or real(*a, **k))
    real_frame = tables.WeekRows.frame        # the weeks by_week suppresses (those not cached)
    monkeypatch.setattr(tables.WeekRows, "frame", lambda self, which: weeks.append(len(which)) or real_frame(self, which))

    def fresh():
        _fresh_process()
        audit_cache.clear()
        disclosure._PLANS.clear()
        tables._WEEKS.clear()
        del calls[:], weeks[:]

    def forget_audits():          # the audits the pages store for this state
        with eng.begin() as conn:
            conn.execute(s.prepared_results.delete().where(s.prepared_results.c.name.like("release_audit:%")))

    fresh()
    review = _shown(_open_review(eng))
    common._wait_warm(url)
    seeded_review, review_weeks = len(calls), sum(weeks)
    fresh()
    lead = chart_specs(open_team_page(eng, "demo-lead"))
    common._wait_warm(url)
    seeded_lead, lead_weeks = len(calls), sum(weeks)
    # the same pages in processes with nothing to start from
    monkeypatch.setattr(release_store, "seed", lambda *a, **k: 0)
    monkeypatch.setattr(release_store, "seed_weeks", lambda *a, **k: 0)
    forget_audits()
    fresh()
    assert chart_specs(open_team_page(eng, "demo-lead")) == lead
    common._wait_warm(url)
    cold, cold_weeks = len(calls), sum(weeks)
    forget_audits()
    fresh()
    assert _shown(_open_review(eng)) == review
    assert 0 < seeded_lead <= cold / 4 and 0 < seeded_review <= cold / 4, (seeded_lead, seeded_review, cold)
    # the week blocks the preparing kept: only the week the check-in fell in is suppressed again
    # (one per weekly table), where a process with nothing kept suppresses every week
    assert cold_weeks >= 20 and 0 < lead_weeks <= 3 and 0 < review_weeks <= 3, (lead_weeks, review_weeks, cold_weeks)


def test_text_arrays_are_stored_as_codes_and_read_back_equal(writable_db):
    """An array of text is stored as each distinct text once and a code per cell (a fresh
    process's first lead page unpickled 1.9 M helper-id cells one by one): frames, indexes and
    bare arrays of text, in either memory order, read back equal, of the same types and
    layout; arrays holding anything but text (None, NaN, numbers that equal each other,
    text subclasses) are stored as they were, every cell of its own type."""
    import numpy as np

    eng = writable_db["engine"]
    ids = np.array([f"H{i % 997:05d}" for i in range(60_000)], dtype=object)
    grid = ids.reshape(300, 200)
    obj = {
        "frame": pd.DataFrame({"helper_id": ids, "team": ids[::-1].copy(), "v": np.arange(60_000.0)},
                              index=pd.Index(ids, name="who")),
        "c": grid.copy(order="C"), "f": np.asfortranarray(grid), "short": np.array(["a", "b"], dtype=object),
        "mixed": np.array([*["x"] * 100, None, float("nan"), 1, 1.0, True, "1", np.str_("x")], dtype=object),
        "empty": np.array([], dtype=object),
    }
    buf = io.BytesIO()
    prepared._Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj["frame"]["helper_id"].to_numpy())
    texts = [op for op, arg, _ in pickletools.genops(buf.getvalue()) if "UNICODE" in op.name]
    assert len(texts) <= 997 + 20, len(texts)    # each distinct text once (and a few names), not 60,000 cells
    assert prepared.save(eng, "texts", "k", obj)
    back = prepared.load(eng, "texts", "k", dict)
    pd.testing.assert_frame_equal(back["frame"], obj["frame"])
    assert back["frame"].index.dtype == object and back["frame"]["helper_id"].dtype == object
    for name in ("c", "f", "short", "empty"):
        assert back[name].dtype == object and back[name].shape == obj[name].shape
        assert back[name].tolist() == obj[name].tolist()
    assert back["f"].flags.f_contiguous and back["c"].flags.c_contiguous
    assert [type(v) for v in back["mixed"]] == [type(v) for v in obj["mixed"]]
    assert back["mixed"][100] is None and back["mixed"][101] != back["mixed"][101]
    assert back["mixed"][102:107].tolist() == [1, 1.0, True, "1", "x"]


def test_a_plan_read_back_keeps_its_verdicts_under_its_own_objects(writable_db, monkeypatch):
    """A column audit's verdicts are memoised under the id() of its atoms; ids mean nothing in
    another process, where new atoms may get an old id.  A stored plan carries its verdicts by
    column and, read back, keys them on the ids of its own atoms: it answers every verdict the
    plan it was made from gives without asking any again, and never under a stale id."""
    eng, team = writable_db["engine"], writable_db["lead_team"]
    plan = team_views.org_audit(load_review_data(eng, with_model=False), MEASURE).plan
    plans = [*plan.windows.values(), *plan.weeks, *plan.blocks, plan.roster]
    roster = frames.roster(eng)
    conds = [{"team": t} for t in sorted(set(roster["team"].dropna().astype(str)))] + \
        [{"team": team, "role": r} for r in sorted(set(roster["role"].dropna().astype(str)))]
    cols = sorted(plan.status)
    asked = [plan.allows(c, d) for c in cols for d in conds]
    assert any(p._allowed for p in plans) and not all(asked) and any(asked)
    back = pickle.loads(pickle.dumps(plan))
    back_plans = [*back.windows.values(), *back.weeks, *back.blocks, back.roster]
    for old, new in zip(plans, back_plans):
        assert len(new._allowed) == len(old._allowed)
        own = {id(a) for a in new._atoms.values()}
        assert {aid for aid, _ in new._allowed} <= own
        assert not {aid for aid, _ in new._allowed} & {id(a) for a in old._atoms.values()}

    def asked_again(*a, **k):
        raise AssertionError("a verdict the stored plan held was asked again")
    monkeypatch.setattr(privacy.Plan, "_verdict", asked_again)
    assert [back.allows(c, d) for c in cols for d in conds] == asked
    monkeypatch.undo()
    # a plan read back with another column's atoms at a freed id still answers by its own columns
    fresh = pickle.loads(pickle.dumps(plan))
    assert [fresh.allows(c, d) for c in reversed(cols) for d in conds] == \
        [plan.allows(c, d) for c in reversed(cols) for d in conds]
    assert any(p._allowed for p in plans), "the plan itself keeps its verdicts"


def test_postgresql_stores_the_audit_and_concurrent_saves_leave_one(pg_url, demo_files):
    r = run_cli("import", "--roster", str(demo_files["roster"]), "--surveys", str(demo_files["surveys"]),
                "--caseload", str(demo_files["caseload"]), env={"BURNOUT_DATABASE_URL": pg_url})
    assert r.returncode == 0, r.stderr
    from burnout.store import get_engine
    eng = get_engine(pg_url)
    assert eng.dialect.name == "postgresql"
    key = release_store.data_key(eng)
    stored = release_store.load(eng, MEASURE, key)
    assert stored is not None
    made = team_views.org_audit(load_review_data(eng, with_model=False), MEASURE)
    teams = sorted(set(frames.roster(eng)["team"].dropna().astype(str)))
    assert [stored.verdicts(t) for t in teams] == [made.verdicts(t) for t in teams]
    # several dashboard processes storing the same state at once: none fails, one row is left
    results = []
    threads = [threading.Thread(target=lambda: results.append(release_store.save(eng, MEASURE, key, made)))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and any(results)
    with eng.connect() as conn:
        names = sorted(conn.execute(select(s.prepared_results.c.name)).scalars().all())
    # one audit row, the latest plan and week blocks (release_store.seed, seed_weeks), the
    # import's review read (views.data.store_read) and the leaving model fitted on it
    assert names == sorted([release_store.name_of(MEASURE), release_store.LATEST_PLAN, release_store.LATEST_WEEKS,
                            STORED_READ, views_data.LEAVING_MODEL])
    assert release_store.load(eng, MEASURE, key) is not None


def test_the_leaving_model_is_fitted_once_and_read_by_a_fresh_process(writable_db, monkeypatch):
    from burnout import leaving
    eng = writable_db["engine"]
    views_data._FITS.clear()
    data = load_review_data(eng, with_model=False)
    fitted = views_data.leaving_model_for(eng, data)
    # a fresh process: nothing in memory, the stored fit is read, not refitted
    views_data._FITS.clear()
    monkeypatch.setattr(leaving, "leaving_model", lambda *a, **k: pytest.fail("refitted"))
    read = views_data.leaving_model_for(eng, data)
    assert read is not fitted
    assert read.to_dict() == fitted.to_dict()
    assert read.describe() == fitted.describe()
    pd.testing.assert_frame_equal(read.table(), fitted.table())
    # a change it is fitted on (here the settings) is another key: fitted again
    views_data._FITS.clear()
    other = dataclasses.replace(data, settings=dataclasses.replace(data.settings, min_group_size=7))
    with pytest.raises(pytest.fail.Exception):
        views_data.leaving_model_for(eng, other)


def test_the_import_prepares_the_leaving_model_so_no_review_fits_it(writable_db, monkeypatch):
    """The import's preparing (release_store.prepare) fits and stores the leaving model: the HR
    review's first open and the ``risk`` command of a fresh process read it, the same model."""
    from burnout import leaving
    eng = writable_db["engine"]
    fitted = load_data(eng).leaving_model            # a fit on the whole read's frames
    with eng.connect() as conn:
        assert views_data.LEAVING_MODEL not in conn.execute(select(s.prepared_results.c.name)).scalars().all()
    views_data._FITS.clear()
    assert release_store.prepare(eng) == [MEASURE]
    views_data._FITS.clear()                         # a fresh process
    monkeypatch.setattr(leaving, "leaving_model", lambda *a, **k: pytest.fail("fitted by a page"))
    read = views_data.leaving_model_for(eng, load_review_data(eng, with_model=False))
    assert read.to_dict() == fitted.to_dict() and read.describe() == fitted.describe()


def test_at_the_size_of_a_health_system_a_worker_process_fits_the_model_beside_the_audits(writable_db,
                                                                                         monkeypatch,
                                                                                         spawnable_main):
    """From workers.MIN_HELPERS helpers the preparing fits the leaving model in a worker process
    while it audits: this process fits nothing, and the model a fresh process reads is the one
    a fit here gives."""
    from burnout import leaving, workers
    eng = writable_db["engine"]
    fitted = load_data(eng).leaving_model
    views_data._FITS.clear()
    monkeypatch.setattr(workers, "MIN_HELPERS", 0)
    assert workers.can_spawn()
    monkeypatch.setattr(leaving, "leaving_model", lambda *a, **k: pytest.fail("fitted in the preparing's process"))
    assert release_store.prepare(eng) == [MEASURE]
    views_data._FITS.clear()                         # a fresh process
    read = views_data.leaving_model_for(eng, load_review_data(eng, with_model=False))
    assert read.to_dict() == fitted.to_dict() and read.describe() == fitted.describe()


def _without_verdicts(plan):
    """``plan`` with none of the verdicts asked of it kept (a stored plan carries them)."""
    for p in [*plan.windows.values(), *plan.weeks, *plan.blocks, plan.roster]:
        if p is not None:
            p._allowed.clear()
    return plan


def test_weeks_with_the_same_audits_share_their_verdicts(writable_db, monkeypatch):
    """A weekly table's gate asks the plan about a group once for all the weeks whose cells rest
    on the same audits (every week older than the audited ones rests on the roster's alone), and
    the verdicts equal allows_cell asked week by week on a plan with nothing kept."""
    eng = writable_db["engine"]
    data = load_review_data(eng, with_model=False)
    plan = team_views.org_audit(data, MEASURE).plan
    roster = frames.roster(eng)
    teams = sorted(set(roster["team"].dropna().astype(str)))
    old = [plan.last_week - pd.Timedelta(weeks=len(plan.weeks) + k) for k in range(30)]
    audited = [plan.last_week - pd.Timedelta(weeks=k) for k in range(len(plan.weeks))]
    for column in (MEASURE, "risk_score"):
        copy = _without_verdicts(pickle.loads(pickle.dumps(plan)))
        gate = disclosure.cell_gate(copy, "team", column)
        asked: list = []
        real = type(gate_plan := plan).allows_cell_each

        def counting(self, column, fixed, dim, values, week, span=1, real=real):
            asked.append((week, len(values)))
            return real(self, column, fixed, dim, values, week, span)
        monkeypatch.setattr(disclosure.JointPlan, "allows_cell_each", counting)
        got = {week: gate.each([*teams, privacy.TOTAL], week) for week in [*old, *audited]}
        monkeypatch.undo()
        # the suppression then asks the gate cell by cell: every team's cell is answered already
        def asked_again(*a, **k):
            raise AssertionError("a cell's verdict was asked of the plan again")
        monkeypatch.setattr(disclosure.JointPlan, "allows_cell", asked_again)
        assert all([gate((t, week)) for t in teams] == got[week][:-1] for week in got)
        monkeypatch.undo()
        asked_old = [n for week, n in asked if week in old]
        assert sum(asked_old) == len(teams), asked_old          # each team once for all 30 old weeks
        # and once per distinct audits among the audited weeks (a weekly measure: each its own)
        distinct = {tuple(map(id, copy.cell_audits(column, week))) for week in audited} - \
            {tuple(map(id, copy.cell_audits(column, old[0])))}
        assert len([1 for week, _ in asked if week in audited]) == len(distinct)
        assert len(distinct) == (len(audited) if column in plan.weekly else 0), (column, len(distinct))
        one = _without_verdicts(pickle.loads(pickle.dumps(gate_plan)))
        for week, verdicts in got.items():
            want = [None if one.allows_cell(column, {"team": t}, week) else privacy.COMPLEMENTARY for t in teams]
            assert verdicts[:-1] == want, (column, week)
        assert any(v is None for v in got[old[0]]) and any(v is not None for vs in got.values() for v in vs)


@pytest.mark.parametrize("fixed", [{}, {"site": "__first__"}, {"team": "__lead__"}])
def test_verdicts_asked_for_every_group_at_once_equal_those_asked_one_by_one(writable_db, fixed):
    """A weekly table asks each week's audit about every team at once (JointPlan.allows_cell_each,
    privacy.Plan.allows_each): for every audited week, a week no audit knows, each column, by team
    and by role, and under a fixed narrowing, the verdicts equal allows_cell asked one group at a
    time, each on a fresh copy of the plan (no verdict kept from the other way of asking); so do
    the roll-ups' (JointPlan.allows_each against allows) in every window."""
    eng, team = writable_db["engine"], writable_db["lead_team"]
    plan = team_views.org_audit(load_review_data(eng, with_model=False), MEASURE).plan
    roster = frames.roster(eng)
    if fixed.get("site") == "__first__":
        fixed = {"site": [sorted(set(roster["site"].dropna().astype(str)))[0]]}
    elif fixed.get("team") == "__lead__":
        fixed = {"team": team}
    fresh = lambda: _without_verdicts(pickle.loads(pickle.dumps(plan)))      # noqa: E731
    weeks = [plan.last_week - pd.Timedelta(weeks=k) for k in range(len(plan.weeks) + 1)] + [pd.Timestamp("2001-01-01")]
    asked, seen = 0, set()
    for dim in ("team", "role"):
        if dim in fixed:
            continue
        values = sorted(set(roster[dim].dropna().astype(str))) + ["no such group"]
        for column in sorted({*plan.status, *plan.weekly, *plan.blocked}):
            one, each = fresh(), fresh()
            for week in weeks:
                for span in (1, disclosure.BLOCK_WEEKS):
                    single = [one.allows_cell(column, {**fixed, dim: v}, week, span) for v in values]
                    assert each.allows_cell_each(column, fixed, dim, values, week, span) == single, (column, week)
                    asked += len(values)
                    seen.update(single)
            # the roll-ups' verdicts (JointPlan.allows_each): every window, and the counts of who answered
            for c in (column, disclosure.count_of(column)):
                for window in sorted(plan.windows):
                    single = [one.allows(c, {**fixed, dim: v}, window) for v in values]
                    assert each.allows_each(c, fixed, dim, values, window) == single, (c, window)
                    asked += len(values)
                    seen.update(single)
    assert asked > 1000 and seen == {True, False}


def test_a_stored_result_reads_back_whole_from_a_stream_of_small_pieces(writable_db, monkeypatch):
    """Results are compressed as they are pickled and decompressed as they are unpickled (the
    whole pickle is never held beside its objects, prepared._Deflating/_Inflating): arrays many
    times larger than one piece of the stream, text and a frame come back equal, the payload is
    the one-shot ``zlib.compress(<the pickle>, 1)``, and a cut or damaged stream reads as nothing."""
    import numpy as np

    eng = writable_db["engine"]
    rng = np.random.default_rng(5)
    obj = {"zeros": np.zeros(3_000_000), "noise": rng.normal(size=700_000), "text": "é" * 100_000,
           "frame": pd.DataFrame({"h": [f"H{i:05d}" for i in range(50_000)], "v": rng.normal(size=50_000)})}
    assert prepared.save(eng, "probe", "k", obj)
    with eng.connect() as conn:
        payload = conn.execute(select(s.prepared_results.c.payload)).scalar()
    whole = io.BytesIO()
    prepared._Pickler(whole, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    assert payload == zlib.compress(whole.getvalue(), 1)
    back = prepared.load(eng, "probe", "k", dict)
    assert np.array_equal(back["zeros"], obj["zeros"]) and np.array_equal(back["noise"], obj["noise"])
    assert back["text"] == obj["text"]
    pd.testing.assert_frame_equal(back["frame"], obj["frame"])
    mid = len(payload) * 3 // 5
    for damaged in (payload[: len(payload) // 2],                                 # cut
                    payload[:-4] + bytes(b ^ 0xFF for b in payload[-4:]),          # its checksum
                    payload[:mid] + bytes([payload[mid] ^ 0x55]) + payload[mid + 1:]):  # one byte of the noise
        with eng.begin() as conn:
            conn.execute(update(s.prepared_results).values(payload=damaged))
        assert prepared.load(eng, "probe", "k", dict) is None
