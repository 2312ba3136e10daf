"""Core check-in: what is due, one-transaction saving, feedback and the severe flag."""
from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from burnout import checkin
from burnout.errors import InputError
from burnout.store import frames
from burnout.store import schema as s

ROSTER = (b"helper_id,name,team,role,site,fte,start_date,team_kind\n"
          b"H1,Ana Example,CW-North,child welfare caseworker,Main,1,2024-01-08,child_welfare\n"
          b"H2,Ben Example,CW-North,child welfare caseworker,Main,1,2024-01-08,child_welfare\n")
MON = dt.datetime(2026, 3, 2, 9, 30)   # a Monday

CALM_PULSE = {"pulse_1": 3, "pulse_2": 3, "pulse_3": 3, "pulse_4": 3, "pulse_5": 3, "pulse_6": 3}  # strain 50


def pulse(strain_items: tuple[int, int, int]) -> dict:
    """pulse_1 and pulse_3 are reversed: (1, 5, 1) is strain 100, (5, 1, 5) is 0."""
    a, b, c = strain_items
    return {"pulse_1": a, "pulse_2": b, "pulse_3": c, "pulse_4": 3, "pulse_5": 3, "pulse_6": 3}


@pytest.fixture(scope="module")
def template_db(tmp_path_factory) -> Path:
    """A migrated database with a two-helper roster, built once per module."""
    from burnout.ingest import import_files
    from burnout.store import get_engine

    path = tmp_path_factory.mktemp("checkin") / "template.db"
    eng = get_engine(f"sqlite:///{path}")
    import_files(eng, roster=ROSTER, names={"roster": "roster.csv"}, actor="test")
    return path


@pytest.fixture
def db(template_db, tmp_path):
    """A fresh copy of the template per test (a copy is much faster than migrating)."""
    from burnout.store.engine import make_engine

    path = tmp_path / "db.sqlite"
    src, dst = sqlite3.connect(template_db), sqlite3.connect(path)
    src.backup(dst)
    src.close(), dst.close()
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# --------------------------------------------------------------------------- due

@pytest.mark.parametrize("last, today, every, expected", [
    (None, dt.date(2026, 3, 4), 1, True),
    (dt.datetime(2026, 3, 2, 8), dt.date(2026, 3, 8), 1, False),    # same Monday-week
    (dt.datetime(2026, 3, 1, 8), dt.date(2026, 3, 2), 1, True),     # Sunday, then Monday
    (dt.datetime(2026, 2, 9, 8), dt.date(2026, 3, 6), 4, False),    # 3 weeks later
    (dt.datetime(2026, 2, 2, 8), dt.date(2026, 3, 2), 4, True),     # 4 weeks later
    (dt.datetime(2025, 12, 8, 8), dt.date(2026, 3, 2), 12, True),
    (dt.datetime(2025, 12, 15, 8), dt.date(2026, 3, 2), 12, False),
])
def test_is_due(last, today, every, expected):
    assert checkin.is_due(last, today, every) is expected


def test_due_instruments_follow_last_submissions(db):
    assert checkin.due_instruments(db, "H1", MON.date()) == ["pulse", "sib", "cbi", "proqol5"]
    checkin.save_checkin(db, "H1", {"pulse": CALM_PULSE, "sib": {"sib_1": 2}}, submitted_at=MON)
    # later the same week: the weekly part is done, the longer ones were never answered
    assert checkin.due_instruments(db, "H1", MON.date() + dt.timedelta(days=3)) == ["cbi", "proqol5"]
    checkin.save_checkin(db, "H1", {"cbi": {"cbi_p1": 50, "cbi_p2": 50, "cbi_p3": 50}},
                         submitted_at=MON + dt.timedelta(days=1))
    next_week = MON.date() + dt.timedelta(days=7)
    assert checkin.due_instruments(db, "H1", next_week) == ["pulse", "sib", "proqol5"]
    assert checkin.due_instruments(db, "H1", MON.date() + dt.timedelta(weeks=4)) == \
        ["pulse", "sib", "cbi", "proqol5"]
    # a team schedule from settings: CBI every week, no ProQOL at all
    assert checkin.due_instruments(db, "H1", next_week, {"pulse": 1, "sib": 1, "cbi": 1}) == \
        ["pulse", "sib", "cbi"]
    # other helpers are unaffected
    assert checkin.due_instruments(db, "H2", MON.date()) == ["pulse", "sib", "cbi", "proqol5"]


def test_schedule_comes_from_settings(db):
    from burnout.store import settings as saved_settings

    saved_settings.save(db, {"checkin_schedule": {"cbi": 2}}, actor="admin")
    sched = saved_settings.load(db).checkin_schedule
    assert sched == {"pulse": 1, "sib": 1, "cbi": 2, "proqol5": 12}
    assert checkin.due_instruments(db, "H2", MON.date()) == ["pulse", "sib", "cbi", "proqol5"]


