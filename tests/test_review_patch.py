"""The HR review's frames held by a process are patched after a change, not read again whole
(views.data.load_review_data(since=...)): after random check-ins (this week's, the answers
windows' and older weeks', two in one week, several helpers at once) and consent choices,
the patched frames equal a fresh read's exactly (values, dtypes, order, index), and the
review built from them equals the fresh one's; only the changed teams' helpers are read."""
from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import numpy as np
import pandas as pd
import pytest

from burnout import checkin, materialise, privacy, selfservice
from burnout.domain.time import now
from burnout.seed import seed_demo
from burnout.store import frames, get_engine
from burnout.store.schema import helpers
from burnout.views import data as D
from burnout.views import team as T
from burnout.views.review import build_review
from tests.test_review_read import assert_same_review

FRAMES = ("roster", "scores", "history", "latest")


def assert_same_frames(patched: D.OrgData, fresh: D.OrgData) -> None:
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(patched, name), getattr(fresh, name), check_exact=True, obj=name)
    assert (patched.as_of, patched.settings, patched.read_at) == (fresh.as_of, fresh.settings, fresh.read_at)


@pytest.fixture()
def reads(monkeypatch):
    """The helper ids each read of scores asked for (None: everyone)."""
    asked = []
    real = frames.scores_by_week

    def spy(*a, helper_ids=None, **k):
        asked.append(None if helper_ids is None else set(helper_ids))
        return real(*a, helper_ids=helper_ids, **k)
    monkeypatch.setattr(frames, "scores_by_week", spy)
    return asked


def answers(rng) -> dict:
    return {"pulse": {f"pulse_{i}": int(rng.integers(1, 6)) for i in range(1, 7)},
            "sib": {"sib_1": int(rng.integers(1, 6))}}


WEEKLY = ("pulse_strain", "risk_score")      # the weekly measures of the organisation's audit


def assert_same_rows(kept, whole) -> None:
    """Week rows kept across changes (tables.WeekRows.replaced) equal rows cut whole."""
    assert kept.weeks == whole.weeks
    for a, b in zip(kept.frames, whole.frames):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert kept.digests == whole.digests and kept.groups == whole.groups
    assert [list(p) for p in kept.people] == [list(p) for p in whole.people]


def random_changes(eng, reads, steps: int, seed: int, back: tuple) -> D.OrgData:
    """``steps`` rounds of check-ins by one to three helpers (and a consent choice), each
    followed by a patched read and a fresh one that must be equal; returns the last patched.
    The organisation's week rows kept across the reads (tables.org_week_rows) equal rows
    cut whole from the fresh read, and are kept, not cut again, in most rounds."""
    from burnout.views import tables

    rng = np.random.default_rng(seed)
    reads.clear()
    held = D.load_review_data(eng, with_model=False)
    assert reads == [None] and held.read_at is not None
    for m in WEEKLY:
        tables.org_week_rows(held, m)
    D.org_people(held)
    cut_whole, people_kept = [], []
    real_of, real_replaced = tables.WeekRows.of, D._people_replaced

    def of(*a, **k):
        cut_whole.append(1)
        return real_of(*a, **k)

    def replaced_people(*a, **k):
        out = real_replaced(*a, **k)
        people_kept.append(out is not None)
        return out
    week = held.as_of
    roster = frames.roster(eng)
    active = sorted(roster.loc[roster["end_date"].isna(), "helper_id"])
    team_of = dict(zip(roster["helper_id"], roster["team"]))
    latest_moment = min(now(), (week + pd.Timedelta(days=7)).to_pydatetime()) - dt.timedelta(minutes=1)
    patched_teams = 0
    for step in range(steps):
        who = list(rng.choice(active, size=int(rng.integers(1, 4)), replace=False))
        for k, hid in enumerate(who):
            if step == 2 and k == 0:
                selfservice.set_consent(eng, hid, not selfservice.get_consent(eng, hid), actor=hid)
                continue
            # this week, a week of the answers windows, or a week before them (read as weekly means);
            # never before the data's first week (the grid would start earlier: a rebuild)
            weeks_back = int(rng.choice(back))
            when = latest_moment - dt.timedelta(weeks=weeks_back, hours=int(rng.integers(0, 48)), seconds=step * 7 + k)
            checkin.save_checkin(eng, hid, answers(rng), submitted_at=when)
            if weeks_back and step % 2:      # a second answer in that week: the week comes as its submissions
                checkin.save_checkin(eng, hid, answers(rng), submitted_at=when - dt.timedelta(hours=1))
        materialise.settle(eng)
        reads.clear()
        patched = D.load_review_data(eng, with_model=False, since=held)
        fresh = D.load_review_data(eng, with_model=False)
        teams = {team_of[h] for h in who}
        members = set(roster.loc[roster["team"].isin(teams), "helper_id"])
        assert reads == [members, None], "only the changed teams' helpers were read again"
        assert_same_frames(patched, fresh)
        tables.WeekRows.of = of
        try:
            kept = {m: tables.org_week_rows(patched, m) for m in WEEKLY}
        finally:
            tables.WeekRows.of = real_of
        for m in WEEKLY:
            assert_same_rows(kept[m], tables.org_week_rows(dataclasses.replace(fresh, read_at=None), m))
        # the people frame kept across the reads is a whole computation's
        D._people_replaced = replaced_people
        try:
            kept_people = D.org_people(patched)
        finally:
            D._people_replaced = real_replaced
        pd.testing.assert_frame_equal(kept_people, D.people_frame(fresh), check_exact=True)
        patched_teams += len(teams)
        held = patched
    assert patched_teams >= steps
    assert len(cut_whole) < steps * len(WEEKLY) / 2, "the week rows were kept, not cut again, in most rounds"
    # the people frame: worked out for the changed helpers alone in most rounds
    assert sum(people_kept) > steps / 2, people_kept
    return held


