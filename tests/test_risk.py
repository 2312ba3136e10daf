"""Burnout risk per helper-week: scores, drivers, missing data, calibration, report."""
from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from burnout import leaving as L
from burnout import risk as R
from burnout.errors import InputError
from burnout.domain.settings import Settings
from burnout.views import risk_table
from helpers import simulated_leaving_history

MON = pd.Timestamp("2024-01-01")   # a Monday
SCORE_COLS = ["compassion_satisfaction", "burnout", "secondary_traumatic_stress", "personal_burnout",
              "work_burnout", "client_burnout", "sib_level", "burned_out", "pulse_strain",
              "pulse_trauma_load", "pulse_support"]
TYPICAL_LOAD = dict(active_cases=15.0, new_cases=2.0, high_acuity_cases=3.0, trauma_exposures=1.0,
                    critical_incidents=0.0, hours_worked=40.0, overtime_hours=1.0, case_types="neglect",
                    cases_outside_specialty=1.0)


def make_roster(ids, team="CW-North", **extra):
    df = pd.DataFrame({"helper_id": ids, "name": ids, "team": team, "team_kind": "child_welfare",
                       "role": "child welfare caseworker", "site": "S", "fte": 1.0,
                       "start_date": pd.Timestamp("2020-01-01"), "end_date": pd.NaT, "end_reason": None,
                       "annual_salary": 60_000.0, "specialties": "neglect", "caseload_standard": 17.0})
    for k, v in extra.items():
        df[k] = v
    return df


def make_caseload(ids, weeks, over=None):
    """Weekly rows; ``over[helper][column]`` is a value or a function of the week number."""
    rows = []
    for h in ids:
        for w in range(weeks):
            row = dict(TYPICAL_LOAD, helper_id=h, week_start=MON + pd.Timedelta(weeks=w))
            for col, val in (over or {}).get(h, {}).items():
                row[col] = val(w) if callable(val) else val
            rows.append(row)
    return pd.DataFrame(rows)


def make_scores(ids, weeks, over=None, proqol_weeks=(0,)):
    """Weekly pulse + single item, CBI every 4 weeks, ProQOL at ``proqol_weeks``."""
    rows = []

    def add(h, w, instrument, **vals):
        for col, val in (over or {}).get(h, {}).items():
            if col in vals:
                vals[col] = val(w) if callable(val) else val
        rows.append(dict(helper_id=h, instrument=instrument, week_start=MON + pd.Timedelta(weeks=w),
                         submitted_at=MON + pd.Timedelta(weeks=w, days=2), **vals))

    for h in ids:
        pq = (over or {}).get(h, {}).get("_proqol_weeks", proqol_weeks)
        for w in range(weeks):
            add(h, w, "pulse", pulse_strain=35.0)
            add(h, w, "sib", sib_level=2.0, burned_out=False)
            if w % 4 == 0:
                add(h, w, "cbi", personal_burnout=35.0, work_burnout=35.0, client_burnout=30.0)
            if w in pq:
                add(h, w, "proqol5", compassion_satisfaction=38.0, burnout=22.0, secondary_traumatic_stress=17.0)
    df = pd.DataFrame(rows)
    for c in SCORE_COLS:
        if c not in df:
            df[c] = np.nan
    df.insert(0, "submission_id", np.arange(len(df)))
    return df


def latest_of(hist):
    return hist.sort_values("week_start").groupby("helper_id").tail(1).set_index("helper_id")


IDS = ["H0", "H1", "H2", "H3", "H4", "H5"]


# --------------------------------------------------------------------------- #
# shape, scale, bands
# --------------------------------------------------------------------------- #

def test_weights_sum_to_one_and_bands():
    assert sum(R.DEFAULT_WEIGHTS.values()) == pytest.approx(1.0)
    assert list(R.band([0, 39.99, 40, 64.99, 65, 100, np.nan])) == \
        ["low", "low", "moderate", "moderate", "high", "high", None]


def test_pressure_anchors_follow_published_norms():
    # anchors moved from the manuals' band edges to the published norms (issue: "high"
    # meant top 0.5 % on ProQOL burnout and 39 % on the single item)
    from burnout.domain import measures as M
    z40, z16 = 0.2533, 0.9945
    assert R.pressure("burnout", 22.8 + z40 * 5.4) == pytest.approx(0.40, abs=1e-3)   # De La Rosa 2018
    assert R.pressure("burnout", 22.8 + z16 * 5.4) == pytest.approx(0.65, abs=1e-3)
    assert R.pressure("cbi_work", 33.0 + z40 * 17.6) == pytest.approx(0.40, abs=1e-3)  # Kristensen 2005
    assert R.pressure("sib", [1, 3, 4, 5]).tolist() == pytest.approx([0, 0.40, 0.65, 1.0])  # Dolan 38.5 % / 15.7 %
    assert R.pressure("low_cs", 37.7 - z16 * 6.5) == pytest.approx(0.65, abs=1e-3)
    assert R.pressure("low_cs", 10) > R.pressure("low_cs", 45)    # protective
    # the pulse has no published norms: its own bands stay its anchors
    assert R.pressure("pulse_strain", [40, 60]).tolist() == pytest.approx([0.40, 0.65])
    assert M.get("burnout").norm_source.startswith("De La Rosa")
    assert np.isnan(R.pressure("caseload", np.nan))