# --------------------------------------------------------------------------- save

def test_save_checkin_stores_everything_in_one_go(db):
    ids = checkin.save_checkin(db, "H1", {"pulse": pulse((1, 5, 1)), "sib": {"sib_1": "Completely burned out"}},
                               comment="Too many cases this week", submitted_at=MON)
    assert len(ids) == 2
    subs = frames.submissions_frame(db, "H1")
    assert list(subs["instrument"]) == ["pulse", "sib"]
    assert set(subs["source"]) == {"checkin"}
    assert subs.set_index("instrument").at["pulse", "comment"] == "Too many cases this week"
    assert pd.isna(subs.set_index("instrument").at["sib", "comment"])
    assert count(db, s.answers) == 7
    sc = frames.scores(db, "H1").set_index("instrument")
    assert sc.at["pulse", "pulse_strain"] == pytest.approx(100.0)
    assert sc.at["sib", "sib_level"] == 5
    assert bool(sc.at["sib", "burned_out"]) is True
    assert list(sc["submission_id"]) == ids


def test_invalid_value_stores_nothing(db):
    with pytest.raises(InputError) as err:
        checkin.save_checkin(db, "H1", {"pulse": CALM_PULSE, "sib": {"sib_1": 7}}, submitted_at=MON)
    assert err.value.column == "sib_1"
    assert "not an answer" in str(err.value)
    assert count(db, s.submissions) == 0 and count(db, s.answers) == 0 and count(db, s.scores) == 0


@pytest.mark.parametrize("answers, column", [
    ({"pulse": {"pulse_9": 3}}, "pulse_9"),
    ({"cbi": {"cbi_p1": 30}}, "cbi_p1"),
    ({"proqol5": {"proqol_1": 0}}, "proqol_1"),
    ({"pulse": {"pulse_1": "Sometimes-ish"}}, "pulse_1"),
    ({"pulse": {"pulse_1": True}}, "pulse_1"),
])
def test_values_off_the_scale_are_errors(db, answers, column):
    with pytest.raises(InputError) as err:
        checkin.save_checkin(db, "H1", answers, submitted_at=MON)
    assert err.value.column == column
    assert count(db, s.submissions) == 0


def test_labels_and_skipped_items_are_accepted(db):
    checkin.save_checkin(db, "H1", {"pulse": {"pulse_1": "often", "pulse_2": None, "pulse_3": "Sometimes"},
                                    "cbi": {}}, submitted_at=MON)
    subs = frames.submissions_frame(db, "H1")
    assert list(subs["instrument"]) == ["pulse"]          # the empty CBI is not a submission
    wide = frames.answers(db, "pulse", "H1")
    assert wide.loc[0, "pulse_1"] == 4 and wide.loc[0, "pulse_3"] == 3


def test_nothing_answered_is_an_error(db):
    with pytest.raises(InputError, match="nothing to save"):
        checkin.save_checkin(db, "H1", {"pulse": {"pulse_1": None}})
    with pytest.raises(InputError, match="unknown instrument"):
        checkin.save_checkin(db, "H1", {"mbi": {"x": 1}})
    with pytest.raises(InputError, match="not in the roster"):
        checkin.save_checkin(db, "NOPE", {"pulse": CALM_PULSE})
    assert count(db, s.submissions) == 0


def test_failure_midway_rolls_back_the_whole_checkin(db, monkeypatch):
    from burnout.store import writes

    def boom(*args, **kwargs):
        raise RuntimeError("disk full while writing the audit row")

    # the audit row is the transaction's last write: submissions, answers and scores are in by then
    monkeypatch.setattr(writes, "audit", boom)
    with pytest.raises(RuntimeError):
        checkin.save_checkin(db, "H1", {"pulse": CALM_PULSE, "sib": {"sib_1": 2}}, submitted_at=MON)
    assert count(db, s.submissions) == 0 and count(db, s.answers) == 0 and count(db, s.scores) == 0


def test_same_time_twice_is_refused_and_keeps_the_first(db):
    checkin.save_checkin(db, "H1", {"pulse": CALM_PULSE}, submitted_at=MON)
    with pytest.raises(InputError, match="already stored"):
        checkin.save_checkin(db, "H1", {"pulse": CALM_PULSE, "sib": {"sib_1": 1}}, submitted_at=MON)
    assert count(db, s.submissions) == 1


# --------------------------------------------------------------------------- feedback

