"""Fuzzing the import entry points and scoring: random bytes, random CSV
text, random cells and random answers give either a correct result or a
clean InputError, never another exception.  Example counts stay modest so
the module runs in well under a minute."""
from __future__ import annotations

import io
import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from burnout import ingest, scoring
from burnout.errors import InputError
from burnout.instruments import load

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KNOWN = {"H1", "H2"}
ROSTER_HEAD = ["helper_id", "name", "team", "role", "site", "fte", "start_date"]
CASE_HEAD = ["helper_id", "week_start", "active_cases", "new_cases", "high_acuity_cases", "trauma_exposures",
             "critical_incidents", "hours_worked", "overtime_hours"]

# Cells that are usually fine, sometimes hostile.
cell = st.one_of(
    st.sampled_from(["H1", "H2", "1", "0.5", "2026-03-02", "2026/03/02 9:00:00 AM GMT", "03/04/2026",
                     "Often", "5 - Very Often", "", "nan", "inf", "-1", "1e300", "=1+1", "\x00", "\u200b"]),
    st.text(alphabet=string.printable, max_size=12),
    st.text(max_size=6),
)


def _csv(header: list[str], rows: list[list[str]], sep: str = ",") -> bytes:
    buf = io.StringIO()
    pd.DataFrame(rows, columns=header).to_csv(buf, index=False, sep=sep)
    return buf.getvalue().encode("utf-8")


def _refuses_cleanly(fn) -> object:
    try:
        return fn()
    except InputError as err:
        assert str(err)
        return err


@FAST
@given(st.binary(max_size=2048))
def test_read_table_on_random_bytes(raw):
    got = _refuses_cleanly(lambda: ingest.read_table(raw, "x.csv"))
    if isinstance(got, pd.DataFrame):
        assert len(got) > 0 and (got.index + 2 >= 2).all()


@FAST
@given(st.text(alphabet=string.printable + "é;\u00a0\u2028", max_size=400))
def test_prepare_on_random_csv_text(text):
    for kind in ("roster", "surveys", "caseload"):
        _refuses_cleanly(lambda: ingest.prepare(**{kind: text.encode("utf-8")}, known_helpers=KNOWN))


@FAST
@given(st.lists(st.lists(cell, min_size=len(ROSTER_HEAD), max_size=len(ROSTER_HEAD)), min_size=1, max_size=5))
def test_prepare_roster_on_random_cells(rows):
    got = _refuses_cleanly(lambda: ingest.prepare(roster=_csv(ROSTER_HEAD, rows)))
    if isinstance(got, dict):
        r = got["roster"][1]
        assert r["fte"].between(0, 1.5, inclusive="right").all()
        assert r["helper_id"].str.len().le(80).all() and not r["helper_id"].str.contains("\x00").any()


@FAST
@given(st.lists(st.lists(cell, min_size=len(CASE_HEAD), max_size=len(CASE_HEAD)), min_size=1, max_size=5),
       st.sampled_from([",", ";"]))
def test_prepare_caseload_on_random_cells(rows, sep):
    got = _refuses_cleanly(lambda: ingest.prepare(caseload=_csv(CASE_HEAD, rows, sep), known_helpers=KNOWN))
    if isinstance(got, dict):
        w = got["caseload"][1]
        assert np.isfinite(w["active_cases"]).all() and (w["hours_worked"].dropna() <= 168).all()
        assert (w["overtime_hours"].fillna(0) <= w["hours_worked"].fillna(np.inf)).all()


@FAST
@given(st.lists(st.tuples(st.sampled_from(["H1", "H2", "H9", ""]),
                          st.sampled_from(["2026-03-02", "2026-03-09T10:00", "12/03/2026", "2099-01-01", "x"]),
                          st.sampled_from(["sib", "pulse", "SIB", "mbi"]),
                          cell, cell), min_size=1, max_size=5))
def test_prepare_surveys_on_random_cells(rows):
    header = ["helper_id", "submitted_at", "instrument", "sib_1", "pulse_1"]
    got = _refuses_cleanly(lambda: ingest.prepare(surveys=_csv(header, [list(r) for r in rows]),
                                                  known_helpers=KNOWN))
    if isinstance(got, dict):
        _, subs, ans = got["surveys"]
        assert ans["value"].between(1, 5).all() and subs["helper_id"].isin(KNOWN).all()


answers = st.one_of(st.none(), st.integers(-3, 120), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["Often", "always", " Never ", "75", "3.0", "x", "", "n/a", True]))


@pytest.mark.parametrize("instrument", ["proqol5", "cbi", "sib"])
def test_score_on_random_answers(instrument):
    items = load(instrument).item_ids

    @FAST
    @given(st.lists(st.lists(answers, min_size=len(items), max_size=len(items)), min_size=1, max_size=4))
    def check(rows):
        frame = pd.DataFrame(rows, columns=list(items), dtype=object)
        got = _refuses_cleanly(lambda: scoring.score(frame, instrument))
        if isinstance(got, pd.DataFrame):
            assert len(got) == len(frame)
            num = got.select_dtypes("number")
            assert np.isfinite(num.to_numpy(dtype=float)[~np.isnan(num.to_numpy(dtype=float))]).all()

    check()