def _normative_population(n=40_000, seed=3):
    """Scores a normative population would give: each instrument from its own
    published figures, on its own response grid (whole ProQOL sums, CBI means
    of 0/25/.../100 answers, single-item levels from Dolan's distribution)."""
    rng = np.random.default_rng(seed)
    out = {}
    for comp, (mean, sd, grid) in {"burnout": (22.8, 5.4, 1), "sts": (16.7, 5.7, 1),
                                   "low_cs": (37.7, 6.5, 1), "cbi_personal": (35.9, 16.5, 25 / 6),
                                   "cbi_work": (33.0, 17.6, 25 / 7), "cbi_client": (30.9, 17.7, 25 / 6)}.items():
        lo, hi = (10, 50) if comp in ("burnout", "sts", "low_cs") else (0, 100)
        out[comp] = np.clip(np.round(rng.normal(mean, sd, n) / grid) * grid, lo, hi)
    # Dolan 2015: 3+ 38.5 %, 4+ 15.7 %, 5 5.6 %; 1 vs 2 split evenly (not published)
    p = np.array([0.3075, 0.3076, 0.2282, 0.1010, 0.0557])
    out["sib"] = rng.choice([1, 2, 3, 4, 5], n, p=p / p.sum())
    return out


def test_moderate_and_high_select_similar_shares_of_a_normative_population_on_every_instrument():
    pop = _normative_population()
    for anchor in (0.40, 0.65):
        shares = {c: float((R.pressure(c, v) >= anchor - 1e-9).mean()) for c, v in pop.items()}
        assert max(shares.values()) / min(shares.values()) <= 1.5, (anchor, shares)
    # and the manuals' bands a helper sees did not move
    from burnout.domain import measures as M
    assert M.get("burnout").band([22, 23, 41, 42]).tolist() == ["low", "moderate", "moderate", "high"]


def test_compute_risk_columns_and_ranges():
    hist = R.compute_risk(make_roster(IDS), make_caseload(IDS, 10), make_scores(IDS, 10))
    assert list(hist.columns) == R.OUTPUT_COLUMNS
    assert len(hist) == len(IDS) * 10
    assert hist["risk_score"].between(0, 100).all()
    assert hist["confidence"].between(0, 1).all()
    assert set(hist["risk_band"]) <= {"low", "moderate", "high"}
    assert (hist["week_start"].dt.dayofweek == 0).all()
    # typical inputs everywhere: low risk and nothing named as a driver
    last = latest_of(hist)
    assert (last["risk_band"] == "low").all()
    assert (last[["driver_1", "driver_2", "driver_3"]] == "").all().all()


SELF_COLS = [f"c_{n}" for n in R.SELF_REPORT]
CONTEXT_COLS = [f"c_{n}" for n in R.CONTEXT]
NORMAL = {f"c_{n}": R.NORMAL_PRESSURE[n] for n in R.CONTEXT}


def test_every_self_report_at_its_high_threshold_is_high_whatever_the_normal_workload():
    high = pd.DataFrame([{**{c: 0.65 for c in SELF_COLS}, **NORMAL}])
    assert R.combine(high).iloc[0] == pytest.approx(65.0)
    assert R.band(R.combine(high))[0] == "high"
    # the same answers with no workload data at all: a normal workload adds and takes nothing
    assert R.combine(high[SELF_COLS]).iloc[0] == pytest.approx(65.0)
    moderate = pd.DataFrame([{**{c: 0.40 for c in SELF_COLS}, **NORMAL}])
    assert R.combine(moderate).iloc[0] == pytest.approx(40.0)
    assert R.band(R.combine(moderate))[0] == "moderate"


def test_context_can_only_raise_the_self_reported_level():
    answers = {c: 0.30 for c in SELF_COLS}
    calm = pd.DataFrame([{**answers, **{c: 0.0 for c in CONTEXT_COLS}}])
    normal = pd.DataFrame([{**answers, **NORMAL}])
    assert R.combine(calm).iloc[0] == pytest.approx(30.0) == R.combine(normal).iloc[0]
    # moderate answers and every context input at its high threshold: raised, but by at most half of
    # the room above the answers (CONTEXT_ALPHA 0.9 -> 0.5 -> 0.25: workload acts through exhaustion)
    stretched = pd.DataFrame([{**{c: 0.40 for c in SELF_COLS}, **{c: 0.65 for c in CONTEXT_COLS}}])
    assert 40 < R.combine(stretched).iloc[0] < 40 + 60 * R.CONTEXT_ALPHA
    assert R.combine(stretched).iloc[0] == pytest.approx(40 + 60 * 0.25 * 0.4615, abs=1.0)
    everything_high = pd.DataFrame([{c: 0.65 for c in R.COMPONENT_COLUMNS}])
    assert R.combine(everything_high).iloc[0] > 65


def test_self_reports_at_their_instruments_normative_anchors_with_normal_workload():
    """Raw scores on each instrument's normative high anchor (16 % of a normative
    population reach it), caseload at the standard: high band; at the moderate
    anchor (40 % reach it): 40.  (Anchors moved from the manuals' band edges to
    the published norms.)"""
    from burnout.domain import measures as M
    weeks = 6
    cols = {"personal_burnout", "work_burnout", "client_burnout", "burnout", "secondary_traumatic_stress",
            "compassion_satisfaction", "sib_level"}

    def at(share):
        return {c: M.get(c).norm_anchor(share) for c in cols}

    high = {"H1": {**at(0.16), "pulse_strain": 60.0}}
    moderate = {"H2": {**at(0.40), "pulse_strain": 40.0}}
    load = {h: {"active_cases": 17.0} for h in IDS}      # exactly the role standard
    hist = R.compute_risk(make_roster(IDS), make_caseload(IDS, weeks, load),
                          make_scores(IDS, weeks, {**high, **moderate}, proqol_weeks=(weeks - 1,)))
    last = latest_of(hist)
    assert last.loc["H1", "risk_score"] == pytest.approx(65, abs=0.5) and last.loc["H1", "risk_band"] == "high"
    assert last.loc["H2", "risk_score"] == pytest.approx(40, abs=0.5)
    assert last.loc["H0", "risk_band"] == "low"


@pytest.mark.parametrize("answers, band", [({"sib_level": 4.0}, "high"),
                                           ({"sib_level": 5.0, "work_burnout": 79.0}, "high"),
                                           ({"sib_level": 2.0}, "low")])