def test_feedback_change_since_last_week_and_usual(db):
    for week, items in enumerate([(3, 3, 3)] * 3 + [(2, 4, 2)]):   # strain 50, 50, 50, then 75
        checkin.save_checkin(db, "H1", {"pulse": pulse(items)}, submitted_at=MON + dt.timedelta(weeks=week))
    fb = checkin.feedback(db, "H1")
    strain = fb["instruments"]["pulse"]["scores"]["pulse_strain"]
    assert strain["value"] == pytest.approx(75)
    assert strain["band"] == "high"
    assert strain["change"] == pytest.approx(25)
    assert strain["compared_to_usual"] == "higher"
    assert strain["sentence"] == ("Your strain score is 75, in the high range "
                                  "(higher than usual for you; up 25 since last week).")
    assert strain["hint"]                                   # a gentle line about the load, not the person
    assert fb["severe"] is False


def test_feedback_first_time_and_unknown_helper(db):
    assert checkin.feedback(db, "H1")["instruments"] == {}
    checkin.save_checkin(db, "H1", {"sib": {"sib_1": 2}}, submitted_at=MON)
    fb = checkin.feedback(db, "H1")
    s1 = fb["instruments"]["sib"]["scores"]["sib_level"]
    assert s1["change"] is None
    assert "nothing to compare yet" in s1["sentence"]
    assert s1["sentence"].startswith("You rated your burnout 2 of 5")
    assert fb["instruments"]["sib"]["burned_out"] is False
    assert checkin.feedback(db, "H2")["instruments"] == {}   # nothing leaks across helpers


def test_feedback_change_is_against_previous_administration(db):
    checkin.save_checkin(db, "H1", {"cbi": {"cbi_p1": 25, "cbi_p2": 25, "cbi_p3": 25}}, submitted_at=MON)
    checkin.save_checkin(db, "H1", {"cbi": {"cbi_p1": 75, "cbi_p2": 50, "cbi_p3": 25}},
                         submitted_at=MON + dt.timedelta(weeks=4))
    p = checkin.feedback(db, "H1")["instruments"]["cbi"]["scores"]["personal_burnout"]
    assert p["previous"] == 25 and p["value"] == 50 and p["band"] == "moderate"
    assert "up 25 from 4 weeks ago" in p["sentence"]


@pytest.mark.parametrize("answers, reason", [
    ({"sib": {"sib_1": 5}}, "completely burned out"),
    ({"pulse": pulse((1, 5, 2))}, "strain this week is very high"),          # strain 91.7
    ({"cbi": {f"cbi_w{i}": 100 for i in range(1, 7)} | {"cbi_w7": 0}}, "top of the scale"),
    ({"proqol5": {f"proqol_{i}": 5 for i in (2, 5, 7, 9, 11, 13, 14, 23, 25, 28)}}, "secondary traumatic stress"),
])
def test_severe_answers_open_the_crisis_path(db, answers, reason):
    checkin.save_checkin(db, "H1", answers, submitted_at=MON)
    fb = checkin.feedback(db, "H1")
    assert fb["severe"] is True
    assert any(reason in r for r in fb["severe_reasons"])


def test_not_severe_below_thresholds_and_old_severe_does_not_repeat(db):
    checkin.save_checkin(db, "H1", {"sib": {"sib_1": 4}, "pulse": pulse((2, 4, 2))}, submitted_at=MON)  # strain 75
    assert checkin.feedback(db, "H1")["severe"] is False
    checkin.save_checkin(db, "H2", {"proqol5": {f"proqol_{i}": 5 for i in range(1, 31)}}, submitted_at=MON)
    checkin.save_checkin(db, "H2", {"pulse": CALM_PULSE}, submitted_at=MON + dt.timedelta(weeks=6))
    fb = checkin.feedback(db, "H2")
    assert fb["instruments"]["proqol5"]["recent"] is False
    assert fb["severe"] is False


# --------------------------------------------------------------------------- resources, wording, text

def test_resources_default_and_from_settings():
    from burnout.domain.settings import DEFAULT_CRISIS_RESOURCES, Settings

    assert any("988" in r["detail"] for r in checkin.crisis_resources(Settings()))
    assert checkin.resources(Settings())[0]["title"]
    own = [{"title": "Our EAP: 0800 123 456", "detail": "24/7"}, {"title": "", "detail": ""}]
    assert checkin.resources(Settings().merged({"resources": own})) == [{"title": "Our EAP: 0800 123 456",
                                                                          "detail": "24/7"}]
    assert checkin.crisis_resources(Settings()) == [dict(r) for r in DEFAULT_CRISIS_RESOURCES]


def test_escape_md_neutralises_markdown():
    out = checkin.escape_md("![x](http://evil/p.png) **bold** <b>hi</b> $x$")
    assert "![" not in out and "**" not in out and "<b>" not in out and "](" not in out
    assert checkin.escape_md(None) == ""


