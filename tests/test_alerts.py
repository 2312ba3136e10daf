"""Alerts fire only on real change: sustained band crossings and significant team shifts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from burnout import alerts as A

MON = pd.Timestamp("2024-01-01")


def series(values, helper="H1", team="CW-North"):
    return pd.DataFrame({"helper_id": helper, "team": team,
                         "week_start": [MON + pd.Timedelta(weeks=i) for i in range(len(values))],
                         "risk_score": values})


def team_history(n, baseline, recent, weeks_base=8, weeks_recent=4, sd=4.0, team="CW-North", seed=0,
                 spikes=None):
    """n respondents; each week's score = level + person offset + noise."""
    rng = np.random.default_rng(seed)
    offsets = rng.normal(0, sd, n)
    rows = []
    for w in range(weeks_base + weeks_recent):
        level = baseline if w < weeks_base else recent
        if spikes and w in spikes:
            level = spikes[w]
        for i in range(n):
            rows.append({"helper_id": f"{team}-{i}", "team": team, "week_start": MON + pd.Timedelta(weeks=w),
                         "risk_score": level + offsets[i] + rng.normal(0, sd)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- #
# helper band crossings
# --------------------------------------------------------------------------- #

def test_one_noisy_week_gives_no_helper_alert():
    assert A.helper_alerts(series([30, 31, 30, 75, 30, 31, 29])).empty


def test_sustained_crossing_alerts_once_when_confirmed():
    out = A.helper_alerts(series([30, 31, 30, 70, 72, 71, 73]))
    assert len(out) == 1
    row = out.iloc[0]
    assert (row["kind"], row["from_band"], row["to_band"]) == ("band_up", "low", "high")
    assert row["week_start"] == MON + pd.Timedelta(weeks=4)   # the second week in the new band
    assert "high for 2 weeks in a row" in row["message"] and "was low" in row["message"]


def test_crossing_to_the_band_held_throughout():
    out = A.helper_alerts(series([30, 30, 70, 50, 52]))
    assert list(out["to_band"]) == ["moderate"]


def test_hysteresis_stops_flapping_on_an_edge():
    assert A.helper_alerts(series([70, 70, 64, 66, 63, 64, 66, 63])).empty
    out = A.helper_alerts(series([70, 70, 60, 59, 58]))
    assert list(out["kind"]) == ["band_down"] and list(out["to_band"]) == ["moderate"]
    assert "eased from high to moderate" in out.iloc[0]["message"]


def test_wandering_around_an_edge_does_not_flap():
    # two weeks just above 40, two weeks just below, again and again: no real change
    vals = [38, 41, 42, 36, 35, 41, 42, 36, 35, 41, 42, 38, 36, 41, 42, 39]
    assert A.helper_alerts(series(vals)).empty
    assert A.helper_alerts(series([62, 66, 67, 63, 61, 66, 67, 62])).empty


def test_a_rise_must_clear_the_edge_by_the_margin_and_hold():
    assert A.helper_alerts(series([30, 30, 42, 42, 42, 42])).empty        # only 2 points above 40
    assert A.helper_alerts(series([30, 30, 45, 42, 45, 42])).empty        # never 2 clear weeks in a row
    out = A.helper_alerts(series([30, 30, 43, 44]))
    assert list(out["to_band"]) == ["moderate"] and out.iloc[0]["week_start"] == MON + pd.Timedelta(weeks=3)
    assert A.helper_alerts(series([30, 30, 43, 44]), hysteresis=5).empty


def test_team_mean_wandering_around_an_edge_gives_no_band_alert():
    rows = []
    for w, level in enumerate([37, 37, 37, 37, 37, 37, 37, 37, 41.5, 42, 36, 41.5, 42]):
        for i in range(8):
            rows.append({"helper_id": f"T-{i}", "team": "CW-North", "week_start": MON + pd.Timedelta(weeks=w),
                         "risk_score": level + (i - 3.5) * 0.5})
    out = A.team_alerts(pd.DataFrame(rows))
    assert out[out["kind"].str.startswith("band")].empty


def test_missing_weeks_are_skipped_not_zero():
    vals = [50, 50, np.nan, np.nan, 51, 50]
    assert A.helper_alerts(series(vals)).empty


def test_driver_is_quoted_and_text_is_about_work():
    df = series([30, 30, 70, 71])
    df["driver_1"] = "caseload 160 % of the role standard for 8 weeks"
    msg = A.helper_alerts(df).iloc[0]["message"]
    assert "caseload 160 %" in msg and "workload" in msg


def test_confirm_weeks_below_two_is_refused():
    with pytest.raises(ValueError):
        A.helper_alerts(series([30, 70]), confirm_weeks=1)


def test_helpers_are_not_mixed():
    df = pd.concat([series([30, 30, 30], helper="A"), series([70, 70, 70], helper="B")])
    assert A.helper_alerts(df).empty


# --------------------------------------------------------------------------- #
# team shifts
# --------------------------------------------------------------------------- #

def test_required_change_grows_for_small_teams():
    assert A.required_change(20) == 8 and A.required_change(200) == 8
    assert A.required_change(5) == pytest.approx(16.0)
    assert A.required_change(10) == pytest.approx(8 * np.sqrt(2))
    assert A.required_change(5) > A.required_change(10) > A.required_change(20)


def test_sustained_team_rise_alerts_with_plain_message():
    hist = team_history(12, baseline=42, recent=58)
    out = A.team_alerts(hist)
    rise = out[out["kind"] == "rise"]
    assert len(rise) == 1
    r = rise.iloc[0]
    assert r["respondents"] == 12 and r["p_value"] < 0.05
    assert r["message"] == (f"Team CW-North: average risk rose from {r['baseline_mean']:.0f} to "
                            f"{r['recent_mean']:.0f} over 4 weeks (12 respondents).")
    assert abs(r["baseline_mean"] - 42) < 4 and abs(r["recent_mean"] - 58) < 4


def test_one_noisy_team_week_gives_no_alert():
    # the last week spikes by 40 points for everyone; the 4-week mean moves by 10
    hist = team_history(30, baseline=42, recent=42, spikes={11: 82})
    out = A.team_alerts(hist)
    assert out[out["kind"].isin(["rise", "fall"])].empty


def test_small_team_needs_a_bigger_change():
    # the same 11-point rise is enough for 25 respondents (needs 8) but not for 6 (needs 14.6)
    big = A.team_alerts(team_history(25, baseline=40, recent=51, sd=3))
    small = A.team_alerts(team_history(6, baseline=40, recent=51, sd=3))
    assert "rise" in set(big["kind"])
    assert "rise" not in set(small["kind"])
    assert not A.team_alerts(team_history(6, baseline=40, recent=60, sd=3)).query("kind == 'rise'").empty


def test_groups_under_five_never_alert():
    hist = team_history(4, baseline=20, recent=90, sd=2)
    assert A.team_alerts(hist).empty
    assert A.team_alerts(hist, min_group=3).empty       # cannot be lowered below 5
    assert A.team_alerts(hist, min_group=2).empty
    assert not A.team_alerts(team_history(5, baseline=20, recent=90, sd=2)).empty


def test_team_band_crossing_needs_enough_respondents():
    hist = team_history(8, baseline=30, recent=70, sd=2)
    out = A.team_alerts(hist)
    band = out[out["kind"] == "band_up"]
    assert len(band) == 1 and "has been high for 2 weeks" in band.iloc[0]["message"]
    assert "(8 respondents)" in band.iloc[0]["message"]


def test_fall_is_reported_too():
    out = A.team_alerts(team_history(15, baseline=60, recent=40, sd=3))
    assert "fall" in set(out["kind"])
    assert "fell from" in out.loc[out["kind"] == "fall", "message"].iloc[0]


def test_scores_frame_with_roster_teams():
    hist = team_history(10, baseline=20, recent=40, sd=2).rename(columns={"risk_score": "burnout"})
    roster = hist[["helper_id", "team"]].drop_duplicates()
    out = A.team_alerts(hist.drop(columns="team"), value_col="burnout", roster=roster)
    assert "average burnout rose" in out.loc[out["kind"] == "rise", "message"].iloc[0]


def test_as_of_looks_back_from_that_week():
    hist = team_history(12, baseline=42, recent=58)
    assert A.team_alerts(hist, as_of=MON + pd.Timedelta(weeks=7)).empty


def test_caseload_only_risk_does_not_count_as_a_respondent():
    hist = team_history(6, baseline=30, recent=70, sd=2)
    hist["c_burnout"] = 0.5
    hist.loc[hist["helper_id"].isin(["CW-North-0", "CW-North-1"]), "c_burnout"] = np.nan
    assert A.team_alerts(hist).empty                      # only 4 respondents left
    hist["c_burnout"] = 0.5
    assert not A.team_alerts(hist).empty