def test_single_answers_are_not_diluted_by_a_normal_workload(answers, band):
    weeks = 4
    sc = make_scores(["A"], weeks)
    sc = sc[sc["instrument"].isin({"sib"} | ({"cbi"} if "work_burnout" in answers else set()))].copy()
    for col, v in answers.items():
        sc.loc[sc[col].notna(), col] = v
    sc.loc[sc["instrument"] == "cbi", ["personal_burnout", "client_burnout"]] = np.nan
    latest = R.latest_risk(_ROSTER1, make_caseload(["A"], weeks), sc).iloc[0]
    assert latest["risk_band"] == band, latest["risk_score"]


def test_pulse_only_helper_is_scored_from_the_pulse_with_low_confidence():
    weeks = 6
    sc = make_scores(IDS, weeks, {"H1": {"pulse_strain": 100.0}})
    sc = sc[(sc["helper_id"] != "H1") | (sc["instrument"] == "pulse")]
    last = latest_of(R.compute_risk(make_roster(IDS), make_caseload(IDS, weeks), sc))
    assert last.loc["H1", "risk_band"] == "high"
    assert last.loc["H1", "risk_score"] == pytest.approx(100.0)
    assert last.loc["H1", "driver_1"] == "weekly strain (pulse) 100 of 100, high range"
    assert last.loc["H1", "confidence"] < last.loc["H0", "confidence"]


def test_caseload_only_helper_gets_no_risk_score_but_workload_drivers():
    weeks = 8
    over = {"H1": {"active_cases": 27.2}}
    sc = make_scores(IDS, weeks)
    sc = sc[sc["helper_id"] != "H1"]
    hist = R.compute_risk(make_roster(IDS), make_caseload(IDS, weeks, over), sc)
    last = latest_of(hist)
    assert np.isnan(last.loc["H1", "risk_score"]) and last.loc["H1", "risk_band"] is None
    assert last.loc["H1", "driver_1"] == "caseload 160 % of the role standard for 8 weeks"
    assert 0 < last.loc["H1", "confidence"] < 1
    assert hist.loc[hist["helper_id"] == "H1", "risk_score"].isna().all()
    latest = R.latest_risk(make_roster(IDS), make_caseload(IDS, weeks, over), sc).set_index("helper_id")
    assert np.isnan(latest.loc["H1", "risk_score"]) and latest.loc["H1", "risk_band"] is None


# --------------------------------------------------------------------------- #
# drivers name injected causes
# --------------------------------------------------------------------------- #

def test_overloaded_caseload_is_named_as_driver():
    weeks = 12
    over = {"H1": {"active_cases": lambda w: 27.2 if w >= weeks - 8 else 15.0}}   # 1.6 × 17 for 8 weeks
    hist = R.compute_risk(make_roster(IDS), make_caseload(IDS, weeks, over), make_scores(IDS, weeks))
    last = latest_of(hist)
    assert last.loc["H1", "driver_1"] == "caseload 160 % of the role standard for 8 weeks"
    assert last.loc["H1", "risk_score"] > last.loc["H0", "risk_score"]
    others = last.drop(index="H1")
    assert not others["driver_1"].str.contains("caseload").any()


def test_rising_secondary_traumatic_stress_is_named_as_driver():
    weeks = 13
    sts = {0: 18.0, 4: 24.0, 8: 30.0, 12: 37.0}
    over = {"H2": {"_proqol_weeks": tuple(sts), "secondary_traumatic_stress": lambda w: sts[w]}}
    hist = R.compute_risk(make_roster(IDS), make_caseload(IDS, weeks), make_scores(IDS, weeks, over))
    last = latest_of(hist)
    drivers = " | ".join(last.loc["H2", ["driver_1", "driver_2", "driver_3"]])
    assert "secondary traumatic stress (ProQOL) rising 3 check-ins in a row" in drivers
    assert last.loc["H2", "driver_1"].startswith("secondary traumatic stress")
    assert last.loc["H2", "c_trend"] > 0.9
    assert last.loc["H0", "c_trend"] == pytest.approx(0.0)


def test_one_noisy_pulse_is_not_a_trend():
    weeks = 10
    over = {"H3": {"pulse_strain": lambda w: 90.0 if w == weeks - 1 else 35.0}}
    hist = R.compute_risk(make_roster(IDS), make_caseload(IDS, weeks), make_scores(IDS, weeks, over))
    last = latest_of(hist)
    assert last.loc["H3", "c_trend"] == pytest.approx(0.0)
    assert "rising" not in " ".join(last.loc["H3", ["driver_1", "driver_2", "driver_3"]])


def test_driver_texts_for_workload_inputs():
    weeks = 8
    over = {"H1": {"overtime_hours": 14.0}, "H2": {"critical_incidents": lambda w: 1.0 if w in (5, 7) else 0.0},
            "H3": {"trauma_exposures": 7.0}, "H4": {"cases_outside_specialty": 8.0}}
    hist = R.compute_risk(make_roster(IDS), make_caseload(IDS, weeks, over), make_scores(IDS, weeks))
    last = latest_of(hist)
    assert last.loc["H1", "driver_1"] == "14 hours of overtime a week over the last 4 weeks"
    assert last.loc["H2", "driver_1"] == "2 critical incidents in the last 8 weeks"
    assert last.loc["H3", "driver_1"] == "7.0 trauma exposures a week over the last 4 weeks"
    assert "outside the helper's areas of specialty" in last.loc["H4", "driver_1"]


def test_client_word_follows_team_kind():
    weeks = 5
    roster = make_roster(IDS)
    roster["team_kind"] = "crisis_line"
    over = {"H1": {"client_burnout": 85.0}}
    hist = R.compute_risk(roster, make_caseload(IDS, weeks), make_scores(IDS, weeks, over))
    assert latest_of(hist).loc["H1", "driver_1"] == "caller-related burnout (CBI) 85 of 100, high range"


