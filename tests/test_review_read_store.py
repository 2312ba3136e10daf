"""The HR review's whole read kept in the database for every process (views.data.store_read):
a process with no read of its own starts from the kept one and reads again only the teams
whose counters moved since; its frames, and the review built from them, equal a whole
read's.  Attacks: a deletion, a new setting, a damaged row, a read
patched from the kept one, several changes in a row, a copy of the database."""
from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3

import pandas as pd
import pytest
from sqlalchemy import select, update

from burnout import checkin, materialise, release_store, selfservice
from burnout.seed import seed_demo
from burnout.store import frames, get_engine
from burnout.store import settings as saved_settings
from burnout.store.schema import prepared_results
from burnout.views import data as D
from burnout.views.review import build_review
from tests.test_review_patch import answers, assert_same_frames, assert_same_rows, reads  # noqa: F401  (reads: a fixture)
from tests.test_review_read import assert_same_review

import numpy as np


def whole(eng) -> D.OrgData:
    """A read of the whole organisation, as if nothing were kept."""
    real = D.stored_read
    D.stored_read = lambda *a, **k: None
    try:
        return D.load_review_data(eng, with_model=False)
    finally:
        D.stored_read = real


def members(eng, helper_ids) -> set:
    roster = frames.roster(eng)
    teams = set(roster.loc[roster["helper_id"].isin(helper_ids), "team"])
    return set(roster.loc[roster["team"].isin(teams), "helper_id"])


def check_in(eng, helper_ids, rng, weeks_back: int = 0) -> None:
    week = D.load_review_data(eng, with_model=False).as_of
    moment = min(dt.datetime.now(), (week + pd.Timedelta(days=7)).to_pydatetime()) - dt.timedelta(minutes=1)
    for k, hid in enumerate(helper_ids):
        checkin.save_checkin(eng, hid, answers(rng), submitted_at=moment - dt.timedelta(weeks=weeks_back, seconds=k))
    materialise.settle(eng)


def active(eng) -> list[str]:
    roster = frames.roster(eng)
    return sorted(roster.loc[roster["end_date"].isna(), "helper_id"])


@pytest.fixture()
def org(tmp_path):
    eng = get_engine(f"sqlite:///{tmp_path / 'org.db'}")
    seed_demo(eng, helpers=30, weeks=14, seed=21)
    return eng


def test_a_process_starts_from_the_kept_read_and_reads_only_the_changed_teams(org, reads):
    eng, rng = org, np.random.default_rng(3)
    first = whole(eng)
    assert D.store_read(eng, first)
    # read back at the same state: nothing is read again
    reads.clear()
    same = D.load_review_data(eng, with_model=False)
    assert reads == []
    assert_same_frames(same, first)
    # several changes in a row (this week, an answers window's week, a week read as means),
    # each read by a process holding nothing: only the teams changed since the kept read
    changed: list[str] = []
    for step, back in enumerate((0, 3, 12)):
        who = list(rng.choice(active(eng), size=2, replace=False))
        check_in(eng, who, rng, weeks_back=back)
        changed += who
        reads.clear()
        started = D.load_review_data(eng, with_model=False)
        assert reads == [members(eng, changed)], step
        fresh = whole(eng)
        assert_same_frames(started, fresh)
        # a read patched from the kept one is not kept again (it would cost each change a pickle)
        assert not D.store_read(eng, started)
    # the review built from it is the whole read's, figure for figure
    started = D.load_review_data(eng)
    assert_same_review(build_review(eng, "org", data=started), build_review(eng, "org", data=D.load_data(eng)))


