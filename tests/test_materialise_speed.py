"""The helper-week build's cheaper paths equal the plain ones they replace.

- frames._read on SQLite (the driver's rows, dates parsed by column) against
  pd.read_sql (SQLAlchemy's rows, dates parsed per value);
- risk.day_numbers and domain.time.week_starts on datetime64 input (no
  pd.to_datetime) against their object path;
- a rebuild's horizon and grid start from SQL minima and maxima (org_extent)
  against reading every week (data_horizon, grid_start);
- the import's per-distinct-text reading of dates and numbers, and the numbers and
  dates it hands the database, against one value at a time.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert

from burnout import materialise, risk
from burnout.domain.time import week_starts
from burnout.store import frames
from burnout.store import settings as saved_settings
from burnout.store.schema import caseload_weeks, helpers, scores, submissions, teams


def _plain(monkeypatch):
    monkeypatch.setattr(frames, "_read", lambda conn, q: pd.read_sql(q, conn))


@pytest.fixture
def odd_db(engine):
    """Rows written by SQLAlchemy itself, with what a driver's raw rows could get wrong:
    missing scores, a missing and both boolean values, a time without microseconds
    written as bare text, a caseload week with only some columns."""
    with engine.begin() as conn:
        conn.execute(insert(teams), [{"team_id": "t1", "kind": None, "client_word": "client"}])
        conn.execute(insert(helpers), [{"helper_id": h, "name": h, "team_id": "t1", "role": "nurse", "site": "s",
                                        "fte": 1.0, "consent_lead_view": True} for h in ("a", "b", "c")])
        conn.execute(insert(submissions), [
            {"submission_id": 1, "helper_id": "a", "instrument": "proqol", "submitted_at": dt.datetime(2025, 3, 2, 23, 59, 59, 999999)},
            {"submission_id": 2, "helper_id": "a", "instrument": "pulse", "submitted_at": dt.datetime(2025, 3, 3, 0, 0)},
            {"submission_id": 3, "helper_id": "b", "instrument": "cbi", "submitted_at": dt.datetime(1969, 12, 31, 12, 30, 1, 5)},
            {"submission_id": 4, "helper_id": "c", "instrument": "pulse", "submitted_at": dt.datetime(2025, 6, 1, 8)},
        ])
        for row in ({"submission_id": 1, "burnout": 22.0, "burned_out": True},
                    {"submission_id": 2, "pulse_strain": 3.5, "burned_out": None},
                    {"submission_id": 3, "work_burnout": 0.0, "burned_out": False, "sib_level": 2},
                    {"submission_id": 4}):
            conn.execute(insert(scores).values(**row))
        conn.exec_driver_sql("UPDATE submissions SET submitted_at = '2025-06-01 08:00:00' WHERE submission_id = 4")
        for row in ({"helper_id": "a", "week_start": dt.date(2025, 3, 3), "active_cases": 12, "case_types": "x;y"},
                    {"helper_id": "b", "week_start": dt.date(1969, 12, 29), "hours_worked": 37.5},
                    {"helper_id": "c", "week_start": dt.date(2025, 5, 26)}):
            conn.execute(insert(caseload_weeks).values(**row))
    return engine


@pytest.mark.parametrize("which", [None, ["a", "c"], []])
def test_frames_read_from_the_drivers_rows_equal_pandas_read_sql(odd_db, monkeypatch, which):
    kw = {} if which is None else {"helper_ids": which}
    fast = frames.scores(odd_db, **kw), frames.caseload(odd_db, **kw)
    _plain(monkeypatch)
    plain = frames.scores(odd_db, **kw), frames.caseload(odd_db, **kw)
    for a, b in zip(fast, plain):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    if which is None:
        assert fast[0]["submitted_at"].iloc[-1] == pd.Timestamp("2025-06-01 08:00")      # the bare text
        assert fast[0]["burned_out"].tolist()[:3] == [True, pd.NA, False]


def test_the_demo_frames_are_equal_by_both_reads(demo_db, monkeypatch):
    eng = demo_db["engine"]
    fast = frames.scores(eng), frames.caseload(eng)
    _plain(monkeypatch)
    for a, b in zip(fast, (frames.scores(eng), frames.caseload(eng))):
        assert len(a) > 100
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_day_numbers_and_week_starts_of_datetimes_equal_their_object_path():
    stamps = pd.Series(pd.to_datetime(["2024-01-07 23:59:59.999999", None, "1969-12-31 23:00", "2024-02-29 00:00",
                                       "1901-03-04 12:00"], format="ISO8601"))
    obj = stamps.astype(object)
    for values in (stamps, stamps.to_numpy(), pd.DatetimeIndex(stamps), stamps.astype("datetime64[s]")):
        np.testing.assert_array_equal(risk.day_numbers(values), risk.day_numbers(obj))
        pd.testing.assert_series_equal(week_starts(values).reset_index(drop=True),
                                       week_starts(obj).reset_index(drop=True))
    assert risk.day_numbers(stamps)[1] == risk._NAT
    assert list(risk.day_numbers(stamps)[[0, 2]]) == [19729, -1]
    # a series keeps its own index, as before
    shifted = stamps.set_axis(range(10, 15))
    assert list(week_starts(shifted).index) == list(range(10, 15))


def test_a_rebuilds_horizon_and_grid_start_by_sql_equal_reading_every_week(odd_db, demo_db):
    for eng in (odd_db, demo_db["engine"]):
        settings = saved_settings.load(eng)
        sc, cl = frames.scores(eng), frames.caseload(eng)
        horizon = materialise.data_horizon(sc, cl, settings)
        assert materialise.org_extent(eng, settings) == (horizon, materialise.grid_start(sc, cl, horizon))
    # a stray future row is left out by both
    with odd_db.begin() as conn:
        conn.execute(insert(submissions), [{"submission_id": 9, "helper_id": "c", "instrument": "pulse",
                                            "submitted_at": dt.datetime(2099, 1, 1)}])
        conn.execute(insert(scores), [{"submission_id": 9, "pulse_strain": 1.0}])
    settings = saved_settings.load(odd_db)
    sc, cl = frames.scores(odd_db), frames.caseload(odd_db)
    horizon = materialise.data_horizon(sc, cl, settings)
    assert horizon < pd.Timestamp("2099-01-01")
    assert materialise.org_extent(odd_db, settings) == (horizon, materialise.grid_start(sc, cl, horizon))


def test_each_date_cell_gets_its_texts_result_in_any_order():
    """parse_dates reads each distinct text once and hands every cell its text's result by
    code: the same as reading the distinct texts alone, whatever the order and repeats."""
    from burnout.ingest.dates import DateStyle, parse_dates
    texts = ["2025-03-02 10:00", "03/04/2025", "13/04/2025", "2025-03-02 10:00", None, "04/04/2025",
             "not a date", "03/04/2025", "2024-02-30", "1/2/25 3:04 pm", None, "04/04/2025"]
    for order in (range(len(texts)), [11, 3, 0, 5, 2, 1, 7, 4, 6, 9, 8, 10]):
        s = pd.Series([texts[i] for i in order], index=[100 + 2 * i for i in range(len(texts))], dtype=object)
        for style in (DateStyle(), DateStyle(dayfirst=False)):
            got = parse_dates(s, style)
            once = s.dropna().drop_duplicates()
            alone = parse_dates(once, style)
            for i, text in s.items():
                if text is None:
                    assert pd.isna(got.values[i]) and not got.bad[i] and not got.ambiguous[i]
                    continue
                j = once.index[once == text][0]
                assert (got.values[i] == alone.values[j]) or (pd.isna(got.values[i]) and pd.isna(alone.values[j]))
                assert got.bad[i] == alone.bad[j] and got.ambiguous[i] == alone.ambiguous[j], text
            assert got.values.dtype == "datetime64[ns]" and list(got.values.index) == list(s.index)
    # the ambiguous day/month cells are flagged where no cell settles the order ...
    plain = pd.Series(["03/04/2025", "04/04/2025", "03/04/2025"], dtype=object)
    assert parse_dates(plain).ambiguous.tolist() == [True, False, True]
    # ... and read day first once a cell has a day above 12
    assert parse_dates(pd.concat([plain, pd.Series(["13/04/2025"])], ignore_index=True)).values[0] == \
        pd.Timestamp("2025-04-03")


def test_numbers_leave_for_the_database_as_the_object_path_gave_them():
    from burnout.store import writes
    rng = np.random.default_rng(3)
    f = rng.normal(size=500)
    f[rng.random(500) < 0.3] = np.nan
    f[:4] = [np.inf, -np.inf, -0.0, 1e30]
    for s in (pd.Series(f), pd.Series(f.astype(np.float32)), pd.Series(rng.normal(size=50)),
              pd.Series(rng.integers(-5, 10 ** 12, 300)), pd.Series(np.arange(7, dtype=np.uint8)),
              pd.Series(np.arange(5, dtype=np.int32), index=[9, 7, 5, 3, 1])):
        plain = s.astype(object).where(s.notna(), None).tolist()
        got = writes._column_values(s, "sqlite")
        assert [type(v) for v in got] == [type(v) for v in plain]
        assert [repr(v) for v in got] == [repr(v) for v in plain]


def test_numbers_read_once_per_distinct_text_equal_reading_every_cell():
    from burnout.ingest.cells import parse_numbers
    rng = np.random.default_rng(5)
    pool = np.array(["0", "-0", "1", "12", "3.5", "-0.0", "1e3", " 7", "0.1", "40.25", "1e-7",
                     "2", "007"], dtype=object)
    for k in range(30):
        texts = rng.choice(pool[: 3 + k % 11], 200).astype(object)
        texts[rng.random(200) < 0.2] = None
        s = pd.Series(texts, index=rng.permutation(1000)[:200])
        got = parse_numbers(s)
        want = pd.to_numeric(s, errors="coerce").astype(float)
        assert got.dtype == float and got.index.equals(s.index)
        # equal values; a "-0" may read -0.0 or 0.0 (pandas reads it by where in the column it
        # stands, before or after the first decimal): equal as numbers, so not compared by sign
        pd.testing.assert_series_equal(got, want, check_exact=True)


def test_dates_made_by_numpy_equal_one_timestamp_per_value():
    from burnout.store import writes
    values = [dt.date(2025, 3, 3), pd.Timestamp("1969-12-31 23:59"), "2024-02-29", None, pd.NaT,
              dt.datetime(1901, 1, 1, 12), np.datetime64("2030-06-30T23:59:59")]
    for s in (pd.Series(values, dtype=object, index=range(20, 27)),
              pd.Series(pd.to_datetime(["2025-03-03 10:00", None, "1960-01-01 23:00"])),
              pd.Series(pd.to_datetime(["2025-03-03 23:30"]).tz_localize("Europe/Paris")),
              pd.Series([], dtype=object)):
        got, want = writes._dates(s), s.map(writes._date).astype(object)
        assert got.index.equals(want.index) and got.tolist() == want.tolist()
        assert [type(v) for v in got] == [type(v) for v in want]
    days = pd.Series(pd.to_datetime(["2025-03-03", None, "1969-12-29"])).to_numpy("datetime64[D]")
    assert writes._week_cells(days, "sqlite").tolist() == ["2025-03-03", None, "1969-12-29"]
    assert writes._week_cells(days, "postgresql").tolist() == [dt.date(2025, 3, 3), None, dt.date(1969, 12, 29)]