def test_missed_checkins_named_plainly():
    weeks = 10
    scores = make_scores(IDS, weeks)
    gone = (scores["helper_id"] == "H5") & (scores["week_start"] >= MON + pd.Timedelta(weeks=5))
    hist = R.compute_risk(make_roster(IDS), make_caseload(IDS, weeks), scores[~gone])
    last = latest_of(hist)
    assert "no check-in received in 4 of the last 6 weeks" in list(last.loc["H5", ["driver_1", "driver_2", "driver_3"]])


def test_mismatch_from_case_types_when_count_missing():
    weeks = 6
    cl = make_caseload(IDS, weeks, {"H1": {"case_types": "neglect;sexual abuse;trafficking"}})
    cl["cases_outside_specialty"] = np.nan
    hist = R.compute_risk(make_roster(IDS), cl, make_scores(IDS, weeks))
    last = latest_of(hist)
    # 2 of 3 listed types outside the specialty × 15 active cases = 10 cases
    assert last.loc["H1", "mismatch_rel"] == pytest.approx(10 / 17)
    assert last.loc["H0", "mismatch_rel"] == pytest.approx(0.0)


# --------------------------------------------------------------------------- #
# missing inputs: lower confidence, never crash, never count as zero
# --------------------------------------------------------------------------- #

def test_missing_inputs_lower_confidence_not_risk():
    weeks = 6
    cl = make_caseload(IDS, weeks)
    sc = make_scores(IDS, weeks)
    sc = sc[~((sc["helper_id"] == "H1") & sc["instrument"].isin(["cbi", "proqol5"]))]
    sc = sc[sc["helper_id"] != "H2"]
    cl = cl[cl["helper_id"] != "H3"]
    hist = R.compute_risk(make_roster(IDS), cl, sc)
    last = latest_of(hist)
    assert last.loc["H0", "confidence"] == pytest.approx(1.0)
    assert last.loc["H1", "confidence"] < 1.0
    assert last.loc["H2", "confidence"] < last.loc["H1", "confidence"]
    assert last.loc["H3", "confidence"] < 1.0
    assert last.drop(index="H2")["risk_score"].notna().all()
    # re-normalised, not zero-filled: a helper missing scores is not made to look safer
    assert last.loc["H1", "risk_score"] == pytest.approx(R.combine(last.loc[["H1"]]).iloc[0])
    assert last.loc["H1", "risk_score"] > last.loc["H0", "risk_score"] - 10
    # no answers at all: no score (a caseload log says nothing about how a person is)
    assert np.isnan(last.loc["H2", "risk_score"]) and np.isnan(last.loc["H2", "c_burnout"])


def test_renormalisation_over_available_components():
    frame = pd.DataFrame({"c_sts": [0.6], "c_burnout": [0.8]})
    w = R.DEFAULT_WEIGHTS
    assert R.combine(frame).iloc[0] == pytest.approx(100 * (w["sts"] * 0.6 + w["burnout"] * 0.8)
                                                     / (w["sts"] + w["burnout"]))
    assert np.isnan(R.combine(pd.DataFrame({"c_caseload": [0.9]})).iloc[0])


@pytest.mark.parametrize("drop", ["scores", "caseload", "columns", "both"])
def test_degenerate_inputs_never_crash(drop):
    roster = make_roster(IDS)
    cl, sc = make_caseload(IDS, 4), make_scores(IDS, 4)
    if drop in ("scores", "both"):
        sc = sc.iloc[:0]
    if drop in ("caseload", "both"):
        cl = cl.iloc[:0]
    if drop == "columns":
        cl = cl[["helper_id", "week_start", "active_cases"]]
        sc = sc[["helper_id", "instrument", "submitted_at", "burnout"]]
    hist = R.compute_risk(roster, cl, sc)
    latest = R.latest_risk(roster, cl, sc)
    assert list(hist.columns) == R.OUTPUT_COLUMNS and list(latest.columns) == R.OUTPUT_COLUMNS
    if drop == "both":
        assert hist.empty and latest.empty
    else:
        assert len(latest) == len(IDS)


def test_roster_only_helper_gets_unknown_risk():
    roster = make_roster(IDS + ["NEW"])
    latest = R.latest_risk(roster, make_caseload(IDS, 4), make_scores(IDS, 4)).set_index("helper_id")
    assert np.isnan(latest.loc["NEW", "risk_score"])
    assert latest.loc["NEW", "risk_band"] is None
    assert latest.loc["NEW", "confidence"] == 0
    assert latest.loc["NEW", "driver_1"] == ""


def test_missing_standard_and_fte_fall_back():
    roster = make_roster(IDS)
    roster["caseload_standard"] = np.nan        # -> the settings' standard for the role (17)
    roster.loc[0, "fte"] = 0.5                  # half-time: half the standard
    hist = R.compute_risk(roster, make_caseload(IDS, 4), make_scores(IDS, 4))
    last = latest_of(hist)
    assert last.loc["H1", "caseload_ratio"] == pytest.approx(15 / 17)
    assert last.loc["H0", "caseload_ratio"] == pytest.approx(15 / 8.5)


# --------------------------------------------------------------------------- #
# monotonicity: more overload never lowers risk
# --------------------------------------------------------------------------- #

LOAD_COLS = ["active_cases", "high_acuity_cases", "trauma_exposures", "critical_incidents",
             "overtime_hours", "cases_outside_specialty"]
_ROSTER1 = make_roster(["A"])
_SCORES1 = make_scores(["A"], 6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.lists(st.tuples(*[st.floats(0, 40, allow_nan=False)] * 6), min_size=6, max_size=6),
       col=st.sampled_from(LOAD_COLS), week=st.integers(0, 5), extra=st.floats(0.1, 30, allow_nan=False))
