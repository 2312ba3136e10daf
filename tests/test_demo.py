"""The demo organisation: formats, determinism, realism and the burnout effects it builds in.

The scoring module is written separately, so ProQOL burnout is summed here by
hand (DESIGN §4) to keep these tests independent of it.
"""
from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest

from burnout.domain.settings import CASELOAD_STANDARDS, TEAM_KINDS
from burnout.demo import generate, write_demo

ROSTER_HEADER = ("helper_id,name,team,role,site,fte,start_date,end_date,end_reason,"
                 "annual_salary,specialties,caseload_standard,team_kind")
CASELOAD_HEADER = ("helper_id,week_start,active_cases,new_cases,high_acuity_cases,"
                   "trauma_exposures,critical_incidents,hours_worked,overtime_hours,"
                   "case_types,cases_outside_specialty")
PROQOL = [f"proqol_{i}" for i in range(1, 31)]
CBI = ([f"cbi_p{i}" for i in range(1, 7)] + [f"cbi_w{i}" for i in range(1, 8)]
       + [f"cbi_c{i}" for i in range(1, 7)])
PULSE = [f"pulse_{i}" for i in range(1, 7)]
ITEMS = {"proqol5": PROQOL, "cbi": CBI, "sib": ["sib_1"], "pulse": PULSE}
SURVEYS_HEADER = ",".join(["helper_id", "submitted_at", "instrument"] + PROQOL + CBI + ["sib_1"] + PULSE)
BO_ITEMS = (1, 4, 8, 10, 15, 17, 19, 21, 26, 29)
REVERSED = (1, 4, 15, 17, 29)
END_REASONS = {"resigned - workload", "resigned - relocation", "resigned - other job",
               "retired", "dismissed"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("demo_a"))


@pytest.fixture(scope="module")
def frames(files):
    """The default demo as it reads back from its CSV files (what an importer sees)."""
    return {name: pd.read_csv(path, keep_default_na=True) for name, path in files.items()}


def _standard(roster: pd.DataFrame) -> pd.Series:
    """Each helper's expected caseload at their FTE, from the role's default standard."""
    r = roster.set_index("helper_id")
    return r["role"].map(CASELOAD_STANDARDS) * r["fte"]


def _week_of(stamps: pd.Series) -> pd.Series:
    ts = pd.to_datetime(stamps)
    return ts.dt.normalize() - pd.to_timedelta(ts.dt.weekday, unit="D")


def _bo_sum(pq: pd.DataFrame) -> pd.Series:
    cols = {i: pq[f"proqol_{i}"] for i in BO_ITEMS}
    return sum(6 - cols[i] if i in REVERSED else cols[i] for i in BO_ITEMS)


# --------------------------------------------------------------------------- determinism

def test_same_seed_gives_byte_identical_files_and_another_seed_differs(files, tmp_path):
    again = write_demo(tmp_path / "b")
    other = write_demo(tmp_path / "c", seed=8)
    assert set(files) == set(again) == {"roster", "surveys", "caseload"}
    for name in files:
        assert files[name].name == f"{name}.csv"
        assert files[name].read_bytes() == again[name].read_bytes(), name
        assert files[name].read_bytes() != other[name].read_bytes(), name


def test_output_does_not_depend_on_today_and_end_date_is_respected():
    default = generate(helpers=12, weeks=5)
    assert default["caseload"]["week_start"].max() == "2026-11-16"
    assert default["caseload"]["week_start"].min() == "2026-10-19"
    # A mid-week end date snaps back to its Monday.
    moved = generate(helpers=12, weeks=5, end_date="2026-03-04")
    assert moved["caseload"]["week_start"].max() == "2026-03-02"


def test_written_surveys_match_the_frame(files):
    """write_demo formats surveys.csv by hand for speed; it must equal the frame."""
    frame = generate()["surveys"]
    back = pd.read_csv(files["surveys"])
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    cells = set(",".join(files["surveys"].read_text().splitlines()[1:]).split(","))
    answers = {c for c in cells if not re.fullmatch(r"H\d+|\d{4}-.*|proqol5|cbi|sib|pulse|\d+", c)}
    assert answers <= {""}, answers  # answers print as "3" or "25", never "3.0", "-0" or "nan"
    assert {c for c in cells if re.fullmatch(r"\d+", c)} <= {"0", "1", "2", "3", "4", "5",
                                                            "25", "50", "75", "100"}


# --------------------------------------------------------------------------- formats

def test_headers_are_exactly_the_import_formats(files):
    headers = {name: path.read_text().split("\n", 1)[0] for name, path in files.items()}
    assert headers == {"roster": ROSTER_HEADER, "caseload": CASELOAD_HEADER,
                       "surveys": SURVEYS_HEADER}


