"""Shanafelt mixture model, per-helper impact and what-if (turnover-models.md §1, §11)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from burnout import turnover as T
from burnout.domain.settings import Settings
from burnout.errors import InputError
from conftest import run_cli

REPO = Path(__file__).resolve().parents[1]
KEYS = {"turnover_not_burned_out", "turnover_burned_out", "attributable_turnover_rate",
        "attributable_leavers", "attributable_cost"}


def attributable(N, BO, T_, C, RR=2.0):
    """turnover-models.md §11, copied verbatim as the oracle."""
    T_nb = T_ / (1 + (RR - 1) * BO)
    T_b = RR * T_nb
    A = BO * (T_b - T_nb)
    return dict(T_nb=T_nb, T_b=T_b, A=A, leavers=N * A, cost=N * A * C)


def test_tv1_shanafelt_worked_example():
    r = T.shanafelt(450, 0.50, 0.075, 500_000, target_burnout_rate=0.40, intervention_cost=1_000_000)
    assert abs(r["turnover_not_burned_out"] - 0.05) < 1e-12
    assert abs(r["turnover_burned_out"] - 0.10) < 1e-12
    assert abs(r["attributable_turnover_rate"] - 0.025) < 1e-12
    assert r["attributable_leavers"] == pytest.approx(11.25, abs=1e-9)
    assert abs(r["attributable_cost"] - 5_625_000) < 1e-6
    assert r["savings"] == pytest.approx(1_125_000, abs=0.01)
    assert r["roi"] == pytest.approx(0.125, abs=1e-9)
    # Figure 3: group rates fixed, overall turnover falls by half a point
    assert r["turnover_after"] == pytest.approx(0.070, abs=1e-12)
    assert r["leavers_avoided"] == pytest.approx(2.25, abs=1e-9)


def test_tv1_matches_reference_oracle():
    ref = attributable(450, 0.50, 0.075, 500_000)
    r = T.shanafelt(450, 0.50, 0.075, 500_000)
    assert r["attributable_turnover_rate"] == pytest.approx(ref["A"], abs=1e-12)
    assert r["attributable_cost"] == pytest.approx(ref["cost"], abs=1e-6)
    assert "savings" not in r and "roi" not in r


def test_tv2_footnote_defaults():
    r = T.shanafelt(100, 0.54, 0.07, 500_000)
    assert r["attributable_turnover_rate"] == pytest.approx(0.54 * 0.07 / 1.54, abs=1e-12)
    assert r["attributable_turnover_rate"] == pytest.approx(0.024545454545, abs=1e-9)


def test_general_form_and_rr_one():
    # A = BO·(RR−1)·T / (1 + (RR−1)·BO) for any RR
    r = T.shanafelt(200, 0.3, 0.2, 10_000, relative_risk=2.7)
    assert r["attributable_turnover_rate"] == pytest.approx(0.3 * 1.7 * 0.2 / (1 + 1.7 * 0.3))
    assert T.shanafelt(200, 0.3, 0.2, 10_000, relative_risk=1.0)["attributable_cost"] == 0


def test_result_is_json_of_plain_numbers():
    r = T.shanafelt(450, 0.5, 0.075, 500_000, target_burnout_rate=0.4, intervention_cost=1e6)
    again = json.loads(json.dumps(r))
    assert KEYS | {"savings", "roi"} <= set(again)
    assert all(isinstance(v, (int, float)) for v in again.values())


def test_target_without_cost_gives_null_roi():
    r = T.shanafelt(10, 0.5, 0.2, 1000, target_burnout_rate=0.4)
    assert r["savings"] > 0 and r["roi"] is None


@pytest.mark.parametrize("kwargs", [dict(burnout_rate=1.5), dict(turnover_rate=-0.1),
                                    dict(helpers=-3), dict(relative_risk=0),
                                    # non-finite figures are rejected too
                                    dict(helpers=float("inf")), dict(cost_per_departure=float("nan")),
                                    dict(relative_risk=float("inf")), dict(turnover_rate=float("nan")),
                                    dict(target_burnout_rate=0.4, intervention_cost=float("inf"))])
def test_bad_inputs_raise_input_error(kwargs):
    args = dict(helpers=10, burnout_rate=0.5, turnover_rate=0.1, cost_per_departure=1000)
    args.update(kwargs)
    with pytest.raises(InputError):
        T.shanafelt(**args)


def test_cli_turnover_prints_json():
    cmd = [sys.executable, "-m", "burnout", "turnover", "--helpers", "450", "--burnout-rate", "0.5",
           "--turnover-rate", "7.5%", "--cost-per-departure", "500000",
           "--target-burnout-rate", "0.4", "--intervention-cost", "1000000"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert KEYS | {"savings", "roi"} <= set(out)
    assert out["attributable_cost"] == pytest.approx(5_625_000)
    assert out["roi"] == pytest.approx(0.125)


def test_cli_turnover_without_target_has_no_savings():
    cmd = [sys.executable, "-m", "burnout", "turnover", "--helpers", "100", "--burnout-rate", "0.54",
           "--turnover-rate", "0.07", "--cost-per-departure", "500000"]
    done = run_cli(*cmd[3:], cwd=REPO)      # in this process: the JSON printing is what is tested above
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert KEYS <= set(out) and "savings" not in out


# --------------------------------------------------------------------------- #
# helper / team / org impact
# --------------------------------------------------------------------------- #

def _roster(n, kind="child_welfare", role="child welfare caseworker", salary=60_000.0, team="CW"):
    ids = [f"{team}{i:03d}" for i in range(n)]
    return pd.DataFrame({"helper_id": ids, "team": team, "team_kind": kind, "role": role,
                         "annual_salary": salary})


def test_helper_impact_reproduces_shanafelt_at_org_level():
    roster = _roster(450, salary=1_000_000.0)
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "p_burned_out": 0.5, "active_cases": 10.0})
    # the worked example's base turnover was observed at its own 50 % prevalence
    s = {"base_turnover": {"child_welfare": 0.075}, "cost_per_departure": {"child welfare caseworker": 500_000},
         "reference_burnout_rate": 0.5}
    imp = T.helper_impact(roster, latest, s)
    org = T.org_impact(imp, s)
    assert imp["turnover_not_burned_out"].iloc[0] == pytest.approx(0.05)
    assert imp["p_leave_12m"].iloc[0] == pytest.approx(0.075)
    assert org["expected_leavers"] == pytest.approx(450 * 0.075)
    assert org["attributable_leavers"] == pytest.approx(11.25)
    assert org["attributable_cost"] == pytest.approx(5_625_000)
    assert org["clients_affected"] == pytest.approx(450 * 0.075 * 10)
    assert "Flower" in org["continuity_evidence"]["child_welfare"]


def test_higher_risk_means_higher_leaving_and_cost():
    roster = _roster(4)
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "risk_score": [20.0, 45.0, 60.0, 85.0],
                           "active_cases": 17.0})
    imp = T.helper_impact(roster, latest)
    assert imp["p_leave_12m"].is_monotonic_increasing
    assert imp["cost_per_departure"].iloc[0] == pytest.approx(60_000 * 0.5)  # the settings' cost multiplier
    # the base is split at the reference prevalence it was published with (Dolan 38.5 %), not at the
    # team's own, so the team's expected leavers follow its burnout (issue: they were always N·T)
    q = T.burnout_probability([20.0, 45.0, 60.0, 85.0])
    t_nb = 0.30 / (1 + 0.385)
    assert imp["p_leave_12m"].sum() == pytest.approx((t_nb * (1 + q)).sum())
    assert imp["p_leave_basis"].eq("from national defaults").all()


@pytest.mark.parametrize("kind, role", [("child_welfare", "child welfare caseworker"),
                                        ("crisis_line", "crisis line worker"),
                                        ("hospital_social_work", "nurse")])
def test_expected_leavers_strictly_increase_with_the_teams_risk(kind, role):
    roster = _roster(100, kind=kind, role=role)
    totals = []
    for risk in (15.0, 30.0, 45.0, 60.0, 90.0):
        latest = pd.DataFrame({"helper_id": roster["helper_id"], "risk_score": risk, "active_cases": 17.0})
        totals.append(T.org_impact(T.helper_impact(roster, latest)))
    leavers = [t["expected_leavers"] for t in totals]
    cost = [t["expected_turnover_cost"] for t in totals]
    assert all(b > a for a, b in zip(leavers, leavers[1:])), leavers
    assert all(b > a for a, b in zip(cost, cost[1:]))
    base = 100 * Settings().base_turnover_for(kind)
    # below the reference prevalence fewer leavers than the base rate, above it more
    assert leavers[0] < base < leavers[-1]


def test_a_team_at_the_reference_prevalence_has_the_base_rate():
    roster = _roster(10)
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "p_burned_out": 0.385})
    assert T.org_impact(T.helper_impact(roster, latest))["expected_leavers"] == pytest.approx(10 * 0.30)
    # without a reference prevalence the old behaviour: split at the team's own (N·T whatever the burnout)
    s = {"reference_burnout_rate": None}
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "p_burned_out": 0.9})
    assert T.org_impact(T.helper_impact(roster, latest, s))["expected_leavers"] == pytest.approx(10 * 0.30)


def test_entered_observed_turnover_calibrates_and_says_so():
    roster = _roster(50)
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "risk_score": np.linspace(10, 90, 50)})
    imp = T.helper_impact(roster, latest, {"observed_turnover": {"child_welfare": 0.18}})
    assert imp["p_leave_12m"].mean() == pytest.approx(0.18)        # calibration in the large
    assert imp["p_leave_12m"].is_monotonic_increasing
    assert imp["p_leave_basis"].eq("calibrated to the turnover your organisation entered").all()


def test_unknowns_stay_unknown_not_zero():
    roster = _roster(3)
    roster.loc[0, "annual_salary"] = np.nan
    latest = pd.DataFrame({"helper_id": roster["helper_id"][1:], "risk_score": [50.0, np.nan],
                           "active_cases": [np.nan, 12.0]})
    imp = T.helper_impact(roster, latest).set_index("helper_id")
    assert np.isnan(imp.loc["CW000", "cost_per_departure"])
    assert np.isnan(imp.loc["CW000", "expected_turnover_cost"])
    assert np.isnan(imp.loc["CW001", "clients_affected"])
    # no risk known: counted at the kind's prevalence (here CW001's), not as "not burned out"
    q = float(T.burnout_probability(50.0))
    assert imp.loc["CW002", "p_leave_12m"] == pytest.approx(0.30 * (1 + q) / 1.385)
    team = T.team_impact(imp.reset_index())
    assert team.loc[0, "helpers_without_cost"] == 1
    assert team.loc[0, "helpers_without_caseload"] == 2


def test_absolute_cost_per_role_overrides_multiplier():
    roster = _roster(2, kind="hospital_social_work", role="nurse", salary=90_000.0)
    imp = T.helper_impact(roster, None, {"cost_per_departure": {"Nurse": 61_110}})
    assert (imp["cost_per_departure"] == 61_110).all()
    imp = T.helper_impact(roster, None)
    assert (imp["cost_per_departure"] == 90_000).all()  # RN multiplier 1.0


def test_team_impact_has_evidence_per_kind():
    roster = pd.concat([_roster(5, team="A"), _roster(5, kind="crisis_line", role="crisis line worker", team="B"),
                        _roster(5, kind="adult_mental_health", role="mental health counsellor", team="C"),
                        _roster(5, kind="hospital_social_work", role="hospital social worker", team="D")])
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "risk_score": 50.0, "active_cases": 20.0})
    team = T.team_impact(T.helper_impact(roster, latest)).set_index("team")
    assert "74.5 %" in team.loc["A", "continuity_evidence"]
    assert "73 %" in team.loc["A", "continuity_evidence"]
    assert "No specific evidence" in team.loc["B", "continuity_evidence"]
    assert "69 %" in team.loc["C", "continuity_evidence"] and "35 %" in team.loc["C", "continuity_evidence"]
    assert "18.4 %" in team.loc["D", "continuity_evidence"]
    q = float(T.burnout_probability(50.0))
    assert team["expected_leavers"].sum() == pytest.approx(5 * (0.30 + 0.30 + 0.20 + 0.164) * (1 + q) / 1.385)


# --------------------------------------------------------------------------- #
# what-if
# --------------------------------------------------------------------------- #

def test_what_if_reproduces_figure_3():
    roster = _roster(450)
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "p_burned_out": 0.5, "active_cases": 10.0})
    s = {"base_turnover": {"child_welfare": 0.075}, "cost_per_departure": {"child welfare caseworker": 500_000},
         "reference_burnout_rate": 0.5}
    r = T.what_if(roster, latest, s, burnout_reduction_points=10, intervention_cost=1_000_000)
    assert r["expected_leavers_before"] == pytest.approx(33.75)
    assert r["expected_leavers_after"] == pytest.approx(31.5)
    assert r["leavers_avoided"] == pytest.approx(2.25)
    assert r["cost_saved"] == pytest.approx(1_125_000, abs=0.01)
    assert r["roi"] == pytest.approx(0.125, abs=1e-9)
    assert r["clients_spared"] == pytest.approx(22.5)
    assert r["burnout_prevalence_after"] == pytest.approx(0.40)
    json.dumps(r)


def test_what_if_nothing_changes_without_a_scenario():
    roster = _roster(20)
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "risk_score": np.linspace(10, 90, 20),
                           "active_cases": 15.0})
    r = T.what_if(roster, latest)
    assert r["leavers_avoided"] == pytest.approx(0) and r["cost_saved"] == pytest.approx(0)
    assert r["roi"] is None


def test_capping_caseloads_lowers_leaving_for_overloaded_helpers():
    from burnout import risk as R

    roster = _roster(3)
    p = {c: 0.6 for c in R.COMPONENT_COLUMNS}
    rows = []
    for hid, ratio in zip(roster["helper_id"], [0.8, 1.3, 1.8]):
        row = dict(p, helper_id=hid, caseload_ratio=ratio, acuity_rel=0.5, mismatch_rel=0.3,
                   active_cases=17 * ratio)
        row["c_caseload"] = float(R.pressure("caseload", ratio))
        row["c_acuity"] = float(R.pressure("acuity", 0.5))
        row["c_mismatch"] = float(R.pressure("mismatch", 0.3))
        rows.append(row)
    latest = pd.DataFrame(rows)
    latest["risk_score"] = R.combine(latest)
    r = T.what_if(roster, latest, cap_caseload=True, intervention_cost=10_000)
    assert r["leavers_avoided"] > 0 and r["cost_saved"] > 0
    capped = T._capped_risk(latest, None)
    assert capped.iloc[0] == pytest.approx(latest["risk_score"].iloc[0])   # under standard: unchanged
    assert capped.iloc[2] < latest["risk_score"].iloc[2]
    both = T.what_if(roster, latest, cap_caseload=True, burnout_reduction_points=5)
    assert both["leavers_avoided"] > r["leavers_avoided"]


def test_what_if_rejects_impossible_reduction():
    roster = _roster(2)
    with pytest.raises(InputError):
        T.what_if(roster, None, burnout_reduction_points=120)


# --------------------------------------------------------------------------- #
# CLI argument rules (DESIGN §5: target and intervention cost are a pair)
# --------------------------------------------------------------------------- #

BASE_ARGS = ["turnover", "--helpers", "450", "--burnout-rate", "0.5", "--turnover-rate", "0.075",
             "--cost-per-departure", "500000"]


def _cli(args, capsys):
    from burnout.cli import main

    try:
        code = main(args)
    except SystemExit as exc:          # argparse's own errors
        code = exc.code
    return code, capsys.readouterr()


@pytest.mark.parametrize("extra, words", [
    (["--target-burnout-rate", "0.4"], "--intervention-cost"),
    (["--intervention-cost", "1000000"], "--target-burnout-rate"),
    (["--target-burnout-rate", "0.4", "--intervention-cost", "0"], "more than 0"),
])
def test_cli_turnover_target_and_cost_go_together(extra, words, capsys):
    code, out = _cli(BASE_ARGS + extra, capsys)
    assert code == 2 and out.out == ""
    assert words in out.err and "Traceback" not in out.err


@pytest.mark.parametrize("flag, value", [("--helpers", "inf"), ("--helpers", "nan"), ("--helpers", "1e400"),
                                         ("--cost-per-departure", "1e400"), ("--cost-per-departure", "nan"),
                                         ("--relative-risk", "inf"), ("--burnout-rate", "nan"),
                                         ("--turnover-rate", "1e400"), ("--turnover-rate", "abc"),
                                         ("--intervention-cost", "inf"), ("--target-burnout-rate", "nan")])
def test_cli_turnover_rejects_non_finite_numbers(flag, value, capsys):
    args = [a for a in BASE_ARGS]
    if flag in args:
        args[args.index(flag) + 1] = value
    else:
        pair = {"--intervention-cost": ["--target-burnout-rate", "0.4"],
                "--target-burnout-rate": ["--intervention-cost", "1000000"]}.get(flag, [])
        args += pair + [flag, value]
    code, out = _cli(args, capsys)
    assert code == 2, (flag, value, out)
    assert out.out == "" and "error" in out.err and "Traceback" not in out.err


def test_cli_turnover_keys_and_shanafelt_values(capsys):
    code, out = _cli(BASE_ARGS + ["--target-burnout-rate", "0.4", "--intervention-cost", "1000000"], capsys)
    assert code == 0
    r = json.loads(out.out)
    assert r["turnover_not_burned_out"] == pytest.approx(0.05) and r["turnover_burned_out"] == pytest.approx(0.10)
    assert r["attributable_turnover_rate"] == pytest.approx(0.025)
    assert r["attributable_leavers"] == pytest.approx(11.25)
    assert r["attributable_cost"] == pytest.approx(5_625_000)
    assert r["savings"] == pytest.approx(1_125_000) and r["roi"] == pytest.approx(0.125)
    # stderr: leavers and cost due to burnout with their ranges; by hand at RR 1.5 and 2.7:
    # 450 x 0.075 x (RR-1)0.5/(1+(RR-1)0.5) = 6.75 and 15.5 leavers, x $500k = $3.375M and $7.75M
    assert "Leavers due to burnout a year: about 11 (range 6.8–16)" in out.err, out.err
    assert "cost due to burnout a year: about $5.6M (range $3.4M–$7.8M)" in out.err, out.err
    code, out = _cli(["turnover", "--helpers", "100", "--burnout-rate", "0.54", "--turnover-rate", "0.07",
                      "--cost-per-departure", "500000"], capsys)
    r = json.loads(out.out)
    assert code == 0 and KEYS <= set(r) and "roi" not in r
    assert r["attributable_turnover_rate"] == pytest.approx(0.0245454545, abs=1e-9)


# --------------------------------------------------------------------------- #
# unknown burnout is not "not burned out"; what-if says what it applied
# --------------------------------------------------------------------------- #

def test_helper_without_a_risk_counts_at_the_kinds_prevalence():
    roster = _roster(4)
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "p_burned_out": [0.2, 0.4, 0.6, np.nan],
                           "active_cases": 10.0})
    imp = T.helper_impact(roster, latest).set_index("helper_id")
    bo, rr, t = 0.4, 2.0, 0.30
    unknown = imp.loc["CW003"]
    # at the kind's prevalence, with the base split at the reference 38.5 %
    assert unknown["p_leave_12m"] == pytest.approx(t * (1 + bo) / 1.385)
    t = unknown["p_leave_12m"]
    # Shanafelt's population-attributable rate at the kind's prevalence, not 0
    assert unknown["attributable_p_leave"] == pytest.approx(bo * (rr - 1) * t / (1 + (rr - 1) * bo))
    assert unknown["attributable_cost"] > 0
    # nothing known anywhere: unknown, never 0
    none = T.helper_impact(roster, None)
    assert none["attributable_p_leave"].isna().all()
    assert none["p_leave_12m"].tolist() == pytest.approx([0.30] * 4)   # the base rate itself


def test_kind_without_estimates_borrows_the_organisations_prevalence():
    roster = pd.concat([_roster(3, team="A"), _roster(2, kind="crisis_line", role="crisis line worker", team="B")])
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "p_burned_out": [0.1, 0.3, 0.5, np.nan, np.nan]})
    imp = T.helper_impact(roster, latest).set_index("helper_id")
    bo = 0.3
    assert imp.loc["B000", "attributable_p_leave"] == pytest.approx(0.30 * bo / 1.385)


def test_what_if_reports_a_capped_reduction():
    roster = _roster(100)
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "p_burned_out": 0.35, "active_cases": 10.0})
    r = T.what_if(roster, latest, burnout_reduction_points=60)
    assert r["burnout_prevalence_after"] == pytest.approx(0.0)
    assert r["burnout_reduction_requested_points"] == pytest.approx(60)
    assert r["burnout_reduction_applied_points"] == pytest.approx(35)
    assert r["burnout_reduction_capped"] is True
    text = " ".join(r["assumptions"])
    assert "falls by 60 percentage points" not in text
    assert "capped at 35.0 points" in text
    ok = T.what_if(roster, latest, burnout_reduction_points=10)
    assert ok["burnout_reduction_applied_points"] == pytest.approx(10) and ok["burnout_reduction_capped"] is False
    assert "falls by 10 percentage points" in " ".join(ok["assumptions"])


class _FittedStub:
    """Stands in for a validated leaving.CalibrationResult."""

    used = "fitted"

    def predict_p_leave(self, frame):
        return np.full(len(frame), 0.12)


def test_what_if_starts_from_the_fitted_figures_when_a_model_is_used():
    roster = _roster(10)
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "p_burned_out": 0.5, "active_cases": 10.0})
    r = T.what_if(roster, latest, burnout_reduction_points=10, calibration=_FittedStub())
    table = T.org_impact(T.helper_impact(roster, latest, calibration=_FittedStub()))
    assert r["expected_leavers_before"] == pytest.approx(table["expected_leavers"]) == pytest.approx(1.2)
    t_nb, t_b = T.split_turnover(0.30, 0.385)      # national base split at its reference prevalence
    assert r["leavers_avoided"] == pytest.approx(10 * (t_b - t_nb) * 0.10)


def test_cli_turnover_adds_ranges_without_changing_the_documented_keys(capsys):
    code, out = _cli(BASE_ARGS + ["--target-burnout-rate", "0.4", "--intervention-cost", "1000000"], capsys)
    r = json.loads(out.out)
    assert code == 0
    assert r["savings"] == pytest.approx(1_125_000) and r["roi"] == pytest.approx(0.125)
    assert r["attributable_cost"] == pytest.approx(5_625_000)
    # the ends of the relative-risk range 1.5-2.7 (turnover-models.md §7)
    assert r["attributable_turnover_rate_low"] == pytest.approx(0.5 * 0.5 * 0.075 / 1.25)
    assert r["attributable_turnover_rate_high"] == pytest.approx(0.5 * 1.7 * 0.075 / 1.85)
    for k in ("attributable_turnover_rate", "attributable_leavers", "attributable_cost", "savings", "roi"):
        assert r[f"{k}_low"] < r[k] < r[f"{k}_high"], k
    assert "about $5.6M (range $3.4M–$7.8M)" in out.err
    code, out = _cli(BASE_ARGS + ["--relative-risk-range", "1.8", "2.2"], capsys)
    r = json.loads(out.out)
    assert r["relative_risk_low"] == 1.8 and r["attributable_cost_high"] < 7_000_000


def test_what_if_savings_carry_a_range_around_the_central_figures():
    from burnout import uncertainty as U

    roster = _roster(100)
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "p_burned_out": 0.5, "active_cases": 10.0})
    r = U.what_if_ranges(roster, latest, burnout_reduction_points=10, intervention_cost=50_000)
    plain = T.what_if(roster, latest, burnout_reduction_points=10, intervention_cost=50_000)
    assert r["cost_saved"] == plain["cost_saved"] and r["leavers_avoided"] == plain["leavers_avoided"]
    for k in ("cost_saved", "leavers_avoided", "clients_spared", "roi"):
        assert r[f"{k}_low"] < r[k] < r[f"{k}_high"], k
    assert r["text"]["cost_saved"].startswith("about $") and "(range $" in r["text"]["cost_saved"]


def test_next_years_count_adds_the_chance_of_who_leaves_to_the_expected_range():
    """Point 5 of issue 13: the expected number's range is not the range of next
    year's count.  With every assumption fixed (no burnout estimate, so each p is
    the base rate), the expected range has no width, while next year's count is
    Poisson(Σp) (issue 10: a function of the sum alone), whose 2.5-97.5 % must be
    exactly scipy's, and must hold the true Poisson-binomial's range computed exactly
    here (the conservative bound: never narrower).  Clients follow the leavers."""
    from scipy.stats import poisson
    from burnout import uncertainty as U

    n = 150
    p = np.linspace(0.02, 0.6, n)
    impact = pd.DataFrame({"helper_id": [f"H{i}" for i in range(n)], "team": np.where(np.arange(n) < 60, "A", "B"),
                           "team_kind": "child_welfare", "p_burned_out": np.nan, "reference_prevalence": 0.385,
                           "base_turnover": p, "p_leave_basis": "from national defaults", "p_leave_12m": p,
                           "attributable_p_leave": np.nan, "cost_per_departure": 30_000.0, "active_cases": 10.0,
                           "expected_turnover_cost": 30_000.0 * p, "attributable_cost": np.nan,
                           "clients_affected": 10.0 * p, "attributable_clients_affected": np.nan})
    sim = U.simulate(impact)
    tot = sim.total()
    assert tot["expected_leavers"]["low"] == pytest.approx(p.sum()) == tot["expected_leavers"]["high"]
    pmf = np.array([1.0])
    for pi in p:
        pmf = np.convolve(pmf, [1 - pi, pi])
    cdf = np.cumsum(pmf)
    lo, hi = int(np.searchsorted(cdf, 0.025)), int(np.searchsorted(cdf, 0.975))
    c = tot["leavers_next_year"]
    assert c["mid"] == pytest.approx(p.sum())
    assert (c["low"], c["high"]) == tuple(poisson.ppf([0.025, 0.975], p.sum())), c
    assert c["low"] <= lo and c["high"] >= hi, (c, lo, hi)           # wider than who-leaves-by-person, not narrower
    assert c["high"] - c["low"] <= (hi - lo) + 6                      # and not by much: Σp(1-p) = 27 against Σp = 46.5
    assert hi - lo >= 15                                              # chance alone: about ±2 SD of 5.2
    assert (tot["clients_next_year"]["low"], tot["clients_next_year"]["high"]) == pytest.approx((10 * c["low"], 10 * c["high"]))
    team_a = sim.total((impact["team"] == "A").to_numpy())["leavers_next_year"]
    assert sim.total_by(impact["team"])["A"]["leavers_next_year"] == team_a
    assert team_a["high"] < c["high"]
    # in words: the expected number, and apart from it next year's count, ends rounded outward
    words = U.count_words(tot["expected_leavers"], c)
    assert words.startswith(f"about {p.sum():.0f} expected; next year's count likely between "), words
    assert U.count_words({"mid": 90.3, "low": 82, "high": 104}, {"low": 71.4, "high": 104.2}) == (
        "about 90 expected (range 82–100); next year's count likely between 71 and 110")
    assert U.count_span(None, 3) == "" and U.count_span(0.4, 6.2) == "0–7"


@pytest.mark.parametrize("fitted", ["some", "all"])
def test_simulate_draws_are_the_plain_formulas_bit_for_bit(fitted):
    """simulate writes its draws x helpers matrices in place (they are tens of MB at thousands
    of helpers); the draws must be those of the module docstring's formulas written plainly,
    to the bit, with helpers without an estimate, without a reference prevalence, on the
    organisation's observed base and on the fitted model, over more than one block of 1,024.
    With every helper on the fitted model (an organisation with its own leaving history, as
    at L) the fitted part is the whole matrix, worked out a few draws at a time."""
    from burnout import uncertainty as U
    from burnout.domain.settings import resolve
    from burnout.leaving import OBSERVED_PRIOR_LEAVERS

    n, draws, seed = 1100, 150, 5
    rng = np.random.default_rng(3)
    q = rng.uniform(0.05, 0.98, n)
    q[:40] = np.nan
    ref = np.full(n, 0.385)
    ref[:5] = np.nan
    basis = np.array(["from national defaults"] * n, dtype=object)
    basis[100:160] = "calibrated to your organisation's turnover"
    basis[200:230] = "fitted on your organisation"
    if fitted == "all":
        basis[:] = "fitted on your organisation"
    p = rng.uniform(0.05, 0.9, n)
    base = rng.uniform(0.1, 0.9, n)
    base[50:55] = np.nan
    impact = pd.DataFrame({"helper_id": [f"H{i}" for i in range(n)], "team": "A",
                           "team_kind": np.where(np.arange(n) % 3, "child_welfare", "crisis_line"),
                           "p_burned_out": q, "reference_prevalence": ref, "base_turnover": base,
                           "p_leave_basis": basis, "p_leave_12m": p, "attributable_p_leave": np.where(q > 0.9, np.nan, 0.1),
                           "cost_per_departure": 30_000.0, "active_cases": 10.0, "expected_turnover_cost": 1.0,
                           "attributable_cost": 1.0, "clients_affected": 1.0, "attributable_clients_affected": 1.0})

    class Observed:
        used, leavers = True, 12

    sim = U.simulate(impact, None, Observed(), None, draws=draws, seed=seed)
    # the plain formulas, in simulate's order of draws
    s = resolve(None)
    g = np.random.default_rng(seed)
    rr = g.uniform(min(s.relative_risk_low, s.relative_risk), max(s.relative_risk_high, s.relative_risk), draws)[:, None]
    g.uniform(min(s.cost_low_factor, 1.0), max(s.cost_high_factor, 1.0), draws)
    qs = impact["p_burned_out"]
    own = qs.groupby(impact["team_kind"]).transform("mean").fillna(qs.mean())
    bo = float(qs.mean())
    known = int(qs.notna().sum())
    scale = (g.beta(known * bo + 0.5, known * (1 - bo) + 0.5, draws) / bo)[:, None]
    fit = basis == "fitted on your organisation"
    mix = np.flatnonzero(~fit)
    q_used = qs.fillna(own).to_numpy(float)[mix]
    no_q = np.isnan(q_used)
    q_used = np.where(no_q, ref[mix], q_used)
    q_d = np.clip(q_used[None, :] * np.where(no_q[None, :], 1.0, scale), 0.0, 1.0)
    t_d = np.broadcast_to(impact["base_turnover"].to_numpy()[mix][None, :], (draws, len(mix))).copy()
    shape = 12 + OBSERVED_PRIOR_LEAVERS
    if fitted == "some":        # the observed base's draws exist only where a helper is on it
        t_d[:, (basis == "calibrated to your organisation's turnover")[mix]] *= (g.gamma(shape, 1.0, draws) / shape)[:, None]
    t_nb = t_d / (1.0 + (rr - 1.0) * ref[mix][None, :])
    p_m = t_nb * (1.0 + (rr - 1.0) * q_d)          # not cut at 1 per helper (issue 10)
    p_m = np.where(np.isnan(q_d), t_d, p_m)
    a_m = t_nb * (rr - 1.0) * q_d
    p_f = p[None, fit] * np.exp(g.normal(0, 1.0 / np.sqrt(4), (draws, 1)))      # not cut at 1 either
    a_f = p_f * ref[None, fit] * (rr - 1.0) / (1.0 + (rr - 1.0) * ref[None, fit])
    p_d, a_d = np.empty((draws, n)), np.empty((draws, n))
    p_d[:, mix], a_d[:, mix], p_d[:, fit], a_d[:, fit] = p_m, a_m, p_f, a_f
    a_d[:, impact["attributable_p_leave"].isna().to_numpy()] = np.nan
    if fitted == "some":
        assert np.isnan(p_d).any() and np.isnan(a_d).any() and (p_d > 1.0).any(), "the odd cases are there"
    else:
        assert np.isnan(a_d).any() and draws % U._ROWS and draws > U._ROWS, "blocks of draws, the last one short"
    assert np.array_equal(sim.draws["p_leave_12m"], p_d, equal_nan=True)
    assert np.array_equal(sim.draws["attributable_p_leave"], a_d, equal_nan=True)


def test_next_years_count_of_no_one_is_unknown_not_an_error():
    """An empty organisation (or a scope with no one in it) has no expected leavers, so no
    count range: the review of an empty organisation failed here once (count_spans of no draws)."""
    from burnout import uncertainty as U

    lo, hi = U.count_spans(np.zeros((0, 3)))
    assert np.isnan(lo).all() and np.isnan(hi).all() and lo.shape == (3,)
    empty = U.GroupDraws.of(U.Ranges(pd.DataFrame({f: [] for f in ("helper_id", *U.FIGURES)}), {}, counted=True), [])
    assert empty.total()["leavers_next_year"] == {"mid": None, "low": None, "high": None}


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 40), st.integers(1, 12), st.floats(0, 1), st.integers(0, 2**31 - 1))
def test_each_helpers_range_is_nanpercentile_of_their_draws(draws, helpers, nan_share, seed):
    """uncertainty._percentiles (one vectorised percentile for the columns without a NaN,
    nanpercentile for the rest) gives exactly np.nanpercentile's numbers, all-NaN columns NaN."""
    import warnings

    from burnout import uncertainty as U
    rng = np.random.default_rng(seed)
    d = rng.gamma(2.0, 0.1, (draws, helpers))
    d[rng.random((draws, helpers)) < nan_share] = np.nan
    if helpers > 2:
        d[:, 1] = np.nan
    lo, hi = U._percentiles(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.nanpercentile(d, U.LEVEL, axis=0)
    np.testing.assert_array_equal(lo, want[0])
    np.testing.assert_array_equal(hi, want[1])