def test_more_overload_never_lowers_risk(base, col, week, extra):
    cl = pd.DataFrame([dict(zip(LOAD_COLS, vals), helper_id="A", week_start=MON + pd.Timedelta(weeks=w))
                       for w, vals in enumerate(base)])
    worse = cl.copy()
    worse.loc[week, col] += extra
    before = R.latest_risk(_ROSTER1, cl, _SCORES1)["risk_score"].iloc[0]
    after = R.latest_risk(_ROSTER1, worse, _SCORES1)["risk_score"].iloc[0]
    assert after >= before - 1e-9


@settings(max_examples=25, deadline=None)
@given(col=st.sampled_from(["burnout", "secondary_traumatic_stress", "work_burnout", "personal_burnout",
                            "client_burnout", "pulse_strain", "sib_level"]),
       lo=st.floats(0, 1), hi=st.floats(0, 1))
def test_higher_latest_score_never_lowers_risk_without_history(col, lo, hi):
    lo, hi = sorted((lo, hi))
    scale = {"sib_level": (1, 5), "pulse_strain": (0, 100)}.get(col, (10, 50) if "_" not in col or
                                                                 col.startswith("sec") else (0, 100))
    sc = make_scores(["A"], 1)
    a, b = sc.copy(), sc.copy()
    rows = sc[col].notna()
    a.loc[rows, col] = scale[0] + lo * (scale[1] - scale[0])
    b.loc[rows, col] = scale[0] + hi * (scale[1] - scale[0])
    cl = make_caseload(["A"], 1)
    ra = R.latest_risk(_ROSTER1, cl, a)["risk_score"].iloc[0]
    rb = R.latest_risk(_ROSTER1, cl, b)["risk_score"].iloc[0]
    assert rb >= ra - 1e-9


# --------------------------------------------------------------------------- #
# dates: as_of, week alignment, who is active
# --------------------------------------------------------------------------- #

def test_as_of_cuts_history_and_latest_is_that_week():
    cl, sc = make_caseload(IDS, 10), make_scores(IDS, 10)
    hist = R.compute_risk(make_roster(IDS), cl, sc, as_of="2024-02-07")   # a Wednesday in week 5
    assert hist["week_start"].max() == pd.Timestamp("2024-02-05")
    latest = R.latest_risk(make_roster(IDS), cl, sc, as_of="2024-02-07")
    assert (latest["week_start"] == pd.Timestamp("2024-02-05")).all()
    mine = hist[hist["week_start"] == pd.Timestamp("2024-02-05")].set_index("helper_id")["risk_score"]
    assert latest.set_index("helper_id")["risk_score"].to_dict() == pytest.approx(mine.to_dict())


def test_sunday_week_starts_align_with_monday_scores():
    cl = make_caseload(IDS, 6)
    cl["week_start"] = cl["week_start"] - pd.Timedelta(days=1)   # Sunday-based log
    hist = R.compute_risk(make_roster(IDS), cl, make_scores(IDS, 6))
    assert len(hist) == len(IDS) * 6
    assert (hist["week_start"].dt.dayofweek == 0).all()
    assert hist["c_caseload"].notna().all()


def test_only_active_helpers_in_latest():
    roster = make_roster(IDS)
    roster.loc[roster["helper_id"] == "H4", "end_date"] = pd.Timestamp("2024-02-06")
    roster.loc[roster["helper_id"] == "H5", "end_date"] = pd.Timestamp("2024-02-08")
    cl, sc = make_caseload(IDS, 10), make_scores(IDS, 10)
    latest = R.latest_risk(roster, cl, sc, as_of="2024-02-07")
    assert set(latest["helper_id"]) == set(IDS) - {"H4"}
    hist = R.compute_risk(roster, cl, sc)
    assert hist.loc[hist["helper_id"] == "H4", "week_start"].max() == pd.Timestamp("2024-02-05")


# --------------------------------------------------------------------------- #
# calibration
# --------------------------------------------------------------------------- #

def _simulated_history(n=500, weeks=156, beta=2.5, seed=3):
    """Leaving hazard ∝ exp(beta · caseload pressure); other inputs are noise."""
    return simulated_leaving_history(start=MON, n=n, weeks=weeks, beta=beta, seed=seed)


def test_calibration_recovers_a_known_effect():
    roster, hist = _simulated_history()
    res = L.calibrate(roster, hist)
    assert res.used == "fitted", res.reason
    assert res.n_leavers >= L.MIN_LEAVERS
    assert "c_caseload" in res.features
    assert res.coefficients["c_caseload"] > 0
    # a pure-noise strain is either kept with a small positive coefficient or dropped for its sign
    assert abs(res.coefficients.get("c_burnout", 0.0)) < res.coefficients["c_caseload"]
    assert all(v >= 0 for v in res.coefficients.values())
    assert res.metrics["concordance"] > 0.6
    assert {"auc", "calibration_slope", "calibration_intercept", "observed_expected", "deciles"} <= set(res.metrics)
    json.dumps(res.to_dict())
    p = res.predict_p_leave(pd.DataFrame({"c_caseload": [0.05, 0.95], "c_overtime": 0.5, "c_burnout": 0.5}))
    assert 0 < p[0] < p[1] < 1


def test_a_strain_with_the_wrong_sign_is_dropped_so_more_strain_never_lowers_leaving():
    roster, hist = _simulated_history()
    # overtime made protective in the data: more overtime, fewer leavers (a confounded sample)
    left = hist["helper_id"].isin(roster.loc[roster["end_date"].notna(), "helper_id"])
    hist["c_overtime"] = np.where(left, 0.1, 0.9) * np.random.default_rng(1).uniform(0.8, 1.0, len(hist))
    res = L.calibrate(roster, hist)
    assert "c_overtime" in res.metrics.get("dropped_for_sign", []), res.reason
    assert "c_overtime" not in res.features
    assert all(v >= 0 for v in res.coefficients.values())
    if res.used == "fitted":
        lo, hi = ({"c_caseload": 0.5, "c_overtime": 0.0, "c_burnout": 0.5},
                  {"c_caseload": 0.5, "c_overtime": 1.0, "c_burnout": 0.5})
        p = res.predict_p_leave(pd.DataFrame([lo, hi]))
        assert p[1] >= p[0] - 1e-12