def test_roster_values(frames):
    r = frames["roster"]
    assert r["helper_id"].is_unique
    assert r["helper_id"].str.fullmatch(r"H\d{4}").all()
    assert r["name"].str.fullmatch(r"\S+ \S+").all()
    assert set(r["team_kind"]) == set(TEAM_KINDS)
    assert set(r["role"]) <= set(CASELOAD_STANDARDS)
    assert r["fte"].between(0.5, 1.0).all()
    assert r["annual_salary"].between(30_000, 130_000).all()
    nurses = r.loc[r["role"] == "nurse", "annual_salary"]
    crisis = r.loc[r["role"] == "crisis line worker", "annual_salary"]
    if len(nurses) and len(crisis):
        assert nurses.median() > crisis.median()
    assert r["site"].nunique() >= 2
    assert r.groupby("team")["team_kind"].nunique().eq(1).all()
    iso = r"\d{4}-\d{2}-\d{2}"
    assert r["start_date"].str.fullmatch(iso).all()
    assert r["end_date"].dropna().str.fullmatch(iso).all()
    # Specialties come from a short list per team kind, `;`-separated.
    kinds_lists = r.groupby("team_kind")["specialties"].apply(
        lambda s: set(";".join(s).split(";")))
    assert all(2 <= len(v) <= 5 for v in kinds_lists)
    assert r["specialties"].str.count(";").between(1, 2).all()
    assert kinds_lists["child_welfare"] <= {"child protection", "foster care", "adolescents",
                                            "substance use", "domestic violence"}


def test_caseload_standard_is_the_role_standard_or_blank(frames):
    r = frames["roster"]
    blank = r["caseload_standard"].isna()
    assert 0.02 <= blank.mean() <= 0.2  # exercises the importer's fallback
    given = r[~blank]
    assert (given["caseload_standard"] == given["role"].map(CASELOAD_STANDARDS)).all()


def test_caseload_rows_are_valid(frames):
    c, r = frames["caseload"], frames["roster"]
    counts = ["active_cases", "new_cases", "high_acuity_cases", "trauma_exposures",
              "critical_incidents", "hours_worked", "overtime_hours", "cases_outside_specialty"]
    for col in counts:
        assert pd.api.types.is_integer_dtype(c[col]), col
        assert (c[col] >= 0).all(), col
    assert (c["high_acuity_cases"] <= c["active_cases"]).all()
    assert (c["cases_outside_specialty"] <= c["active_cases"]).all()
    assert (c["overtime_hours"] <= c["hours_worked"]).all()
    weeks = pd.to_datetime(c["week_start"], format="%Y-%m-%d")
    assert (weeks.dt.weekday == 0).all()
    assert not c.duplicated(["helper_id", "week_start"]).any()
    assert set(c["helper_id"]) <= set(r["helper_id"])
    # Case types name the team's kinds of case; "outside specialty" is not
    # among the helper's specialties.
    m = c.merge(r[["helper_id", "specialties"]], on="helper_id")
    types = m["case_types"].fillna("").str.split(";")
    spec = m["specialties"].str.split(";")
    outside = np.array([bool(set(t) - set(s)) for t, s in zip(types, spec)])
    assert ((m["cases_outside_specialty"] > 0) == outside).all()
    assert (m.loc[m["active_cases"] > 0, "case_types"].notna()).all()


def test_caseloads_sometimes_exceed_the_role_standard(frames):
    c = frames["caseload"]
    ratio = c["active_cases"] / c["helper_id"].map(_standard(frames["roster"]))
    over = (ratio > 1.0).mean()
    assert 0.15 <= over <= 0.75
    assert (ratio > 1.3).any() and (ratio < 0.9).any()


def test_answers_are_within_each_instrument_scale(frames):
    s = frames["surveys"]
    assert set(s["instrument"]) == set(ITEMS)
    assert s["submitted_at"].str.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}").all()
    all_items = [c for cols in ITEMS.values() for c in cols]
    for inst, cols in ITEMS.items():
        rows = s[s["instrument"] == inst]
        others = [c for c in all_items if c not in cols]
        assert rows[others].isna().all().all(), inst
        vals = rows[cols].stack()
        allowed = {0, 25, 50, 75, 100} if inst == "cbi" else {1, 2, 3, 4, 5}
        assert set(vals.unique()) <= allowed, inst
        if inst == "cbi":
            missing = rows[cols].isna().sum(axis=1)
            assert missing.max() <= 1
            assert 0 < (missing > 0).mean() <= 0.08
        else:
            assert rows[cols].notna().all().all(), inst


# --------------------------------------------------------------------------- organisation