def test_patched_frames_equal_a_fresh_read_after_random_changes(tmp_path, reads):
    eng = get_engine(f"sqlite:///{tmp_path / 'org.db'}")
    seed_demo(eng, helpers=30, weeks=14, seed=11)
    held = random_changes(eng, reads, steps=4, seed=12, back=(0, 0, 3, 11, 13))
    # the review (every table, figure and sentence) built from the patched frames is the fresh one's
    patched = D.load_review_data(eng, since=held)
    copies = {name: getattr(patched, name).copy(deep=True) for name in FRAMES}
    assert_same_review(build_review(eng, "org", data=patched), build_review(eng, "org", data=D.load_review_data(eng)))
    T.org_audit(patched, "pulse_strain")
    # the process patches the frames it handed out (ui/common._org_frames): nothing that reads them changes them
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(patched, name), copies[name], check_exact=True, obj=name)


def test_changes_no_team_names_read_everything(tmp_path, reads):
    """A rebuild (a new week, changed settings) or a roster change moving people between teams
    reads the whole organisation again, and an unchanged organisation reads nothing."""
    eng = get_engine(f"sqlite:///{tmp_path / 'org.db'}")
    seed_demo(eng, helpers=24, weeks=10, seed=4)
    held = D.load_review_data(eng, with_model=False)
    reads.clear()
    same = D.load_review_data(eng, with_model=False, since=held)
    assert reads == [] and same.roster is held.roster
    materialise.rebuild(eng)
    reads.clear()
    assert_same_frames(D.load_review_data(eng, with_model=False, since=held), D.load_review_data(eng, with_model=False))
    assert reads == [None, None]
    # a helper moving to another team: both teams' counters move and both are read again
    held = D.load_review_data(eng, with_model=False)
    moved = held.roster.iloc[0]
    other = sorted(set(held.roster["team"]) - {moved["team"]})[0]
    with eng.begin() as conn:
        conn.execute(helpers.update().where(helpers.c.helper_id == moved["helper_id"]).values(team_id=other))
    materialise.refresh(eng, [moved["helper_id"]], roster_changed=True)
    reads.clear()
    patched = D.load_review_data(eng, with_model=False, since=held)
    assert reads[0] == set(patched.roster.loc[patched.roster["team"].isin([moved["team"], other]), "helper_id"])
    assert patched.roster.set_index("helper_id").loc[moved["helper_id"], "team"] == other
    assert_same_frames(patched, D.load_review_data(eng, with_model=False))
    # someone new in a team: the roster's order and the team's median come from a full read
    held = patched
    with eng.begin() as conn:
        conn.execute(helpers.insert().values(helper_id="a-new-helper", name="New", team_id=other, role="new role",
                                             site=moved["site"], fte=1.0, consent_lead_view=False))
    materialise.refresh(eng, ["a-new-helper"], roster_changed=True)
    reads.clear()
    patched = D.load_review_data(eng, with_model=False, since=held)
    assert reads == [None] and "a-new-helper" in set(patched.roster["helper_id"])
    assert_same_frames(patched, D.load_review_data(eng, with_model=False))


def test_patched_frames_equal_a_fresh_read_on_postgresql(pg_url, reads):
    eng = get_engine(pg_url)
    seed_demo(eng, helpers=16, weeks=15, seed=3)
    random_changes(eng, reads, steps=3, seed=5, back=(0, 3, 13))