def test_thin_data_falls_back_to_defaults_and_says_why():
    roster, hist = _simulated_history(n=40, weeks=40)
    res = L.calibrate(roster, hist)
    assert res.used == "defaults"
    assert "leavers" in res.reason and "default" in res.reason
    assert np.isnan(res.predict_p_leave(hist.head(3))).all()
    assert L.calibrate(roster, hist.iloc[:0]).used == "defaults"


def test_excluded_reasons_do_not_count_as_leavers():
    roster, hist = _simulated_history()
    roster["end_reason"] = "retired"
    res = L.calibrate(roster, hist, exclude_reasons=["Retired"])
    assert res.used == "defaults" and res.n_leavers == 0


# --------------------------------------------------------------------------- #
# risk_report (the CLI table) over a stand-in for burnout.store.frames
# --------------------------------------------------------------------------- #

@pytest.fixture
def fake_store(monkeypatch, tmp_path):
    from burnout import cli
    from burnout.store import get_engine
    from burnout.store import frames
    from burnout.store import settings as saved_settings

    roster = make_roster(IDS)
    roster.loc[roster["helper_id"] == "H5", "end_date"] = pd.Timestamp("2024-01-20")
    over = {"H1": {"active_cases": 27.2}}
    data = {"roster": roster, "caseload": make_caseload(IDS, 8, over), "scores": make_scores(IDS, 8)}
    for name, frame in data.items():
        monkeypatch.setattr(frames, name, lambda engine, *a, f=frame, **k: f.copy())
    monkeypatch.setattr(saved_settings, "load", lambda engine: Settings())
    # no database holds these frames: the table is computed from them, as for a named week
    monkeypatch.setattr(risk_table, "stored_figures", lambda engine: None)
    # the frames are fake; the audit rows the risk command writes go to a real, empty store
    audit_engine = get_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    monkeypatch.setattr(cli, "get_engine", lambda *a, **k: audit_engine)
    return data


def test_risk_report_columns_and_rows(fake_store):
    table = risk_table.risk_report(None)
    # the documented columns in their order, then the ranges and the basis
    assert list(table.columns) == ["helper_id", "team", "risk_score", "risk_band", "p_leave_12m",
                                   "expected_turnover_cost", "clients_affected", "driver_1", "driver_2", "driver_3",
                                   "p_leave_12m_low", "p_leave_12m_high", "expected_turnover_cost_low",
                                   "expected_turnover_cost_high", "clients_affected_low", "clients_affected_high",
                                   "p_leave_basis"]
    assert set(table["helper_id"]) == set(IDS) - {"H5"}          # left before the latest week
    t = table.set_index("helper_id")
    assert t.loc["H1", "driver_1"].startswith("caseload 160 %")
    assert t.loc["H0", "driver_1"] == ""
    assert t.loc["H1", "p_leave_12m"] > t.loc["H0", "p_leave_12m"]
    # whole percents and money to the nearest $100, not false precision
    assert (t["p_leave_12m"] * 100).round(9).mod(1).eq(0).all()
    assert t["expected_turnover_cost"].mod(100).eq(0).all()
    # salary 60,000 × caseworker multiplier 0.5 (the settings' cost multiplier)
    assert np.allclose(t["expected_turnover_cost"], t["p_leave_12m"] * 30_000, rtol=0.03, atol=100)
    for fig in ("p_leave_12m", "expected_turnover_cost", "clients_affected"):
        assert (t[f"{fig}_low"] <= t[fig]).all() and (t[fig] <= t[f"{fig}_high"]).all(), fig
        assert (t[f"{fig}_high"] > t[f"{fig}_low"]).any(), fig
    assert set(t["p_leave_basis"]) == {"from national defaults"}
    # the expected number and, apart from it, next year's count (chance too): never one for the other
    line = next(x for x in table.attrs["summary"] if x.startswith("Leavers next year: about"))
    assert " expected" in line and "next year's count likely between" in line, line


def test_risk_report_as_of_keeps_helper_active_then(fake_store):
    table = risk_table.risk_report(None, as_of="2024-01-10")
    assert "H5" in set(table["helper_id"])


def test_cli_risk_writes_the_table(fake_store, tmp_path):
    from burnout.cli import main

    out = tmp_path / "risk.csv"
    assert main(["risk", "--output", str(out)]) == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns)[:3] == ["helper_id", "team", "risk_score"]
    assert len(table) == len(IDS) - 1
    assert (table.loc[table["helper_id"] == "H0", "driver_1"] == "").all()


def test_retirements_are_censored_by_default():
    roster, hist = _simulated_history()
    roster["end_reason"] = "Retirement"
    assert L.calibrate(roster, hist).n_leavers == 0


def test_a_model_that_does_not_validate_is_not_used():
    roster, hist = _simulated_history(beta=0.0, seed=5)      # leaving unrelated to the inputs
    res = L.calibrate(roster, hist)
    assert res.used == "defaults"
    assert "concordance" in res.reason and res.metrics["concordance"] < L.MIN_CONCORDANCE
    assert np.isnan(res.predict_p_leave(hist.head(2))).all()


def test_burnout_link_fits_the_single_item_flag():
    rng = np.random.default_rng(1)
    n = 600
    hist = pd.DataFrame({"helper_id": [f"B{i}" for i in range(n)], "week_start": MON,
                         "risk_score": rng.uniform(10, 90, n)})
    p = 1 / (1 + np.exp(-(hist["risk_score"] - 45) / 5))
    scores = pd.DataFrame({"helper_id": hist["helper_id"], "instrument": "sib", "week_start": MON,
                           "submitted_at": MON + pd.Timedelta(days=1),
                           "sib_level": np.where(rng.uniform(size=n) < p, 3.0, 2.0)})
    link = L.burnout_link(hist, scores)
    assert link["used"] == "fitted"
    assert link["burnout_midpoint"] == pytest.approx(45, abs=3)
    assert link["burnout_scale"] == pytest.approx(5, abs=1.5)
    thin = L.burnout_link(hist.head(20), scores.head(20))
    assert thin["used"] == "defaults" and "default" in thin["reason"]