def test_default_size_teams_and_sizes(frames):
    r, c = frames["roster"], frames["caseload"]
    first_week = c["week_start"].min()
    at_start = c.loc[c["week_start"] == first_week, "helper_id"]
    assert at_start.nunique() == 60
    assert len(r) > 60  # leavers are replaced by new hires
    team_at_start = r.set_index("helper_id").loc[at_start, "team"].value_counts()
    assert team_at_start.max() <= 12
    assert (team_at_start <= 4).any()  # so minimum-group suppression shows
    assert (team_at_start >= 5).mean() >= 0.7
    assert r["team_kind"].nunique() == 6


@pytest.mark.parametrize("helpers,weeks", [(1, 3), (7, 4), (25, 10), (130, 6)])
def test_helpers_argument_is_the_headcount_in_the_first_week(helpers, weeks):
    f = generate(helpers=helpers, weeks=weeks, seed=3)
    c = f["caseload"]
    assert c["week_start"].nunique() == weeks
    assert c.loc[c["week_start"] == c["week_start"].min(), "helper_id"].nunique() == helpers
    assert f["roster"]["helper_id"].nunique() >= helpers


def test_leavers_have_reasons_and_no_rows_after_leaving(frames):
    r, c, s = frames["roster"], frames["caseload"], frames["surveys"]
    left = r["end_date"].notna()
    assert 0.10 <= left.mean() <= 0.30
    assert r["end_reason"].notna().eq(left).all()
    assert set(r.loc[left, "end_reason"]) <= END_REASONS
    assert (r.loc[left, "end_date"] >= r.loc[left, "start_date"]).all()
    end = r.set_index("helper_id")["end_date"]
    start = r.set_index("helper_id")["start_date"]
    assert (c["week_start"] <= c["helper_id"].map(end).fillna("9999")).all()
    assert (s["submitted_at"].str[:10] <= s["helper_id"].map(end).fillna("9999")).all()
    # New hires start on a Monday inside the period and have no rows before it.
    first_week = c["week_start"].min()
    hires = r[r["start_date"] > first_week]
    assert len(hires) > 0
    assert (pd.to_datetime(hires["start_date"]).dt.weekday == 0).all()
    hired_rows = c[c["helper_id"].isin(hires["helper_id"])]
    assert (hired_rows["week_start"] >= hired_rows["helper_id"].map(start)).all()


def test_each_leaver_is_replaced_so_teams_keep_their_size(frames):
    r = frames["roster"]
    left = r[r["end_date"].notna()].groupby("team").size()
    hired = r[r["start_date"] > frames["caseload"]["week_start"].min()].groupby("team").size()
    # Replacements lag a recruitment gap, so the last leavers may be unreplaced.
    assert hired.sum() >= 0.5 * left.sum()
    assert set(hired.index) <= set(left.index)


def test_check_ins_are_sometimes_missed_and_follow_the_cadence(frames):
    c, s = frames["caseload"], frames["surveys"]
    employed = c.groupby("helper_id").size()
    per = s.groupby(["helper_id", "instrument"]).size().unstack(fill_value=0)
    pulse = per["pulse"].reindex(employed.index, fill_value=0)
    assert (pulse <= employed).all()
    missed = 1 - pulse.sum() / employed.sum()
    assert 0.10 <= missed <= 0.35
    assert (per["sib"] == per["pulse"]).all()  # one check-in answers both
    # CBI every 4 weeks and ProQOL every 12, of the weeks employed.
    assert 0.12 <= per["cbi"].sum() / employed.sum() <= 0.25
    assert 0.04 <= per["proqol5"].sum() / employed.sum() <= 0.09
    # At most one pulse per helper-week, submitted inside an employed week.
    week = _week_of(s["submitted_at"]).dt.strftime("%Y-%m-%d")
    key = s["helper_id"] + "|" + week
    assert set(key) <= set(c["helper_id"] + "|" + c["week_start"])
    assert not key[s["instrument"] == "pulse"].duplicated().any()


# --------------------------------------------------------------------------- realism and effects

def test_burnout_levels_have_a_realistic_spread(frames):
    s, c = frames["surveys"], frames["caseload"]
    last4 = sorted(c["week_start"].unique())[-4]
    sib = s[(s["instrument"] == "sib") & (s["submitted_at"].str[:10] >= last4)]
    assert 0.30 <= (sib["sib_1"] >= 3).mean() <= 0.55
    bo = _bo_sum(s[s["instrument"] == "proqol5"])
    assert bo.between(18, 35).mean() >= 0.7
    assert bo.min() >= 10 and bo.max() <= 50


def _lagged_ratio(frames) -> pd.DataFrame:
    """Mean caseload/standard ratio over the three weeks *before* each week."""
    c = frames["caseload"].copy()
    c["ratio"] = c["active_cases"] / c["helper_id"].map(_standard(frames["roster"]))
    c = c.sort_values(["helper_id", "week_start"])
    c["lagged"] = c.groupby("helper_id")["ratio"].transform(
        lambda x: x.shift(1).rolling(3, min_periods=2).mean())
    c["week"] = pd.to_datetime(c["week_start"])
    return c[["helper_id", "week", "lagged"]].dropna()