def test_item_texts_fall_back_to_keys_until_wording_is_loaded(db):
    from burnout.store.writes import save_wording

    items, loaded = checkin.item_texts(db, "pulse", "H1")
    assert loaded and items[0]["text"].startswith("I had energy")
    items, loaded = checkin.item_texts(db, "cbi", "H1")
    assert not loaded and items[0]["text"] == "Tiredness"
    # CBI client items use the team's word (child welfare: "family")
    wording = {i: f"Text of {i}" for i in __import__("burnout.instruments", fromlist=["load"]).load("cbi").item_ids}
    wording["cbi_c1"] = "Sample text: working with clients this month?"
    save_wording(db, "cbi", wording)
    items, loaded = checkin.item_texts(db, "cbi", "H1")
    assert loaded
    assert {i["item_id"]: i["text"] for i in items}["cbi_c1"] == "Sample text: working with families this month?"
    assert items[13]["options"][0] == ("To a very high degree", 100.0)


# --------------------------------------------------------------------------- steps, drafts, resources

def test_steps_split_long_questionnaires_and_mark_each_change_of_direction():
    steps = checkin.steps(["pulse", "sib", "cbi", "proqol5"])
    assert [s_["title"] for s_ in steps] == [
        "This week", "CBI: personal burnout", "CBI: work-related burnout", "CBI: client-related burnout",
        "ProQOL 5: part 1 of 3", "ProQOL 5: part 2 of 3", "ProQOL 5: part 3 of 3"]
    assert [s_["n"] for s_ in steps] == [7, 6, 7, 6, 10, 10, 10]
    # pulse Never -> Always; CBI keeps its manual's Always -> Never; ProQOL Never -> Very Often
    assert [s_["turns"] for s_ in steps] == [False, True, False, False, True, False, False]
    assert steps[1]["direction"] == "from Always to Never/almost never"
    assert checkin.minutes_for(7) == 1 and checkin.minutes_for(56) == 8


def test_resources_structured_and_chosen_by_what_answers_point_to():
    from burnout.domain.settings import Settings

    own = [{"title": "EAP", "detail": "Counselling", "phone": "+44 800 123 456", "url": "https://eap.example",
            "hours": "24/7", "topic": "support"},
           {"title": "Trauma debrief", "detail": "After hard calls", "topic": "trauma"},
           {"title": "Old style", "detail": "title and detail only"}]
    s_ = Settings().merged({"resources": own})
    fb = {"severe": False, "instruments": {"pulse": {"recent": True, "scores": {
        "pulse_trauma_load": {"value": 100.0}, "pulse_strain": {"value": 20.0}, "pulse_support": {"value": 75.0}}}}}
    assert checkin.resource_pointers(fb) == ["trauma"]
    out = checkin.resources(s_, fb)
    assert [r["title"] for r in out] == ["Trauma debrief", "EAP", "Old style"]
    assert out[0]["because"] and out[1]["phone"] == "+44 800 123 456"
    for bad in ({"phone": "call 555"}, {"url": "javascript:alert(1)"}, {"topic": "blame"}):
        with pytest.raises(InputError):
            Settings().merged({"resources": [{"title": "x", "detail": "y", **bad}]})


def test_a_partial_checkin_is_kept_for_the_week_and_never_counted(db):
    hid = frames.roster(db)["helper_id"].iloc[0]
    n = len(frames.submissions_frame(db, hid))
    today = dt.date(2026, 3, 4)
    checkin.save_partial(db, hid, {"q_cbi_p1": "Often", "checkin_step": 1}, today=today)
    assert checkin.load_partial(db, hid, today=today + dt.timedelta(days=3)) == {"q_cbi_p1": "Often",
                                                                             "checkin_step": 1}
    assert checkin.load_partial(db, hid, today=today + dt.timedelta(days=7)) == {}   # a new week
    assert len(frames.submissions_frame(db, hid)) == n
    checkin.save_partial(db, hid, {}, today=today)
    assert checkin.load_partial(db, hid, today=today) == {}


def test_saving_the_checkin_takes_its_draft_and_a_refused_one_keeps_it(db):
    hid = frames.roster(db)["helper_id"].iloc[0]
    checkin.save_partial(db, hid, {"q_pulse_1": "Often"})
    with pytest.raises(InputError):
        checkin.save_checkin(db, hid, {"pulse": {"pulse_1": 9}})
    assert checkin.load_partial(db, hid) == {"q_pulse_1": "Often"}      # nothing saved: the answers stay
    checkin.save_checkin(db, hid, {"pulse": {"pulse_1": 4}})
    assert checkin.load_partial(db, hid) == {}


def test_errors_are_one_plain_sentence():
    with pytest.raises(InputError) as exc:
        checkin.validate_answers({"pulse": {}})
    assert checkin.plain_error(exc.value) == "Please answer at least one question before saving."