def test_the_kept_read_is_not_used_where_only_a_whole_read_is_right(org, reads, tmp_path, caplog):
    eng, rng = org, np.random.default_rng(5)
    assert D.store_read(eng, whole(eng))
    # a helper's data deleted: the kept read still holds their answers; a process holding
    # nothing must not show them
    gone = active(eng)[0]
    request = selfservice.request_deletion(eng, gone, actor=gone)
    selfservice.complete_deletion(eng, request, actor="admin")
    materialise.settle(eng)
    reads.clear()
    read = D.load_review_data(eng, with_model=False)
    assert reads == [None] and gone not in set(read.scores["helper_id"])
    assert_same_frames(read, whole(eng))
    # changed settings (the helper weeks are rebuilt): the kept read is of other rules
    assert D.store_read(eng, whole(eng))
    saved_settings.save(eng, {"caseload_standards": {"Case manager": 3}}, actor="admin")
    reads.clear()
    read = D.load_review_data(eng, with_model=False)
    assert reads == [None]
    assert_same_frames(read, whole(eng))
    # a copy of the database (a backup restored, another URL to the same data) holds the kept
    # read with the counters it is compared with: a change made in the copy alone is read again
    assert D.store_read(eng, whole(eng))
    copy = tmp_path / "copy.db"
    src, dst = sqlite3.connect(tmp_path / "org.db"), sqlite3.connect(copy)
    src.backup(dst)
    src.close(), dst.close()
    other = get_engine(f"sqlite:///{copy}")
    who = active(other)[-1:]
    check_in(other, who, rng)
    reads.clear()
    read = D.load_review_data(other, with_model=False)
    assert reads == [members(other, who)] and read.read_at[0] == str(other.url)
    assert_same_frames(read, whole(other))
    # and the original, which the copy's check-in never reached, reads nothing again
    reads.clear()
    assert_same_frames(D.load_review_data(eng, with_model=False), whole(eng))
    assert reads == [None]
    # a damaged row: read whole, with a warning, not a failed page
    check_in(eng, active(eng)[:1], rng)
    with eng.begin() as conn:
        conn.execute(update(prepared_results).where(prepared_results.c.name == D.STORED_READ)
                     .values(payload=b"not a pickle"))
    reads.clear()
    read = D.load_review_data(eng, with_model=False)
    assert reads == [None] and "could not be read" in caplog.text
    assert_same_frames(read, whole(eng))


def test_the_import_s_preparing_keeps_the_read_the_pages_start_from(org, reads):
    eng = org
    assert release_store.prepare(eng) == [release_store.OPENING_MEASURE]
    kept = D.stored_read(eng, whole(eng).read_at)
    assert kept is not None and kept.leaving_model is None and kept.patched is None
    assert_same_frames(kept, whole(eng))
    with eng.connect() as conn:
        size = conn.execute(select(prepared_results.c.payload).where(prepared_results.c.name == D.STORED_READ)
                            ).scalar_one()
    assert 0 < len(size) < 5_000_000


def test_a_process_starts_from_the_kept_read_on_postgresql(pg_url, reads):
    eng, rng = get_engine(pg_url), np.random.default_rng(8)
    seed_demo(eng, helpers=16, weeks=15, seed=3)
    assert D.store_read(eng, whole(eng))
    who = list(rng.choice(active(eng), size=2, replace=False))
    check_in(eng, who, rng, weeks_back=2)
    reads.clear()
    started = D.load_review_data(eng, with_model=False)
    assert reads == [members(eng, who)]
    assert_same_frames(started, whole(eng))


def test_what_was_worked_out_from_the_kept_read_is_patched_not_worked_out_whole(org, reads, monkeypatch):
    """The week rows and the people frame worked out from the kept read are kept with it: a
    process holding nothing patches them for the changed helpers, and they equal those worked
    out whole from a whole read."""
    from burnout.views import tables

    eng, rng = org, np.random.default_rng(9)
    first = whole(eng)
    measures = ("pulse_strain", "risk_score")
    for m in measures:
        tables.org_week_rows(first, m)
    D.org_people(first)
    assert D.store_read(eng, first)
    D._KEPT.clear()                      # another process
    check_in(eng, list(rng.choice(active(eng), size=2, replace=False)), rng)
    cut, people_kept = [], []
    real_of, real_replaced = tables.WeekRows.of, D._people_replaced
    monkeypatch.setattr(tables.WeekRows, "of", classmethod(lambda cls, *a, **k: cut.append(1) or real_of(*a, **k)))
    monkeypatch.setattr(D, "_people_replaced", lambda *a, **k: people_kept.append(1) or real_replaced(*a, **k))
    started = D.load_review_data(eng, with_model=False)
    kept = {m: tables.org_week_rows(started, m) for m in measures}
    people = D.org_people(started)
    assert cut == [] and people_kept == [1]
    fresh = dataclasses.replace(whole(eng), read_at=None)      # worked out whole, nothing kept
    for m in measures:
        assert_same_rows(kept[m], tables.org_week_rows(fresh, m))
    pd.testing.assert_frame_equal(people, D.people_frame(fresh), check_exact=True)