def test_high_caseload_weeks_are_followed_by_more_burnout(frames):
    s = frames["surveys"].copy()
    s["week"] = _week_of(s["submitted_at"])
    lag = _lagged_ratio(frames)

    sib = s[s["instrument"] == "sib"].merge(lag, on=["helper_id", "week"])
    high = sib["lagged"] >= sib["lagged"].quantile(0.75)
    low = sib["lagged"] <= sib["lagged"].quantile(0.25)
    assert sib.loc[high, "sib_1"].mean() - sib.loc[low, "sib_1"].mean() >= 0.4

    pq = s[s["instrument"] == "proqol5"].merge(lag, on=["helper_id", "week"])
    pq["bo"] = _bo_sum(pq)
    median = pq["lagged"].median()
    assert pq.loc[pq["lagged"] > median, "bo"].mean() - pq.loc[pq["lagged"] <= median, "bo"].mean() >= 1.5


def test_vacancies_load_the_remaining_colleagues():
    f = generate(helpers=400, weeks=52, seed=5)
    r, c = f["roster"], f["caseload"]
    c = c.merge(r[["helper_id", "team"]], on="helper_id")
    c["ratio"] = c["active_cases"] / c["helper_id"].map(_standard(r))
    headcount = c.groupby(["team", "week_start"])["helper_id"].transform("size")
    full_size = c[c["week_start"] == c["week_start"].min()].groupby("team").size()
    short = headcount < c["team"].map(full_size)
    assert c.loc[short, "ratio"].mean() > c.loc[~short, "ratio"].mean() + 0.03


def test_burned_out_helpers_leave_more_often():
    """About the relative risk of turnover-models.md §7 (RR ≈ 2), measured as an analyst would.

    Helper-weeks answered sib_1 >= 3 versus < 3, and whether the helper left in
    the following eight weeks.
    """
    f = generate(helpers=1500, weeks=52, seed=2)
    r, s = f["roster"], f["surveys"]
    sib = s[s["instrument"] == "sib"].copy()
    sib["week"] = _week_of(sib["submitted_at"])
    sib = sib[sib["week"] <= sib["week"].max() - pd.Timedelta(weeks=8)]
    end = pd.to_datetime(sib["helper_id"].map(r.set_index("helper_id")["end_date"]))
    leaves = (end > sib["week"]) & (end <= sib["week"] + pd.Timedelta(weeks=8))
    burned = sib["sib_1"] >= 3
    rr = leaves[burned].mean() / leaves[~burned].mean()
    assert 1.4 <= rr <= 3.5
    # And the all-cause rate stays near the kinds' base rates (the settings' base turnover).
    assert 0.15 <= r["end_date"].notna().sum() / 1500 <= 0.32


def test_some_helpers_are_clearly_rising(frames):
    s = frames["surveys"]
    sib = s[s["instrument"] == "sib"].copy()
    sib["t"] = (_week_of(sib["submitted_at"]) - _week_of(sib["submitted_at"]).min()).dt.days / 7
    first = sib[sib["t"] < 13].groupby("helper_id")["sib_1"].mean()
    last = sib[sib["t"] >= sib["t"].max() - 12].groupby("helper_id")["sib_1"].mean()
    change = (last - first).dropna()
    assert (change >= 1.0).sum() >= 3


def test_large_organisation_is_fast():
    start = time.perf_counter()
    f = generate(helpers=1000, weeks=104, seed=1)
    elapsed = time.perf_counter() - start
    assert elapsed < 10  # 5,000 x 104 takes a few seconds; this guards against a slow path
    c = f["caseload"]
    assert c.loc[c["week_start"] == c["week_start"].min(), "helper_id"].nunique() == 1000
    assert re.fullmatch(r"H\d{4}", f["roster"]["helper_id"].iloc[-1])


@pytest.mark.parametrize("args", [["--helpers", "0"], ["--weeks", "0"], ["--helpers", "-3"]])
def test_cli_rejects_an_empty_organisation_cleanly(tmp_path, args):
    from conftest import run_cli

    r = run_cli("demo", "--out", str(tmp_path / "d"), *args)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "at least 1" in r.stderr
    assert not (tmp_path / "d").exists()


def test_generate_rejects_an_empty_organisation_as_input_error():
    from burnout.errors import InputError

    with pytest.raises(InputError, match="at least 1"):
        generate(helpers=0, weeks=4)


def test_cli_demo_into_a_file_path_is_a_clean_error(tmp_path):
    from conftest import run_cli

    blocker = tmp_path / "taken"
    blocker.write_text("x")
    r = run_cli("demo", "--out", str(blocker), "--helpers", "5", "--weeks", "2")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "taken" in r.stderr
