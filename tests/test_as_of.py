"""The organisation's "as of" week comes from the calendar and plausible data,
never from one stray row (a typo'd 2099, a clock gone wrong)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import insert

from burnout.domain.settings import Settings
from burnout.store import schema as s
from burnout.views.data import default_as_of, load_data
from burnout.views.risk_table import risk_report

from helpers import small_org

TODAY = pd.Timestamp("2026-11-26")          # a Thursday; its week starts Monday 23 Nov
THIS_WEEK = pd.Timestamp("2026-11-23")


def frames_with(*weeks: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    scores = pd.DataFrame({"week_start": pd.to_datetime(list(weeks))})
    return scores, pd.DataFrame({"week_start": pd.to_datetime([])})


def test_old_data_ends_where_the_data_ends():
    sc, cl = frames_with("2026-01-05", "2026-03-02")
    assert default_as_of(sc, cl, Settings(), today=TODAY) == pd.Timestamp("2026-03-02")


def test_a_far_future_row_is_ignored():
    sc, cl = frames_with("2026-11-16", "2099-09-14")
    assert default_as_of(sc, cl, Settings(), today=TODAY) == pd.Timestamp("2026-11-16")


def test_next_weeks_row_is_plausible_but_the_calendar_caps_it():
    sc, cl = frames_with("2026-11-16", "2026-11-30")
    assert default_as_of(sc, cl, Settings(), today=TODAY) == THIS_WEEK
    # beyond import_future_days: not plausible at all
    assert default_as_of(sc, cl, Settings(import_future_days=0), today=TODAY) == pd.Timestamp("2026-11-16")


def test_no_data_no_as_of():
    sc, cl = frames_with()
    assert default_as_of(sc, cl, Settings(), today=TODAY) is None


def test_one_stray_row_in_the_database_moves_nothing(tmp_path):
    """The issue's case: one caseload row dated 2099-09-14 and one 2099 submission took
    the lead's page to "Data up to 14 Sep 2099" and every helper lost their risk score."""
    eng = small_org(tmp_path, helpers=20, weeks=8)
    before = load_data(eng)
    scored = before.latest["risk_score"].notna().sum()
    assert scored > 0
    table = risk_report(eng)
    # Written straight into the tables, as an older version without the import limits could have.
    with eng.begin() as conn:
        helper = before.roster["helper_id"].iloc[0]
        conn.execute(insert(s.caseload_weeks).values(helper_id=helper, week_start=dt.date(2099, 9, 14),
                                                     active_cases=30, hours_worked=40))
        sid = conn.execute(insert(s.submissions).values(helper_id=helper, instrument="sib", source="import",
                                                        submitted_at=dt.datetime(2099, 9, 15, 9))
                           ).inserted_primary_key[0]
        conn.execute(insert(s.answers).values(submission_id=sid, item_id="sib_1", value=2))
        conn.execute(insert(s.scores).values(submission_id=sid, sib_level=2, burned_out=False))
    after = load_data(eng)
    assert after.as_of == before.as_of and after.as_of.year < 2099
    assert after.latest["risk_score"].notna().sum() == scored
    again = risk_report(eng)
    assert again["risk_score"].notna().sum() == table["risk_score"].notna().sum() > 0