def test_weekly_verdicts_kept_across_a_check_in_equal_a_fresh_gate(tmp_path, monkeypatch):
    """The team x week table keeps each week's gate verdicts (tables._VERDICTS, keyed on the
    audits they rest on): after a check-in that changes this week's audit, the table equals
    one whose every cell asked the gate again, and only the weeks whose audits changed ask."""
    from burnout.views import tables
    from burnout.views.data import people_frame, series_for

    eng = get_engine(f"sqlite:///{tmp_path / 'org.db'}")
    seed_demo(eng, helpers=24, weeks=8, seed=21)
    asked = []
    real = tables.plan_gate

    def spy(*a, **k):
        gate = real(*a, **k)

        def counted(key):
            asked.append(key[1])
            return gate(key)
        counted.basis = gate.basis
        return counted
    monkeypatch.setattr(tables, "plan_gate", spy)

    def weekly(data):
        people = people_frame(data)
        plan = tables.review_plan(people, data.min_n)
        series = series_for(data, "pulse_strain")
        return tables.hr_weekly(series, data.roster, "pulse_strain", data.min_n, plan=plan,
                                known=tables.hr_known(data.roster), team=None)

    weekly(D.load_data(eng))
    # someone who has not answered this week does, in a team one short of the minimum group:
    # the week's audit changes and so may the team's verdict (a verdict kept on the week alone would not)
    data = D.load_data(eng)
    series = series_for(data, "pulse_strain")
    active = data.roster[data.roster["end_date"].isna()]
    answered = set(series.loc[(series["week_start"] == data.as_of) & series["pulse_strain"].notna(), "helper_id"])
    per_team = active[active["helper_id"].isin(answered)].groupby("team")["helper_id"].nunique()
    short = [t for t, n in per_team.items() if n == data.min_n - 1] or list(per_team.index)
    who = sorted(set(active.loc[active["team"].isin(short), "helper_id"]) - answered)[0]
    checkin.save_checkin(eng, who, answers(np.random.default_rng(3)),
                         submitted_at=min(now(), (data.as_of + pd.Timedelta(days=7)).to_pydatetime())
                         - dt.timedelta(minutes=5))
    materialise.settle(eng)
    data = D.load_data(eng)
    asked.clear()
    kept = weekly(data)
    kept_weeks = set(asked)
    tables._VERDICTS.clear()
    tables._WEEKS.clear()
    asked.clear()
    fresh = weekly(data)
    pd.testing.assert_frame_equal(kept.table, fresh.table, check_exact=True)
    pd.testing.assert_frame_equal(kept.status, fresh.status, check_exact=True)
    all_weeks = set(asked)
    assert pd.Timestamp(data.as_of) in kept_weeks, "the changed week asked the gate again"
    assert len(kept_weeks) < len(all_weeks), (sorted(kept_weeks), len(all_weeks))


def test_weekly_verdicts_are_kept_only_for_the_same_audits():
    """A week's verdicts are reused only while the gate rests on the very same audit objects:
    a gate over other audits (a changed week) asks again, even with the same rows and groups."""
    from burnout.views import tables

    rng = np.random.default_rng(2)
    df = pd.DataFrame({"team": np.repeat(["A", "B", "C"], 24), "helper_id": [f"h{i % 24}" for i in range(72)],
                       "week_start": pd.Timestamp("2026-01-05") + pd.to_timedelta(np.tile(np.repeat([0, 7, 14], 8), 3), "D"),
                       "m": rng.normal(50, 10, 72)})

    class Audit:            # stands for one week's audit (a privacy.Plan): only its identity matters
        pass

    def gate_over(audit, hidden):
        def gate(key):
            return privacy.COMPLEMENTARY if key[0] in hidden else None
        gate.basis = lambda week: ((audit,), ("team", "m"))
        return gate

    first, other = Audit(), Audit()
    rows = tables.WeekRows.of(df, "team", "m")
    hides_b = tables.by_week(rows, 5, gate=gate_over(first, {"B"}))
    shows_all = tables.by_week(rows, 5, gate=gate_over(other, set()))
    again = tables.by_week(rows, 5, gate=gate_over(first, set()))     # same audit: its verdicts kept
    b = hides_b.table["team"] == "B"
    assert (hides_b.status.loc[b, "m"] != privacy.SHOWN).all()
    assert (shows_all.status.loc[b, "m"] == privacy.SHOWN).all()
    pd.testing.assert_frame_equal(again.status, hides_b.status)


