"""The HR review as a typed object: its parts, privacy of every table, scopes and
filters, turnover assumptions, and how the risk model was checked."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from burnout import leaving, privacy
from burnout.views import review as review_mod
from burnout.errors import InputError
from burnout.store import frames
from burnout.views.data import OrgData, load_data, people_frame
from burnout.views.review import Review, Section, TurnoverImpact, build_review, review_base, with_scenario
from burnout.views.risk_table import risk_report
from burnout.views.tables import for_screen

from conftest import run_cli
from test_review_read import assert_same_review

MIN_N = 5


@pytest.fixture(scope="module")
def review(demo_db) -> Review:
    return build_review(demo_db["engine"], "org")


def test_review_has_every_part(review):
    assert isinstance(review, Review) and all(isinstance(s, Section) for s in review.sections)
    keys = [s.key for s in review.sections]
    assert keys == ["by_team", "by_role", "by_site", "risk_bands", "weekly", "participation", "causes", "symptoms",
                    "turnover", "what_if"]
    assert review.min_n == MIN_N and "under 5 people" in review.privacy_note
    assert {"risk_bands", "trend", "heatmap", "pressure", "participation", "turnover", "turnover_cost",
            "what_if"} <= set(review.figures)
    # every figure a section names is one the review drew
    assert {f for s in review.sections for f in s.figures} <= set(review.figures)
    assert "Relative risk of leaving when burned out" in set(review.assumptions["Assumption"])
    assert isinstance(review.turnover, TurnoverImpact)
    assert review.turnover.what_if["expected_cost_before"] > 0
    assert review.evidence and all(e.label and e.text for e in review.evidence)
    assert review.section("what_if").title == "What-if scenario"


def test_no_published_aggregate_of_fewer_than_five_people(review, demo_db):
    """Every shown cell of every table counts 5+ distinct people — checked against the
    raw answers — and no hidden cell can be solved from the shown ones."""
    people = people_frame(load_data(demo_db["engine"]))
    for name, sup in review.tables.items():
        assert isinstance(sup, privacy.Suppressed)
        for col in ["n", *sup.value_cols]:
            assert privacy.recoverable(sup, col) == [], (name, col)
            shown = sup.status[col] == privacy.SHOWN
            vals = sup.table.loc[shown, col]
            if col == "n":
                assert (vals.dropna() >= MIN_N).all(), name
        if name.startswith("by_"):
            g = sup.group_cols[0]
            for i in range(len(sup.table)):
                key = sup.table.iloc[i][g]
                sel = people if key == privacy.TOTAL else people[people[g] == key]
                for col in sup.value_cols:
                    if sup.status.iloc[i][col] == privacy.SHOWN and pd.notna(sup.table.iloc[i][col]):
                        assert sel.loc[sel[col].notna(), "helper_id"].nunique() >= MIN_N, (name, key, col)
    t = review.turnover.table
    assert (t.loc[t["status"] == privacy.SHOWN, "helpers_with_risk"] >= MIN_N).all()
    assert t.loc[t["status"] != privacy.SHOWN, ["expected_leavers", "attributable_cost"]].isna().all().all()
    part = review.participation
    assert (part.loc[part["status"] == privacy.SHOWN, "respondents"] >= MIN_N).all()


def test_small_teams_are_hidden_with_a_complement(review):
    sup = review.tables["by_team"]
    status = dict(zip(sup.table["team"], sup.status["n"]))
    small = [t for t, s in status.items() if s == privacy.PRIMARY]
    assert small, "the demo has a team under the minimum size"
    hidden = [t for t, s in status.items() if s != privacy.SHOWN and t != privacy.TOTAL]
    assert len(hidden) >= 2          # never one hidden team next to a published total


def test_narrowing_filter_is_protected(demo_db):
    eng = demo_db["engine"]
    site = frames.roster(eng)["site"].value_counts().index[0]
    rv = build_review(eng, "org", where={"site": [site]})
    assert rv.filter == {"site": [site]} and ("Filter", f"site: {site}") in rv.about()
    people = people_frame(load_data(eng))
    sup = rv.tables["by_team"]
    for team, st_ in zip(sup.table["team"], sup.status["n"]):
        if st_ != privacy.SHOWN or team == privacy.TOTAL:
            continue
        everyone = set(people.loc[people["team"] == team, "helper_id"])
        at_site = set(people.loc[(people["team"] == team) & (people["site"] == site), "helper_id"])
        assert len(at_site) >= MIN_N and len(everyone - at_site) in (0,) + tuple(range(MIN_N, 10_000))


def test_team_scope_and_unknown_team(demo_db):
    eng = demo_db["engine"]
    rv = build_review(eng, f"team:{demo_db['lead_team']}")
    assert rv.scope_label == f"Team {demo_db['lead_team']}" and rv.team == demo_db["lead_team"]
    assert [s.key for s in rv.sections][:2] == ["by_role", "by_site"]
    assert rv.turnover.group_col == "role" and rv.section("by_role").figures == ("pressure",)
    with pytest.raises(InputError, match="no team"):
        build_review(eng, "team:NOPE")
    with pytest.raises(InputError):
        build_review(eng, "somewhere")


def test_a_review_cannot_try_out_an_assumption_and_the_what_if_reacts(demo_db):
    """Every figure rests on the saved settings (SESSION_ASSUMPTIONS is empty, see
    test_attack_levers for why); the what-if inputs still move the what-if."""
    eng = demo_db["engine"]
    for override in ({"relative_risk": 1.0}, {"replacement_cost": {"nurse": 1.0}}):
        with pytest.raises(InputError, match="cannot change"):
            build_review(eng, "org", override)
    rv = build_review(eng, "org", scenario={"burnout_reduction_points": 10, "cap_caseload": False,
                                            "intervention_cost": 10_000})
    assert rv.turnover.total["attributable_leavers"] > 0
    wi = rv.turnover.what_if
    assert wi["roi"] == pytest.approx((wi["cost_saved"] - 10_000) / 10_000)


def test_a_what_if_change_reworks_only_the_scenario(demo_db, monkeypatch):
    """The page keeps one review base and adds each scenario to it: the result equals the
    whole review under that scenario, the rest is shared, not worked out again, and a lever
    alone is simulated once for every scenario that shows it."""
    eng = demo_db["engine"]
    data = load_data(eng)
    base = review_base(eng, "org", data=data)
    calls = []
    real = review_mod.uncertainty.what_if_ranges
    monkeypatch.setattr(review_mod.uncertainty, "what_if_ranges", lambda *a, **k: calls.append(k) or real(*a, **k))
    scenarios = [{"burnout_reduction_points": 5.0, "cap_caseload": True, "intervention_cost": 20_000.0},
                 {"burnout_reduction_points": 20.0, "cap_caseload": True, "intervention_cost": 20_000.0}]
    got = [with_scenario(base, sc) for sc in scenarios]
    assert [k["burnout_reduction_points"] for k in calls if k["cap_caseload"] and not k["burnout_reduction_points"]] \
        == [0.0], "the cap alone: one simulation for both scenarios"
    assert got[0].turnover.what_if != got[1].turnover.what_if, "the scenario moves the what-if"
    assert got[0].tables is got[1].tables and got[0].figures["heatmap"] is got[1].figures["heatmap"]
    assert got[0].figures["what_if"] is not got[1].figures["what_if"]
    monkeypatch.undo()
    # the second, whose cap-alone lever came from the first: the same as a whole review's
    assert_same_review(got[1], build_review(eng, "org", data=data, scenario=scenarios[1]))


def test_what_if_scenarios_sharing_their_before_figures_equal_calls_that_share_nothing(demo_db, monkeypatch):
    """The levers and scenarios of one review share turnover.what_if's memo (the helpers'
    figures before any scenario, per relative risk, and their capped-caseload risk): each
    result equals one worked out with no memo at all, at every end of the relative-risk
    range (a memo keyed without the relative risk would give the middle figure at both ends)."""
    from burnout import turnover

    eng = demo_db["engine"]
    base = review_base(eng, "org", data=load_data(eng))
    asks = [(10.0, False, 0.0), (0.0, True, 0.0), (10.0, True, 0.0), (25.0, True, 5_000.0), (0.0, False, 0.0)]
    shared = dataclasses.replace(base.inputs, done={}, memo={})
    kept = [shared.run(*a) for a in asks]
    assert {k[0] for k in shared.memo} == {"before", "capped"}
    assert len([k for k in shared.memo if k[0] == "before"]) == 3, "the middle and both ends of the range"
    real = turnover.what_if
    monkeypatch.setattr(review_mod.uncertainty, "what_if", lambda *a, memo=None, **k: real(*a, **k))
    alone = dataclasses.replace(base.inputs, done={}, memo={})
    fresh = [alone.run(*a) for a in asks]
    assert not alone.memo
    assert kept == fresh
    assert any(r["cost_saved_low"] < r["cost_saved_high"] for r in kept if r.get("cost_saved_low") is not None)


def test_a_site_filter_redoes_only_the_rollups(demo_db):
    """A filter changes only the roll-ups (their pressure chart and the summary's hidden line):
    the unfiltered base refiltered equals a review built under the filter, and shares the rest
    (weekly cells, drivers, turnover) with the unfiltered base."""
    eng = demo_db["engine"]
    data = load_data(eng)
    sites = sorted(data.roster["site"].dropna().astype(str).unique())
    where = {"site": sites[:2]}
    base = review_base(eng, "org", data=data)
    got = review_mod.refiltered(base, where)
    want = review_base(eng, "org", data=data, where=where)
    assert got.review.filter == want.review.filter == where
    assert_same_review(with_scenario(got), with_scenario(want))
    assert got.review.tables["weekly"] is base.review.tables["weekly"]
    assert got.review.section("causes") is base.review.section("causes")
    assert got.review.figures["heatmap"] is base.review.figures["heatmap"]


def test_a_review_built_from_loaded_data_equals_one_that_reads_its_own(demo_db):
    """The page passes the shared OrgData; the review's figures are the same as a fresh read's."""
    eng = demo_db["engine"]
    data = load_data(eng)
    assert isinstance(data, OrgData)
    shared = build_review(eng, "org", data=data).turnover.total
    own = build_review(eng, "org").turnover.total
    assert shared["attributable_leavers"] == pytest.approx(own["attributable_leavers"])
    assert shared["attributable_leavers"] > 0


def test_the_turnover_is_worked_out_beside_the_other_sections_and_its_failure_is_raised(demo_db, monkeypatch):
    """review_base works the turnover figures out on a thread of their own while it builds the
    roll-ups, bands, weekly cells and participation (the Monte Carlo is most of a review after a
    check-in at L): the review equals one whose turnover was worked out inline, the other
    sections really are built meanwhile, and an error in the turnover reaches the caller."""
    import threading

    from concurrent.futures import Future

    class Inline:           # an executor that runs the job as it is handed over
        def __init__(self, *a, **k):
            pass

        def submit(self, fn, *a, **k):
            done = Future()
            try:
                done.set_result(fn(*a, **k))
            except BaseException as exc:   # noqa: BLE001 - handed back as a thread's would be
                done.set_exception(exc)
            return done

        def shutdown(self, wait=True):
            pass

    eng = demo_db["engine"]
    data = load_data(eng)
    with monkeypatch.context() as m:
        m.setattr(review_mod, "ThreadPoolExecutor", Inline)
        inline = review_base(eng, "org", data=data).review
    real = review_mod.turnover_impact
    started, sections_built, seen = threading.Event(), threading.Event(), {}
    real_rollups = review_mod._rollups

    def turnover(*a, **k):
        seen["thread"] = threading.current_thread().name
        started.set()
        # the sections are built while this waits: inline, this would wait in vain
        seen["overlapped"] = sections_built.wait(timeout=60)
        return real(*a, **k)

    def rollups(*a, **k):
        out = real_rollups(*a, **k)
        started.wait(timeout=60)
        sections_built.set()
        return out

    monkeypatch.setattr(review_mod, "turnover_impact", turnover)
    monkeypatch.setattr(review_mod, "_rollups", rollups)
    beside = review_base(eng, "org", data=data).review
    assert seen == {"thread": seen["thread"], "overlapped": True} and seen["thread"] != threading.current_thread().name
    assert_same_review(beside, inline)

    def broken(*a, **k):
        raise RuntimeError("the simulation failed")

    monkeypatch.setattr(review_mod, "turnover_impact", broken)
    with pytest.raises(RuntimeError, match="the simulation failed"):
        review_base(eng, "org", data=data)


def test_a_plan_handed_to_the_review_is_used_only_for_its_window_and_minimum_group(demo_db, monkeypatch):
    """review_base takes a joint plan the caller holds (a stored release audit's) instead of
    auditing, but never one made for another window or minimum group: the 4-week plan handed
    to an 8-week review would let through cells the 8-week audit hides."""
    from burnout.views.data import org_people
    from burnout.views.tables import review_plan

    eng = demo_db["engine"]
    data = load_data(eng)
    plan4 = review_plan(org_people(data, weeks=4), MIN_N)
    assert (plan4.window, plan4.min_n) == (4, MIN_N)
    audits = []
    real = review_mod.review_plan
    monkeypatch.setattr(review_mod, "review_plan", lambda *a, **k: audits.append(1) or real(*a, **k))
    given = review_base(eng, "org", data=data, window_weeks=4, plan=plan4)
    assert audits == [] and given.plan is plan4
    own = review_base(eng, "org", data=data, window_weeks=4)      # audits (the same plan: cached)
    assert audits == [1]
    assert_same_review(given.review, own.review)
    eight = review_base(eng, "org", data=data, window_weeks=8, plan=plan4)
    assert audits == [1, 1] and eight.plan is not plan4 and eight.plan.window == 8
    assert_same_review(eight.review, review_base(eng, "org", data=data, window_weeks=8).review)


def test_reviews_built_at_once_by_several_sessions_equal_one_built_alone(demo_db):
    """An attack on the turnover thread and the shared plan: four HR sessions build the review at
    once (each with its own turnover thread, all asking the one cached joint plan and its memo
    of verdicts from several threads); each review equals the one built alone, table for table."""
    import threading

    eng = demo_db["engine"]
    data = load_data(eng)
    alone = review_base(eng, "org", data=data).review
    built, errors = [None] * 4, []
    gate = threading.Barrier(4)

    def session(i):
        try:
            gate.wait(timeout=60)
            built[i] = review_base(eng, "org", data=data).review
        except BaseException as exc:     # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    for review in built:
        assert_same_review(review, alone)


def test_for_screen_makes_mixed_columns_text():
    df = pd.DataFrame({"a": [5, "fewer than 5"], "b": [1.0, 2.0]})
    out = for_screen(df)
    assert out["a"].tolist() == ["5", "fewer than 5"] and out["b"].tolist() == [1.0, 2.0]


# --------------------------------------------------------------------------- how the risk model was checked

def test_review_says_how_the_risk_model_was_checked(review, demo_db, tmp_path):
    cal = review.calibration
    assert cal.title == "How the risk model was checked"
    assert cal.used == "defaults"                       # 40 helpers x 30 weeks: too little history
    first = cal.lines[0]
    assert first.startswith("Probability of leaving: the documented defaults")
    assert "fitting needs at least 20 leavers and 100 helper-years" in first
    shown = dict(zip(cal.display["Figure"], cal.display["Value"]))
    assert shown["Probability of leaving from"].startswith("documented defaults")
    assert "Helpers who left (counted)" in shown and "Helper-years of history" in shown
    # the risk command prints the same account of the same model
    res = run_cli("risk", "--output", str(tmp_path / "risk.csv"), env={"BURNOUT_DATABASE_URL": demo_db["url"]})
    assert res.returncode == 0, res.stderr
    # (the model also states its base turnover and what the probabilities rest on)
    assert [ln for ln in res.stderr.splitlines()
            if ln.startswith(("Probability", "Base turnover", "Risk to burnout", "Leaving probabilities",
                                   "Risk score weights"))] == \
        list(cal.lines)


class _Fitted(leaving.CalibrationResult):
    # at module level: the risk command stores the model it reads for other processes (pickled)
    def predict_p_leave(self, frame):
        return 0.05 + 0.004 * pd.to_numeric(frame["risk_score"], errors="coerce").fillna(50).to_numpy()


def test_cli_and_review_use_the_same_fitted_model(writable_db, monkeypatch):
    # a private copy: the risk command stores the stubbed fit, which no other test may read
    stub = _Fitted("fitted", "stub", n_leavers=40, helper_years=300.0, features=["risk_score"],
                  metrics={"concordance": 0.7, "auc": 0.72, "calibration_slope": 1.0,
                           "calibration_intercept": 0.0, "split_date": "2024-01-01"})
    monkeypatch.setattr(leaving, "calibrate", lambda *a, **k: stub)
    eng = writable_db["engine"]
    table, model = risk_report(eng, details=True)
    assert model.fitted
    rv = build_review(eng, "org", scenario={"burnout_reduction_points": 0, "cap_caseload": False})
    total = rv.turnover.total
    assert total["status"] == privacy.SHOWN
    ids = set(people_frame(load_data(eng))["helper_id"])
    assert ids == set(table["helper_id"])
    # the CSV rounds each probability to a whole percent (no false precision): half a point each at most
    assert total["expected_leavers"] == pytest.approx(table["p_leave_12m"].sum(), abs=0.005 * len(table) + 0.01)
    assert rv.turnover.what_if["expected_leavers_before"] == pytest.approx(total["expected_leavers"])
    assert rv.calibration.used == "fitted"
    assert "the organisation's own model (Cox" in rv.calibration.lines[0]


def test_every_turnover_total_carries_its_range_from_the_one_simulation(review):
    """Each shown leaver, money and client total has low <= figure <= high, from
    burnout.uncertainty (one place): the total's range is that simulation's."""
    from burnout import uncertainty
    from burnout.views.review import RANGED
    t = review.turnover.table
    shown = t[t["status"] == privacy.SHOWN]
    assert len(shown) >= 2
    for name in RANGED:
        lo, mid, hi = (pd.to_numeric(shown[c]) for c in (f"{name}_low", name, f"{name}_high"))
        ok = mid.notna()
        assert ok.any()
        assert (lo[ok] <= mid[ok] + 1e-9).all() and (mid[ok] <= hi[ok] + 1e-9).all(), name
    total = review.turnover.total
    sim = review.turnover.scope_ranges
    assert total["expected_leavers"] == pytest.approx(sim["expected_leavers"]["mid"])
    assert total["attributable_cost_low"] == pytest.approx(sim["attributable_cost"]["low"])
    # hidden rows say nothing, not even a range
    hidden = t[t["status"] != privacy.SHOWN]
    assert hidden[[f"{n}_low" for n in RANGED]].isna().all().all()
    # the headline reads the same totals in words
    head = dict(zip(review.summary.headline["Figure"], review.summary.headline["Estimate"]))
    assert head["Burnout-attributable turnover cost per year"] == uncertainty.format_range(
        total["attributable_cost"], total["attributable_cost_low"], total["attributable_cost_high"], money=True)
    assert "(range " in head["Expected leavers per year"] and "(range " in head["Burnout prevalence (estimated)"]


def test_turnover_table_and_what_if_show_ranges_beside_their_figures(review):
    disp = review.section("turnover").display
    for col in ("Expected leavers per year: range", "Burnout-attributable cost per year: range",
                "Clients who would lose their helper: range"):
        assert col in disp.columns
    total = disp[disp.iloc[:, 0] == privacy.TOTAL].iloc[0]
    assert "–" in total["Burnout-attributable cost per year: range"]
    wi = dict(zip(review.section("what_if").display["Figure"], review.section("what_if").display["Range"]))
    assert "–" in wi["Cost saved per year ($)"] and "–" in wi["Leavers avoided per year"]
    levers = review.summary.levers
    assert levers["Cost saved: range"].str.contains("–").any()
    # the best lever in words, with its range (no dollar-exact figure)
    import re
    assert re.search(r"on its own; both levers together: about \$[\d.]+k \(range ", review.summary.best_lever)
    assert re.search(r": about \$[\d.]+k \(range \$[\d.]+k–\$[\d.]+k\) a year", review.summary.best_lever)
    clients = review.summary.clients
    assert clients.loc[clients["People served"] != "mixed", "Range"].str.contains("–").all()


def test_the_review_has_no_copy_of_the_relative_risk_range():
    """The relative-risk range lives in the Settings and burnout.uncertainty only."""
    import inspect
    from burnout.views import review as mod
    src = inspect.getsource(mod)
    assert "RELATIVE_RISK_RANGE" not in src and "1.5, 3.0" not in src


def test_hr_review_shows_causes_apart_from_symptoms_ranked_like_each_helpers_drivers(review, demo_db):
    from burnout import risk
    causes = review.section("causes").display
    symptoms = review.section("symptoms").display
    cause_labels = {risk.COMPONENT_LABELS[c] for c in risk.CAUSES}
    symptom_labels = {risk.COMPONENT_LABELS[c] for c in risk.SYMPTOMS}
    assert len(causes) and set(causes["Workplace factor"]) <= cause_labels
    assert len(symptoms) and set(symptoms["What people report"]) <= symptom_labels
    # every cause carries its suggested first step (risk.SUGGESTED_ACTIONS)
    actions = {risk.COMPONENT_LABELS[c]: a["action"] for c, a in risk.SUGGESTED_ACTIONS.items()}
    assert [actions[f] for f in causes["Workplace factor"]] == list(causes["Suggested first step"])
    # the organisation's column is risk.team_causes over the same people, in its order
    people = people_frame(load_data(demo_db["engine"]))
    expect = risk.team_causes(people[people["risk_score"].notna()])
    assert list(causes["Workplace factor"]) == list(expect["label"])
    assert list(causes["All: adds (risk points)"]) == pytest.approx(list(expect["points"].round(1)))
    # a team column appears only for a team shown in the roll-up by team
    by_team = review.tables["by_team"]
    shown = set(by_team.table.loc[by_team.status["risk_score"] == privacy.SHOWN, "team"].astype(str))
    team_cols = set(causes.columns) - {"Workplace factor", "All: adds (risk points)", "Suggested first step"}
    assert team_cols and team_cols <= shown


def test_participation_of_the_weeks_shown_equals_those_weeks_of_the_whole_history(demo_db):
    """privacy.participation reads who answered only in the weeks it shows: each of those
    weeks equals the same week counted over the whole history (first and last week included)."""
    data = load_data(demo_db["engine"])
    for weeks in (4, 26):
        recent = privacy.participation(data.roster, data.scores, MIN_N, as_of=data.as_of, weeks=weeks)
        whole = privacy.participation(data.roster, data.scores, MIN_N, as_of=data.as_of, weeks=None)
        assert len(recent) == weeks < len(whole)
        pd.testing.assert_frame_equal(recent, whole.tail(weeks).reset_index(drop=True), check_exact=True)
        assert (recent["status"] == privacy.SHOWN).any()


def test_participation_reading_only_its_helpers_weeks_equals_a_filtered_copy_first(demo_db):
    """participation takes from the whole scores only its roster's rows of the weeks shown
    (no filtered copy of the history): the same table as filtering first, for the
    organisation, one team (the others' scores present), a reader who knows people,
    strangers' scores (not on the roster) and no as_of (the last week answered)."""
    from burnout.views.tables import participation_table
    data = load_data(demo_db["engine"])
    team = sorted(data.roster["team"].unique())[0]
    ids = data.roster.loc[data.roster["team"] == team, "helper_id"]
    stranger = data.scores.head(40).assign(helper_id="not-on-the-roster",
                                           week_start=data.scores["week_start"].min() - pd.Timedelta(weeks=60))
    scores = pd.concat([stranger, data.scores], ignore_index=True)
    known = set(ids.head(3))
    statuses = set()
    for roster, kn, as_of in [(data.roster, None, data.as_of), (data.roster[data.roster["team"] == team], None,
                                                                 data.as_of),
                              (data.roster[data.roster["team"] == team], known, data.as_of), (data.roster, known, None)]:
        for weeks in (4, 26, None):
            got = privacy.participation(roster, scores, MIN_N, known=kn, as_of=as_of, weeks=weeks)
            old = privacy.participation(roster, scores[scores["helper_id"].isin(set(roster["helper_id"]))], MIN_N,
                                        known=kn, as_of=as_of, weeks=weeks)
            pd.testing.assert_frame_equal(got, old, check_exact=True)
            statuses.update(got["status"])
    assert {privacy.SHOWN, privacy.PRIMARY} <= statuses      # shown and hidden weeks both compared
    # the review's table for a team: the same as giving it only the team's scores
    got = participation_table(data, ids, MIN_N)
    own = privacy.participation(data.roster[data.roster["helper_id"].isin(set(ids))],
                                data.scores[data.scores["helper_id"].isin(set(ids))], MIN_N, as_of=data.as_of)
    pd.testing.assert_frame_equal(got, own, check_exact=True)
    # the weeks come from the roster's own answers: a stranger's earlier answers start nothing
    whole = privacy.participation(data.roster, scores, MIN_N, as_of=data.as_of, weeks=None)
    assert whole["week_start"].min() == data.scores["week_start"].min()


def test_weekly_rows_join_their_group_as_the_merge_did():
    """views.tables.joined (a look-up) gives the inner merge's frame exactly: rows of helpers
    not on the roster dropped, the first roster row of a helper listed twice, the frame's
    order and a fresh index, the group's own type (text, categories, missing)."""
    from burnout.views.tables import joined

    rng = np.random.default_rng(4)
    roster = pd.DataFrame({"helper_id": ["h1", "h2", "h3", "h2", "h5"], "team": ["A", "B", None, "C", "A"],
                           "role": pd.Categorical(["x", "y", "x", "z", None])})
    frame = pd.DataFrame({"helper_id": rng.choice(["h1", "h2", "h3", "h4", "h5"], 200),
                          "week_start": pd.Timestamp("2026-01-05") + pd.to_timedelta(rng.integers(0, 5, 200) * 7, "D"),
                          "m": rng.normal(50, 5, 200)}, index=rng.permutation(200) + 1000)
    for g in ("team", "role"):
        want = frame.merge(roster[["helper_id", g]].drop_duplicates("helper_id"), on="helper_id", how="inner")
        got = joined(frame, roster, g)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert "h4" not in set(got["helper_id"]) and set(got.loc[got["helper_id"] == "h2", "team" if g == "team" else g].astype(str)) <= {"B", "y"}


def test_the_review_says_when_kinds_of_team_share_one_base_turnover(review, demo_db):
    """The review's totals differ from the risk command's when kinds of team with a hidden team
    share one base turnover (the privacy rule of turnover_impact): at the demo, about 430
    clients against about 350.  The assumptions say so, on the page and in every export."""
    assert review.turnover.pool_kinds
    rows = dict(zip(review.assumptions["Assumption"], review.assumptions["Value"]))
    said = rows["Base turnover: kinds of team with a team not shown"]
    assert "mean of theirs" in said and "risk command" in said
    pooled = review.turnover.total["clients_affected"]
    own = risk_report(demo_db["engine"])["clients_affected"].sum()
    assert abs(pooled - own) > 0.1 * own            # the difference the row explains
