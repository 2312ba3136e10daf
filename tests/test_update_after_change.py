"""What a dashboard process showed lately is brought up to date when data arrive
(issue #12: work is done once, when data arrive): right after a check-in's helper weeks
are stored, the process works out the pages opened in the last IN_USE_SECONDS for the
new state, in the background, so the next lead or HR reviewer who reruns a page reads
them instead of waiting (ui/common.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

from burnout import checkin, materialise
from burnout.store import frames, get_engine
from burnout.ui import common
from burnout.views import team as team_views
from test_release_store import ANSWERS, _fresh_process, _open_review, _other_helper, _shown
from test_team_page_cache import chart_specs, open_team_page
from conftest import ROOT


def _counting(monkeypatch, calls: list) -> None:
    """Each working-out of the organisation's figures, by name: its read, its audit, the review."""
    for mod, name in ((team_views, "org_audit"), (common, "review_base"), (common, "load_review_data")):
        real = getattr(mod, name)
        monkeypatch.setattr(mod, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))


def test_pages_shown_lately_are_up_to_date_right_after_a_check_in(writable_db, monkeypatch):
    eng, team = writable_db["engine"], writable_db["lead_team"]
    lead, hr = open_team_page(eng, "demo-lead"), _open_review(eng)
    common.wait_for_updates()
    calls: list[str] = []
    _counting(monkeypatch, calls)
    before = common.org_key()

    checkin.save_checkin(eng, _other_helper(eng, team), ANSWERS)
    materialise.settle(eng)
    common.wait_for_updates()
    assert common.org_key() != before
    # the process worked the new state out once, after the refresh, before anyone asked
    assert sorted(set(calls)) == ["load_review_data", "org_audit", "review_base"]
    assert calls.count("review_base") == 1
    del calls[:]
    lead.run()
    hr.run()
    assert not lead.exception and not hr.exception
    assert calls == []              # the pages read what the update made

    # and it is what a process holding nothing shows for the new state
    shown = (_shown(lead), _shown(hr))
    _fresh_process()
    assert (_shown(open_team_page(eng, "demo-lead")), _shown(_open_review(eng))) == shown


_real_update = common._update


def _helpers_elsewhere(engine, team: str) -> list[str]:
    r = frames.roster(engine)
    return [str(h) for h in r[r["end_date"].isna() & (r["team"] != team)]["helper_id"]]


def test_nothing_is_updated_when_no_page_of_the_database_is_in_use(writable_db, tmp_path, monkeypatch):
    eng, team = writable_db["engine"], writable_db["lead_team"]
    others = iter(_helpers_elsewhere(eng, team))
    started: list[str] = []
    monkeypatch.setattr(common, "_update", lambda url: started.append(url) or common._UPDATING.pop(url))
    common.stop_updates()
    checkin.save_checkin(eng, next(others), ANSWERS)
    materialise.settle(eng)
    assert started == []

    open_team_page(eng, "demo-lead")
    # a refresh of another database than the pages' one starts nothing
    common._after_refresh(get_engine(f"sqlite:///{tmp_path / 'other.db'}"))
    assert started == []
    checkin.save_checkin(eng, next(others), ANSWERS)
    materialise.settle(eng)
    common.wait_for_updates()
    assert started == [writable_db["url"]]

    # a page last opened longer ago than IN_USE_SECONDS is not kept up to date (only the leads'
    # opening audit, which a process holding the frames keeps for every process)
    monkeypatch.setattr(common, "_update", _real_update)
    monkeypatch.setattr(common, "IN_USE_SECONDS", 0.0)
    calls: list[str] = []
    _counting(monkeypatch, calls)
    drawn = common._SHOWN[(writable_db["url"], team, "pulse_strain")][2]
    checkin.save_checkin(eng, next(others), ANSWERS)
    materialise.settle(eng)
    common.wait_for_updates()
    assert "review_base" not in calls
    assert common._SHOWN[(writable_db["url"], team, "pulse_strain")][2] is drawn