def _spy_splices(monkeypatch) -> list:
    """The frames (rows) spliced whole since: each a copy of a million rows at L."""
    done, real = [], D._spliced

    def spliced(old, new, ids, key):
        done.append(len(old))
        return real(old, new, ids, key)
    monkeypatch.setattr(D, "_spliced", spliced)
    return done


_MOMENTS = itertools.count()


def _small_org(tmp_path, helpers: int, weeks: int, seed: int) -> tuple:
    """A seeded demo organisation: its engine, a random generator, its roster and active helpers."""
    eng = get_engine(f"sqlite:///{tmp_path / 'org.db'}")
    seed_demo(eng, helpers=helpers, weeks=weeks, seed=seed)
    roster = frames.roster(eng)
    return eng, np.random.default_rng(seed + 1), roster, sorted(roster.loc[roster["end_date"].isna(), "helper_id"])


def _check_ins(eng, rng, active, back=(0, 0, 3, 11)) -> None:
    week = D.load_review_data(eng, with_model=False).as_of
    latest_moment = min(now(), (week + pd.Timedelta(days=7)).to_pydatetime()) - dt.timedelta(minutes=1)
    for hid in rng.choice(active, size=int(rng.integers(1, 3)), replace=False):
        when = latest_moment - dt.timedelta(weeks=int(rng.choice(back)), hours=int(rng.integers(0, 48)),
                                            seconds=next(_MOMENTS))
        checkin.save_checkin(eng, str(hid), answers(rng), submitted_at=when)
    materialise.settle(eng)


def test_check_ins_in_a_row_splice_the_big_frames_once_when_read(tmp_path, reads, monkeypatch):
    """After each check-in the lead's page and the organisation's audit read only the changed
    helpers' rows: the whole scores and history frames are spliced when someone reads them,
    once for every check-in since, and equal a fresh read's then."""
    from burnout.views import tables

    eng, rng, roster, active = _small_org(tmp_path, helpers=30, weeks=14, seed=21)
    held = D.load_review_data(eng, with_model=False)
    T.org_audit(held, "pulse_strain")
    big = {len(held.scores), len(held.history)}
    splices = _spy_splices(monkeypatch)
    chain = []
    for _ in range(5):
        _check_ins(eng, rng, active)
        held = D.load_review_data(eng, with_model=False, since=held)
        assert held.patched is not None and held.patched[1]
        audit = T.org_audit(held, "pulse_strain")
        chain.append(held)
    assert not big & set(splices), "no check-in spliced the whole scores or history"
    fresh = D.load_review_data(eng, with_model=False)
    # the audit made from patches equals one made from a fresh read
    whole = T.org_audit(dataclasses.replace(fresh, read_at=None), "pulse_strain")
    assert dict(audit.weekly) == dict(whole.weekly) and audit.groups == whole.groups
    assert {m: dict(c) for m, c in audit.alert_weekly.items()} == {m: dict(c) for m, c in whole.alert_weekly.items()}
    assert all(audit.verdicts(t) == whole.verdicts(t) for t in set(roster["team"]))
    for m in WEEKLY:
        assert_same_rows(tables.org_week_rows(held, m), tables.org_week_rows(dataclasses.replace(fresh, read_at=None), m))
    splices.clear()
    assert_same_frames(held, fresh)
    assert len(splices) == 2, "scores and history, each spliced once for the five check-ins"
    # an earlier read of the chain, read afterwards, is its own state, not the latest
    splices.clear()
    first = chain[0]
    assert len(first.history) == len(fresh.history) and len(splices) == 1
    # reading them again splices nothing
    splices.clear()
    assert_same_frames(held, fresh)
    assert splices == []


def test_a_long_chain_of_check_ins_is_spliced_as_it_goes(tmp_path, reads, monkeypatch):
    """The rows a chain of patches holds stay bounded (views.data.MAX_SPLICES)."""
    monkeypatch.setattr(D, "MAX_SPLICES", 3)
    eng, rng, roster, active = _small_org(tmp_path, helpers=24, weeks=10, seed=31)
    held = D.load_review_data(eng, with_model=False)
    splices = _spy_splices(monkeypatch)
    big = 3 * len(roster)       # scores and history, not the roster and latest rows
    assert min(len(held.scores), len(held.history)) > big
    made = []
    for step in range(7):
        _check_ins(eng, rng, active, back=(0,))
        held = D.load_review_data(eng, with_model=False, since=held)
        made.append(sum(1 for n in splices if n > big))
    assert made[:2] == [0, 0] and made[2] == 2 and made[3:5] == [2, 2] and made[5] == 4
    splices.clear()
    assert_same_frames(held, D.load_review_data(eng, with_model=False))