# --------------------------------------------------------------------------- #
# the risk command: bad dates, and which leaving model it used
# --------------------------------------------------------------------------- #

@pytest.mark.parametrize("as_of", ["not-a-date", "2026-13-45", ""])
def test_cli_risk_bad_as_of_exits_2_with_a_message(fake_store, tmp_path, capsys, as_of):
    from burnout.cli import main

    out = tmp_path / "risk.csv"
    assert main(["risk", "--as-of", as_of, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "as-of date" in err and "Traceback" not in err
    assert not out.exists()
    with pytest.raises(InputError):
        risk_table.risk_report(None, as_of=as_of)


def test_cli_risk_says_the_defaults_were_used_and_why(fake_store, tmp_path, capsys):
    from burnout.cli import main

    assert main(["risk", "--output", str(tmp_path / "risk.csv")]) == 0
    err = capsys.readouterr().err
    assert "Probability of leaving: the documented defaults" in err
    assert f"fitting needs at least {L.MIN_LEAVERS} leavers and {L.MIN_HELPER_YEARS} helper-years" in err
    assert "helper-years on record" in err
    assert "Risk score weights: from national defaults." in err.splitlines()


class _Fitted(L.CalibrationResult):
    """A validated calibration whose probability of leaving rises with the risk."""

    def predict_p_leave(self, frame):
        return 0.05 + 0.004 * pd.to_numeric(frame["risk_score"], errors="coerce").fillna(50).to_numpy()


def fitted_stub():
    return _Fitted("fitted", "Fitted on 40 leavers over 300 helper-years (stub).", n_helpers=120, n_leavers=40,
                   helper_years=300.0, features=["risk_score"],
                   metrics={"concordance": 0.71, "auc": 0.73, "calibration_slope": 0.94,
                            "calibration_intercept": -0.08, "split_date": "2024-01-01",
                            "train_leavers": 28})


def test_cli_risk_uses_and_reports_an_accepted_fitted_model(fake_store, tmp_path, capsys, monkeypatch):
    from burnout.cli import main

    monkeypatch.setattr(L, "calibrate", lambda *a, **k: fitted_stub())
    out = tmp_path / "risk.csv"
    assert main(["risk", "--output", str(out)]) == 0
    err = capsys.readouterr().err
    assert ("the organisation's own model (Cox, fitted on the 28 leavers before 2024-01-01, of 40 over "
            "300 helper-years)") in err
    assert "concordance 0.71, AUC 0.73, calibration slope 0.94 and intercept -0.08" in err
    table = pd.read_csv(out)
    # whole percents now (was 4 decimals): within half a percent of the fitted value
    assert table["p_leave_12m"].to_numpy() == pytest.approx(0.05 + 0.004 * table["risk_score"].to_numpy(), abs=0.0051)
    assert set(table["p_leave_basis"]) == {"fitted on your organisation"}
    assert (table["p_leave_12m_low"] < table["p_leave_12m_high"]).all()


def test_a_failing_calibration_falls_back_and_says_why(fake_store, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("singular matrix")

    monkeypatch.setattr(L, "calibrate", boom)
    table, model = risk_table.risk_report(None, details=True)
    assert model.calibration.used == "defaults"
    assert "RuntimeError: singular matrix" in model.calibration.reason
    assert "RuntimeError: singular matrix" in " ".join(model.describe())
    assert table["p_leave_12m"].notna().all()


def test_a_model_whose_probabilities_are_off_is_not_used():
    roster, hist = _simulated_history()
    ok = L.calibrate(roster, hist)
    assert ok.used == "fitted" and 0.5 <= ok.metrics["calibration_slope"] <= 1.5
    off = L.calibrate(roster, hist, slope_range=(1.5, 3.0))      # the same model judged by a stricter range
    assert off.used == "defaults" and off.model is None
    assert "calibration slope" in off.reason and "defaults" in off.reason
    assert np.isnan(off.predict_p_leave(hist.head(2))).all()


def test_thin_data_does_not_import_the_model_libraries():
    import subprocess

    code = ("import sys, pandas as pd\n"
            "sys.path.insert(0, 'tests')\n"
            "from test_risk import _simulated_history\n"
            "from burnout import leaving as L\n"
            "roster, hist = _simulated_history(n=40, weeks=40)\n"
            "res = L.calibrate(roster, hist)\n"
            "link = L.burnout_link(hist.head(5), pd.DataFrame({'helper_id': [], 'week_start': [], 'sib_level': []}))\n"
            "print(res.used, 'lifelines' in sys.modules, 'sklearn' in sys.modules)\n")
    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["defaults", "False", "False"]


# --------------------------------------------------------------------------- #
# drift between copies of one rule (issue: one home for each rule)
# --------------------------------------------------------------------------- #

def test_the_saved_schedule_drives_missed_check_ins():
    """A fortnightly pulse and single item: answering every other week misses nothing."""
    weeks = 12
    sc = make_scores(IDS, weeks)
    sc = sc[(sc["week_start"] - MON).dt.days // 7 % 2 == 0]          # every other week only
    fortnightly = Settings().merged({"checkin_schedule": {"pulse": 2, "sib": 2}})
    kw = dict(roster=make_roster(IDS), caseload=make_caseload(IDS, weeks), scores=sc)
    weekly = latest_of(R.compute_risk(**kw))
    every_two = latest_of(R.compute_risk(**kw, settings=fortnightly))
    assert (weekly["c_missed_checkins"] > 0.3).all()                  # the built-in weekly schedule: half missed
    assert (every_two["c_missed_checkins"] == 0).all()                # the saved one: none missed
    assert not any("check-in" in " ".join(r) for r in every_two[["driver_1", "driver_2", "driver_3"]].to_numpy())


def test_team_drivers_count_exactly_each_helpers_own_top_drivers():
    """Five identical helpers: the team's most common drivers are their own three, in
    the order of their own ranking, under the saved weights."""
    from burnout.views.tables import team_drivers

    weeks = 8
    ids = [f"T{i}" for i in range(5)]
    over = {h: {"active_cases": 27.2, "pulse_strain": 70.0, "work_burnout": 80.0} for h in ids}
    roster = make_roster(ids)
    caseload = make_caseload(ids, weeks, {h: {"active_cases": 27.2} for h in ids})
    scores = make_scores(ids, weeks, over)
    weights = {"caseload": 0.2}
    latest = latest_of(R.compute_risk(roster, caseload, scores, weights=weights)).reset_index()
    own = R.driver_components(latest, weights)
    assert all(o == own[0] for o in own) and len(own[0]) == 3
    people = latest.assign(risk_score=latest["risk_score"])
    table = team_drivers(people, 5, weights=weights)
    assert list(table["driver"]) == [R.COMPONENT_LABELS[c] for c in own[0]]
    assert (table["share"] == 1.0).all()
    # the driver texts each helper sees rank the same components
    first = latest.loc[0, "driver_1"]
    assert first.startswith({"caseload": "caseload", "cbi_work": "work-related burnout",
                             "pulse_strain": "weekly strain"}[own[0][0]])


# --------------------------------------------------------------------------- #
# causes apart from symptoms
# --------------------------------------------------------------------------- #

def test_causes_and_symptoms_partition_the_components_and_every_cause_has_an_action():
    assert set(R.CAUSES) | set(R.SYMPTOMS) | set(R.SIGNALS) == set(R.NAMES)
    assert not set(R.CAUSES) & set(R.SYMPTOMS)
    assert set(R.SUGGESTED_ACTIONS) == set(R.CAUSES)
    for name, a in R.SUGGESTED_ACTIONS.items():
        assert a["action"]
        assert not any(word in a["action"].lower() for word in ("weak", "fail", "blame", "poor performer"))


def test_team_causes_rank_workplace_drivers_with_the_helpers_own_ranking():
    # three helpers: two with heavy caseloads, one with much overtime; all report moderate burnout
    base = {c: np.nan for c in R.COMPONENT_COLUMNS}
    rows = []
    for case, ot in ((1.7, 2.0), (1.6, 3.0), (1.0, 14.0)):
        r = dict(base, c_burnout=0.7, c_sib=0.65)
        r["c_caseload"] = float(R.pressure("caseload", case))
        r["c_overtime"] = float(R.pressure("overtime", ot))
        rows.append(r)
    frame = pd.DataFrame(rows)
    causes = R.team_causes(frame)
    assert list(causes["component"]) == ["caseload", "overtime"]
    assert set(causes["component"]) <= set(R.CAUSES)          # no symptom listed as a cause
    assert causes.loc[0, "helpers_with_driver"] == 2 and causes.loc[1, "helpers_with_driver"] == 1
    assert causes["action"].str.len().gt(0).all()
    # the same points as each helper's own driver ranking
    pts = R.driver_points(R._pressures(frame), R._weights(None))
    k = R.NAMES.index("caseload")
    assert causes.loc[0, "points"] == pytest.approx(np.where(np.isfinite(pts[:, k]), pts[:, k], 0).mean())
    symptoms = R.team_symptoms(frame)
    assert set(symptoms["component"]) <= set(R.SYMPTOMS) and "burnout" in set(symptoms["component"])


def test_proqol_norms_are_the_published_benchmarks_quoted_in_the_reference():
    """instruments.md §1 [C] S12 (De La Rosa et al. 2018, 30 studies, N = 5,612):
    CS 37.7 (6.5), STS 16.7 (5.7), BO 22.8 (5.4) — the YAML carries exactly these."""
    from burnout.domain import measures as M
    quoted = {"compassion_satisfaction": (37.7, 6.5), "secondary_traumatic_stress": (16.7, 5.7),
              "burnout": (22.8, 5.4)}
    for col, (mean, sd) in quoted.items():
        m = M.get(col)
        assert (float(m.norms["mean"]), float(m.norms["sd"])) == (mean, sd), col
        assert "N = 5,612" in m.norm_source and "PMID 28383935" in m.norm_source
    # the CBI figures could not be checked against a retrievable table: the YAML says so
    assert "UNVERIFIED" in M.get("work_burnout").norm_source


def test_the_default_week_reads_the_stored_figures_and_equals_scoring_again(writable_db, monkeypatch):
    """The ``risk`` command's default week reads the risk stored when the data arrived and
    the HR review's leaving model: it scores nothing and reads no answers, and its table is
    the one scoring every answer again for that week gives."""
    from burnout.store import frames
    from burnout.views.data import load_review_data

    eng = writable_db["engine"]
    week = load_review_data(eng, with_model=False).as_of
    computed, computed_model = risk_table.risk_report(eng, as_of=week.date().isoformat(), details=True)

    def no(*a, **k):
        raise AssertionError("the default week is read as stored, not computed")
    for mod, name in ((R, "latest_risk"), (R, "compute_risk"), (frames, "scores"), (frames, "caseload")):
        monkeypatch.setattr(mod, name, no)
    stored, model = risk_table.risk_report(eng, details=True)
    assert len(stored) > 30 and stored["risk_score"].notna().sum() > 30
    assert model.calibration.used == computed_model.calibration.used
    pd.testing.assert_frame_equal(stored, computed)
    assert stored.attrs["summary"] == computed.attrs["summary"]