def test_check_ins_during_an_update_take_one_more_pass_and_a_failure_stops_nothing(writable_db):
    """One more pass for all refreshes during a pass, after a pause as long as it; the page
    used last comes first; a page that fails stops no other; a page not used for
    IN_USE_SECONDS is left."""
    eng, url = writable_db["engine"], writable_db["url"]
    common.stop_updates()
    release, passes, failures, order = threading.Event(), [], [], []

    def slow():
        order.append("slow")
        passes.append(time.monotonic())
        common._in_use(("test", url, "made by the update"), lambda: None)     # no one's use
        if len(passes) == 1:
            release.wait(30)

    def failing():
        order.append("failing")
        failures.append(1)
        raise RuntimeError("a page that cannot be worked out")

    common._in_use(("test", url, "failing"), failing)
    common._in_use(("test", url, "slow"), slow)
    common._in_use(("test", url, "old"), lambda: passes.append("old"))
    common._IN_USE[("test", url, "old")] = (time.monotonic() - common.IN_USE_SECONDS - 1,
                                            common._IN_USE[("test", url, "old")][1])
    common._after_refresh(eng)
    deadline = time.monotonic() + 30
    while not passes and time.monotonic() < deadline:     # the first pass is under way
        time.sleep(0.01)
    for _ in range(3):          # three more refreshes while it works: one more pass for them all
        common._after_refresh(eng)
    time.sleep(0.3)
    release_at = time.monotonic()
    release.set()
    common.wait_for_updates(url)
    assert len(passes) == 2 and "old" not in passes
    # the second pass waited as long as the first took: the update has at most half the time
    assert passes[1] - release_at >= 0.99 * (release_at - passes[0]) >= 0.29
    assert failures == [1, 1]
    assert order == ["slow", "failing"] * 2        # the page used last first
    assert ("test", url, "made by the update") not in common._IN_USE
    assert url not in common._UPDATING


def test_a_change_another_process_stored_is_picked_up_by_looking_at_the_counters(writable_db, monkeypatch):
    """Several processes on one database: a check-in saved by another process reaches no
    listener here; while a page is in use, a thread looks at the change counters every
    POLL_SECONDS and starts the same update.  It ends when nothing is in use."""
    eng, team, url = writable_db["engine"], writable_db["lead_team"], writable_db["url"]
    monkeypatch.setattr(common, "POLL_SECONDS", 0.2)
    common.stop_updates()
    lead = open_team_page(eng, "demo-lead")
    calls: list[str] = []
    _counting(monkeypatch, calls)
    time.sleep(1.0)
    assert calls == []          # no change: the counters are looked at, nothing is worked out
    code = ("import sys; from burnout import checkin; from burnout.store import get_engine; "
            f"checkin.save_checkin(get_engine(sys.argv[1]), sys.argv[2], {ANSWERS!r})")
    subprocess.run([sys.executable, "-c", code, url, _other_helper(eng, team)], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    deadline = time.monotonic() + 60
    while "org_audit" not in calls and time.monotonic() < deadline:
        time.sleep(0.1)
    common.wait_for_updates()
    assert "org_audit" in calls and "load_review_data" in calls
    del calls[:]
    lead.run()
    assert not lead.exception and calls == []      # the page reads what the update made

    pollers = [t for t in threading.enumerate() if t.name == "burnout-poll"]
    assert pollers
    common.stop_updates()
    for t in pollers:           # every polling thread of the process ends at once
        t.join(5)
    assert not [t for t in threading.enumerate() if t.name == "burnout-poll"]


MEANWHILE = "Until then this page shows the figures from before"


def _infos(at) -> list[str]:
    return [str(el.value) for el in at.info]


def _held_in_update(monkeypatch, module, name: str) -> tuple[threading.Event, threading.Event]:
    """``module.name`` held in the update thread until ``gate`` is set; ``waiting`` is set
    once the update reached it (the test then knows an update is under way)."""
    gate, waiting = threading.Event(), threading.Event()
    real = getattr(module, name)

    def held(*a, **k):
        if threading.current_thread().name == "burnout-update":
            waiting.set()
            assert gate.wait(60)
        return real(*a, **k)
    monkeypatch.setattr(module, name, held)
    return gate, waiting


def _week_turns(eng, team: str) -> None:
    """A check-in in the lead's own team that is the week's first: every figure's week moves."""
    r = frames.roster(eng)
    before = common.whole_key()
    checkin.save_checkin(eng, str(r[r["end_date"].isna() & (r["team"] == team)]["helper_id"].iloc[0]), ANSWERS)
    materialise.settle(eng)
    assert common.whole_key() != before, "the demo's data should end before this week"


def test_a_change_of_every_figure_shows_the_page_from_before_until_the_new_one_is_ready(writable_db, monkeypatch):
    """The week's first check-in moves every team's week, and the organisation's audit is made
    anew (40 s at ten thousand helpers): meanwhile a lead's rerun is shown the page the process
    showed before, at once, saying so, and the new page once the update has made it."""
    eng, team = writable_db["engine"], writable_db["lead_team"]
    common.stop_updates()
    lead = open_team_page(eng, "demo-lead")
    common.wait_for_updates()
    before, before_infos = _shown(lead), _infos(lead)
    assert not any(MEANWHILE in i for i in before_infos)

    gate, waiting = _held_in_update(monkeypatch, team_views, "org_audit")
    _week_turns(eng, team)
    assert waiting.wait(60)             # the update of the page in use is under way

    started = time.monotonic()
    lead.run()
    assert not lead.exception, [e.value for e in lead.exception]
    assert time.monotonic() - started < 30          # it did not wait for the audit
    assert any(MEANWHILE in i for i in _infos(lead))
    assert _shown(lead) == before                    # exactly what was shown: nothing new released
    assert [i for i in _infos(lead) if MEANWHILE not in i] == before_infos
    assert not common.team_page_ready(writable_db["url"], team, "pulse_strain")

    gate.set()
    common.wait_for_updates()
    assert common.team_page_ready(writable_db["url"], team, "pulse_strain")
    lead.run()
    assert not lead.exception
    now_infos = _infos(lead)
    assert not any(MEANWHILE in i for i in now_infos)
    assert now_infos != before_infos                 # the data now reach this week
    shown = _shown(lead)
    _fresh_process()
    assert _shown(open_team_page(eng, "demo-lead")) == shown      # the new state's page


def test_a_page_shown_meanwhile_whose_update_ends_without_it_works_it_out_itself(writable_db, monkeypatch):
    """An update that ended without making the new page (it failed) is not waited for again:
    the page works it out itself, in the same run, so the page from before is never left showing."""
    eng, team = writable_db["engine"], writable_db["lead_team"]
    common.stop_updates()
    lead = open_team_page(eng, "demo-lead")
    common.wait_for_updates()
    before_infos = _infos(lead)
    started: list[str] = []
    monkeypatch.setattr(common, "_update", lambda url: started.append(url) or common._UPDATING.pop(url))
    _week_turns(eng, team)
    lead.run()
    assert not lead.exception
    assert started                    # an update was started for the page, and ended without it
    infos = _infos(lead)
    assert not any(MEANWHILE in i for i in infos) and infos != before_infos
    shown = _shown(lead)
    _fresh_process()
    assert _shown(open_team_page(eng, "demo-lead")) == shown


def test_the_hr_review_too_shows_the_figures_from_before_until_the_new_ones_are_ready(writable_db, monkeypatch):
    eng, team, url = writable_db["engine"], writable_db["lead_team"], writable_db["url"]
    common.stop_updates()
    hr = _open_review(eng)
    common.wait_for_updates()
    before, before_infos = _shown(hr), _infos(hr)
    before_key = common._SHOWN_REVIEW[url][1]
    gate, waiting = _held_in_update(monkeypatch, common, "review_base")
    _week_turns(eng, team)
    assert waiting.wait(60)

    started = time.monotonic()
    hr.run()
    assert not hr.exception, [e.value for e in hr.exception]
    assert time.monotonic() - started < 30
    assert any(MEANWHILE in i for i in _infos(hr))
    assert _shown(hr) == before
    assert not common.review_ready(url, common._SHOWN_REVIEW[url][1])

    gate.set()
    common.wait_for_updates()
    assert common.review_ready(url, before_key)
    hr.run()
    assert not hr.exception
    infos = _infos(hr)
    assert not any(MEANWHILE in i for i in infos) and infos != before_infos
    shown = _shown(hr)
    _fresh_process()
    assert _shown(_open_review(eng)) == shown


def test_a_change_of_every_figure_is_worked_out_for_every_process_with_no_page_in_use(writable_db, monkeypatch):
    """The week's first check-in or new settings change every figure: the process that stores
    the change works out the leads' opening audit and the HR review's leaving model in the
    background, even with no page in use, and stores them; a fresh process's first lead and
    HR opens then read them instead of auditing and fitting (40 s and 30 s at L)."""
    from burnout import leaving, release_store
    from burnout.store import settings as saved_settings
    from burnout.views import data as data_mod

    eng, team = writable_db["engine"], writable_db["lead_team"]
    others = iter(_helpers_elsewhere(eng, team))
    common.stop_updates()
    on_pages: list[str] = []
    real_audit = team_views.org_audit

    def audit_counted(*a, **k):
        if not threading.current_thread().name.startswith("burnout-"):     # a page's own work
            on_pages.append("org_audit")
        return real_audit(*a, **k)
    monkeypatch.setattr(team_views, "org_audit", audit_counted)
    fits: list[int] = []
    real_fit = leaving.leaving_model
    monkeypatch.setattr(leaving, "leaving_model", lambda *a, **k: fits.append(1) or real_fit(*a, **k))

    checkin.save_checkin(eng, next(others), ANSWERS)
    materialise.settle(eng)
    common.wait_for_updates()
    assert fits == [] and common._UPDATING == {}    # a process's first refresh only notes the state

    saved_settings.save(eng, {"relative_risk": 2.5}, actor="admin")
    checkin.save_checkin(eng, next(others), ANSWERS)
    materialise.settle(eng)
    common.wait_for_updates()
    assert fits == [1]                               # fitted once, in the background
    assert release_store.load(eng, release_store.OPENING_MEASURE, common.org_key()) is not None
    from burnout.store import prepared
    assert prepared.load(eng, release_store.LATEST_WEEKS, "", list)     # the HR review's weeks

    _fresh_process()
    data_mod._FITS.clear()
    open_team_page(eng, "demo-lead")
    _open_review(eng)
    assert on_pages == [] and fits == [1]            # read, not worked out again


def test_the_hr_review_shows_the_one_made_last_while_the_update_adds_check_ins(writable_db, monkeypatch):
    """The HR review's update after a check-in takes seconds at ten thousand helpers: a click
    meanwhile shows the review made last, saying so, instead of waiting; the page reruns itself
    when the update has made the new one, which is what a fresh process shows."""
    eng, team, url = writable_db["engine"], writable_db["lead_team"], writable_db["url"]
    others = iter(_helpers_elsewhere(eng, team))
    common.stop_updates()
    hr = _open_review(eng)
    checkin.save_checkin(eng, next(others), ANSWERS)      # the week's first: every figure moves
    materialise.settle(eng)
    common.wait_for_updates()
    hr.run()
    assert not any(MEANWHILE in i for i in _infos(hr))
    before, made = _shown(hr), common._SHOWN_REVIEW[url][1]
    whole = common.whole_key()

    gate, waiting = _held_in_update(monkeypatch, common, "review_base")
    checkin.save_checkin(eng, next(others), ANSWERS)      # one more in the same week
    materialise.settle(eng)
    assert common.whole_key() == whole and common.org_key() != made
    assert waiting.wait(60)
    hr.run()
    assert not hr.exception, [e.value for e in hr.exception]
    assert any(MEANWHILE in i for i in _infos(hr)) and _shown(hr) == before
    assert not common.review_ready(url, made)

    gate.set()
    common.wait_for_updates()
    assert common.review_ready(url, made)
    hr.run()
    assert not any(MEANWHILE in i for i in _infos(hr))
    shown = _shown(hr)
    assert shown != before                       # one more check-in counted
    _fresh_process()
    assert _shown(_open_review(eng)) == shown


def _page_text(at) -> str:
    return " ".join([*(str(el.value) for el in at.markdown), *_infos(at),
                     *(df.value.to_csv() for df in at.dataframe),
                     *(json.dumps(spec) for spec in chart_specs(at))])


def test_no_page_from_before_shows_a_helper_who_stopped_sharing_or_was_erased(writable_db, monkeypatch):
    """Attack: the page from before still names a helper who has just withdrawn their consent,
    and the review from before still counts a helper whose data were just erased.  Neither is
    shown meanwhile: the page is made anew for the state after (it waits for it, as before)."""
    from burnout import selfservice

    eng, team = writable_db["engine"], writable_db["lead_team"]
    common.stop_updates()
    lead, hr = open_team_page(eng, "demo-lead"), _open_review(eng)
    common.wait_for_updates()
    r = frames.roster(eng)
    sharing = r[r["end_date"].isna() & (r["team"] == team) & r["consent_lead_view"]]
    hid, name = str(sharing["helper_id"].iloc[0]), str(sharing["name"].iloc[0])
    assert name in _page_text(lead)

    gate, waiting = _held_in_update(monkeypatch, team_views, "org_audit")
    _week_turns(eng, team)
    assert waiting.wait(60)
    selfservice.set_consent(eng, hid, False, actor=hid)
    release = threading.Timer(1.0, gate.set)      # the page waits for the state after
    release.start()
    lead.run()
    release.join()
    assert not lead.exception, [e.value for e in lead.exception]
    assert not any(MEANWHILE in i for i in _infos(lead))
    assert name not in _page_text(lead)
    common.wait_for_updates()

    # the HR review made before an erasure is not shown meanwhile either
    hr.run()
    common.wait_for_updates()
    gate, waiting = _held_in_update(monkeypatch, common, "review_base")
    checkin.save_checkin(eng, _helpers_elsewhere(eng, team)[0], ANSWERS)
    materialise.settle(eng)
    assert waiting.wait(60)
    request = selfservice.request_deletion(eng, hid, actor=hid)
    selfservice.complete_deletion(eng, request, actor="admin")
    materialise.settle(eng)
    release = threading.Timer(1.0, gate.set)
    release.start()
    hr.run()
    release.join()
    assert not hr.exception, [e.value for e in hr.exception]
    assert not any(MEANWHILE in i for i in _infos(hr))
    shown = _shown(hr)
    common.wait_for_updates()
    _fresh_process()
    assert _shown(_open_review(eng)) == shown       # the review of the state after the erasure


def test_a_lead_s_page_is_not_held_by_check_ins_in_other_teams(writable_db, monkeypatch):
    """A check-in in another team leaves the team's own figures as they are; its update checks
    the organisation's verdicts on the team again (about a second at ten thousand helpers, and
    on a busy morning every click waited for it).  Meanwhile a rerun shows the page from before,
    as it is, without a note; after the update, what a fresh process shows.  A check-in in the
    lead's own team is waited for: the lead sees it counted."""
    eng, team = writable_db["engine"], writable_db["lead_team"]
    others = iter(_helpers_elsewhere(eng, team))
    common.stop_updates()
    lead = open_team_page(eng, "demo-lead")
    checkin.save_checkin(eng, next(others), ANSWERS)      # the week's first: every figure moves
    materialise.settle(eng)
    common.wait_for_updates()
    lead.run()
    assert not any(MEANWHILE in i for i in _infos(lead))
    before, before_infos, key = _shown(lead), _infos(lead), common.team_key(team)

    gate, waiting = _held_in_update(monkeypatch, team_views, "org_audit")
    checkin.save_checkin(eng, next(others), ANSWERS)      # one more, in another team
    materialise.settle(eng)
    assert common.team_key(team) == key
    assert waiting.wait(60)
    started = time.monotonic()
    lead.run()
    assert not lead.exception, [e.value for e in lead.exception]
    assert time.monotonic() - started < 30          # it did not wait for the audit
    assert _shown(lead) == before and _infos(lead) == before_infos     # nothing new, no note
    gate.set()
    common.wait_for_updates()
    lead.run()
    shown = _shown(lead)
    _fresh_process()
    assert _shown(open_team_page(eng, "demo-lead")) == shown

    # a check-in in the lead's own team is waited for
    lead = open_team_page(eng, "demo-lead")
    common.wait_for_updates()
    before = _shown(lead)
    gate, waiting = _held_in_update(monkeypatch, team_views, "org_audit")
    r = frames.roster(eng)
    own = r[r["end_date"].isna() & (r["team"] == team)]["helper_id"].astype(str)
    checkin.save_checkin(eng, own.iloc[-1], ANSWERS)
    materialise.settle(eng)
    assert waiting.wait(60) and common.team_key(team) != key
    release = threading.Timer(1.0, gate.set)
    release.start()
    started = time.monotonic()
    lead.run()
    release.join()
    assert not lead.exception, [e.value for e in lead.exception]
    assert time.monotonic() - started >= 0.9        # it waited for the state after
    assert not any(MEANWHILE in i for i in _infos(lead))
    shown = _shown(lead)
    common.wait_for_updates()
    _fresh_process()
    assert _shown(open_team_page(eng, "demo-lead")) == shown


def test_a_process_holding_the_frames_keeps_the_leads_opening_audit_for_every_process(writable_db, monkeypatch):
    """A process that holds the organisation's frames stores the leads' opening audit after a
    check-in in a week under way, with no page in use: from its frames that costs what changed
    (about a second at L), where a fresh process's first lead open worked it out from the kept
    read (4-5 s).  A process holding nothing does nothing (the test above)."""
    from burnout import release_store
    from burnout.store import schema as s

    eng, team, url = writable_db["engine"], writable_db["lead_team"], writable_db["url"]
    others = iter(_helpers_elsewhere(eng, team))
    common.stop_updates()
    checkin.save_checkin(eng, next(others), ANSWERS)      # the week's first: every figure moves
    materialise.settle(eng)
    common.wait_for_updates()
    common._org_frames(url, common.org_key())             # what a page of this process read
    assert url in common._HELD and not common._used_lately(url)

    checkin.save_checkin(eng, next(others), ANSWERS)
    materialise.settle(eng)
    common.wait_for_updates()
    key = common.org_key()
    assert release_store.load(eng, release_store.OPENING_MEASURE, key) is not None

    # a fresh process's first lead open reads it: nothing audited on the page
    _fresh_process()
    on_pages: list[str] = []
    real_audit = team_views.org_audit

    def audit_counted(*a, **k):
        if not threading.current_thread().name.startswith("burnout-"):
            on_pages.append("org_audit")
        return real_audit(*a, **k)
    monkeypatch.setattr(team_views, "org_audit", audit_counted)
    lead = open_team_page(eng, "demo-lead")
    assert not lead.exception and on_pages == []
    shown = _shown(lead)
    common.wait_for_updates()
    _fresh_process()
    with eng.begin() as conn:          # the page worked out, not read
        conn.execute(s.prepared_results.delete().where(s.prepared_results.c.name.like("release_audit:%")))
    assert _shown(open_team_page(eng, "demo-lead")) == shown       # what working it out shows


def test_the_read_a_page_process_keeps_for_the_others_holds_what_it_worked_out_from_it(writable_db, monkeypatch):
    """A page process that read the organisation whole keeps the read for the other processes
    with the week rows and people frame its audit worked out from it.  It was kept on reading,
    before them, so every other process's first lead open after a check-in worked the week
    rows out whole again (2-3 s of its 4.5 s at L)."""
    from burnout.store import prepared
    from burnout.store import schema as s
    from burnout.views import data as D
    from burnout.views import tables

    eng, team, url = writable_db["engine"], writable_db["lead_team"], writable_db["url"]
    others = iter(_helpers_elsewhere(eng, team))
    checkin.save_checkin(eng, next(others), ANSWERS)      # the week's first
    materialise.settle(eng)
    _fresh_process()
    with eng.begin() as conn:         # nothing kept: this process reads the organisation whole
        conn.execute(s.prepared_results.delete())
    open_team_page(eng, "demo-lead")
    common.wait_for_updates()
    read_at = common._HELD[url].read_at
    got = prepared.load(eng, D.STORED_READ, D._read_key(read_at), tuple)
    assert got is not None and got[0].patched is None
    assert {("week_rows", "pulse_strain"), ("people", 4)} <= set(got[1])

    # a check-in saved where nothing is held; another process's first lead open patches the rows
    _fresh_process()
    checkin.save_checkin(eng, next(others), ANSWERS)
    materialise.settle(eng)
    _fresh_process()
    D._KEPT.clear()
    whole_rows: list[int] = []
    real_of = tables.WeekRows.of.__func__
    monkeypatch.setattr(tables.WeekRows, "of", classmethod(lambda cls, *a, **k: whole_rows.append(1)
                                                           or real_of(cls, *a, **k)))
    lead = open_team_page(eng, "demo-lead")
    assert not lead.exception and whole_rows == []
    shown = _shown(lead)
    common.wait_for_updates()
    _fresh_process()
    D._KEPT.clear()
    with eng.begin() as conn:
        conn.execute(s.prepared_results.delete())
    assert _shown(open_team_page(eng, "demo-lead")) == shown      # what a whole read shows


def test_an_earlier_state_s_frames_are_let_go_once_the_new_ones_are_read(writable_db):
    """The organisation's frames are hundreds of MB at ten thousand helpers.  Once a newer state
    is read (whole after the week turns, patched after a check-in), the earlier frames serve no
    page (a page shown meanwhile keeps what it was made of): kept until the cache evicted
    them, they made the HR reviewer's process peak at 2.2-2.4 GB after a week's first check-in."""
    import gc
    import weakref

    eng, team, url = writable_db["engine"], writable_db["lead_team"], writable_db["url"]
    common.stop_updates()
    hr = _open_review(eng)
    common.wait_for_updates()
    held = weakref.ref(common._HELD[url].history)
    _week_turns(eng, team)                      # a whole read
    common.wait_for_updates()
    hr.run()
    assert not hr.exception
    gc.collect()
    assert held() is None
    held = weakref.ref(common._HELD[url].history)
    checkin.save_checkin(eng, _helpers_elsewhere(eng, team)[0], ANSWERS)     # a patched read
    materialise.settle(eng)
    common.wait_for_updates()
    hr.run()
    assert not hr.exception
    gc.collect()
    assert held() is None and common._HELD[url].history is not None


def test_a_process_holding_the_frames_refits_the_leaving_model_for_every_process(writable_db, monkeypatch):
    """A check-in dated in a completed week moves what the leaving model is fitted on: the next
    HR open in every process fitted it again (31.5 s at L).  A process holding the organisation's
    frames fits and stores it in the background, with no page in use; after an ordinary
    check-in it fits nothing (its fit is read back)."""
    import datetime as dt

    from burnout import leaving
    from burnout.domain.time import now
    from burnout.views import data as data_mod

    eng, team, url = writable_db["engine"], writable_db["lead_team"], writable_db["url"]
    others = iter(_helpers_elsewhere(eng, team))
    common.stop_updates()
    checkin.save_checkin(eng, next(others), ANSWERS)      # the week's first
    materialise.settle(eng)
    common.wait_for_updates()
    key = common.org_key()
    common.leaving_model(url, key, common._org_frames(url, key))     # what an HR page of this process read
    fits: list[int] = []
    real_fit = leaving.leaving_model
    monkeypatch.setattr(leaving, "leaving_model", lambda *a, **k: fits.append(1) or real_fit(*a, **k))

    checkin.save_checkin(eng, next(others), ANSWERS)      # an ordinary one: nothing to fit
    materialise.settle(eng)
    common.wait_for_updates()
    assert fits == []
    checkin.save_checkin(eng, next(others), ANSWERS, submitted_at=now() - dt.timedelta(days=14))
    materialise.settle(eng)
    common.wait_for_updates()
    assert fits == [1]                                     # refitted once, in the background

    _fresh_process()
    data_mod._FITS.clear()
    hr = _open_review(eng)
    assert not hr.exception and fits == [1]                # read, not fitted again
