"""The HR review's levers as an attacker uses them (issue 10, point 4): the turnover
assumptions a reviewer may try out and the what-if levers each weigh people, and a
lever that weighs one subset apart from the rest releases that subset's sum.

- A replacement cost per role (or a turnover rate per kind of team) tried in a session:
  the organisation's expected cost with one role at x1 and every other at x0 is that
  role's sum alone.  On the old page, in an organisation with one mental health
  counsellor, that gave $8,688 = 2 x the counsellor's own $4,344.01 at the saved x0.5.
- The caseload cap moves only the helpers above their role standard: its saving in a
  team with 3 of them was their sum ($215 = $145.20 + $2.11 + $67.30).
- The relative risk, value after value (first tried in a session, then saved by an admin):
  where kinds of team split turnover at their own prevalence the hidden teams' total is
  x·Σ_k V_k / (1 + x·a_k) in x = RR − 1, one pole per kind of team, and enough values
  separated the kinds: the 4-person team AMH-Northgate's burnout-attributable cost,
  $3,504.88, hidden on every page, came out exact from the review's own figures, and within
  $14 from ten saves read off HR's workbook in whole dollars.  The relative risk is the saved
  setting only, and one split prevalence for everyone makes every figure move with it
  through one common factor, so saves add nothing (likewise the reference prevalence).
- The what-if's reduction, tried value after value, moves each figure along a line (each
  helper's probability of burnout is scaled by the same factor), so any number of values
  gives two numbers per scope, both sums over a group the audit passes.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, insert
from streamlit.testing.v1 import AppTest

from burnout import auth, disclosure, privacy, turnover
from burnout.domain.settings import Settings
from burnout.errors import InputError
from burnout.export.xlsx import to_xlsx
from burnout.store import settings as saved_settings
from burnout.store.schema import settings as settings_t
from burnout.views import review as review_views
from burnout.views.data import active_roster, load_data, merged_settings, people_frame
from burnout.views.review import SESSION_ASSUMPTIONS, build_review
from burnout.views.tables import review_plan

from conftest import ROOT
from helpers import small_org, xlsx_cells

MIN_N = 5
PASSWORD = "attack-password-1234"


@pytest.fixture(scope="module")
def one_counsellor(tmp_path_factory):
    """26 helpers in 3 teams; one mental health counsellor in the whole organisation."""
    engine = small_org(tmp_path_factory.mktemp("levers"), helpers=26, weeks=14, seed=5)
    return engine, load_data(engine)


@pytest.fixture(scope="module")
def three_above_standard(tmp_path_factory):
    """48 helpers; team ADD-North (11) has 3 helpers above their role standard."""
    engine = small_org(tmp_path_factory.mktemp("levers"), helpers=48, weeks=14, seed=9)
    return engine, load_data(engine)


def _impact(data):
    roster = active_roster(data.roster, data.as_of)
    return turnover.helper_impact_under(data.leaving_model, roster, data.latest, data.settings)


def test_a_cost_per_role_tried_in_a_session_cannot_single_out_the_one_counsellor(one_counsellor):
    engine, data = one_counsellor
    impact = _impact(data)
    alone = impact[impact["role"] == "mental health counsellor"]
    assert len(alone) == 1, "this organisation has one counsellor"
    roles = sorted(impact["role"].unique())
    attack = {"default_cost_multiplier": 0.0,
              "cost_multiplier": {r: 1.0 if r == "mental health counsellor" else 0.0 for r in roles}}
    # the old page built this review: its organisation total was the counsellor's alone
    with pytest.raises(InputError, match="single out"):
        build_review(engine, "org", attack, data=data)
    for key, value in (("cost_multiplier", {"nurse": 3.0}), ("default_cost_multiplier", 0.1),
                       ("base_turnover", {str(impact["team_kind"].iloc[0]): 0.5}),
                       ("default_base_turnover", 0.5), ("cost_per_departure", {"nurse": 1.0})):
        with pytest.raises(InputError):
            build_review(engine, "org", {key: value}, data=data)
    # nor the relative risk (test_an_admin_saving_the_relative_risk_again_and_again_learns_nothing_new)
    assert SESSION_ASSUMPTIONS == frozenset()
    with pytest.raises(InputError):
        build_review(engine, "org", {"relative_risk": 1.0}, data=data)


def test_the_review_page_offers_no_cost_turnover_or_relative_risk_to_try(one_counsellor, monkeypatch):
    from burnout.ui.common import now

    engine, _ = one_counsellor
    auth.create_user(engine, "levers-hr", PASSWORD, "hr")
    monkeypatch.setenv("BURNOUT_DATABASE_URL", str(engine.url))
    monkeypatch.setenv("BURNOUT_DEMO", "0")
    at = AppTest.from_file(str(ROOT / "burnout" / "ui" / "org_review.py"), default_timeout=120)
    at.session_state["user"] = auth.authenticate(engine, "levers-hr", PASSWORD)
    at.session_state["last_seen"] = now()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    keys = {w.key for w in at.number_input}
    assert not [k for k in keys if k and k.startswith(("rv_mult", "rv_base", "rv_rr"))], keys
    # the saved relative risk and its range are said in words
    assert any("relative risk" in str(c.value) and "1.5" in str(c.value) for c in at.caption)


def test_the_caseload_cap_is_not_shown_over_three_helpers(three_above_standard):
    engine, data = three_above_standard
    people = people_frame(data)
    team = people[people["team"] == "ADD-North"]
    capped = turnover.capped_helpers(data.latest, data.settings.risk_weights) & set(team["helper_id"])
    assert len(capped) == 3, "the team this test is about"
    rv = build_review(engine, "team:ADD-North", data=data)
    assert rv.turnover.what_if is not None, "the team's what-if is shown"
    levers = rv.summary.levers
    cap_rows = levers[levers["Lever"].str.contains("capped|together")]
    assert len(cap_rows) == 2
    for _, row in cap_rows.iterrows():
        assert all(str(v).startswith("not shown") for v in row.iloc[1:]), row.to_dict()
    # the old page's $215 (the three helpers' $145.20 + $2.11 + $67.30) appears nowhere
    assert "215" not in levers.astype(str).to_numpy().ravel().tolist()
    assert "not applied" in rv.section("what_if").text
    # the review's own scenario asks for the cap: its figures are the lower-only lever's
    assert rv.turnover.what_if["leavers_avoided"] == pytest.approx(
        float(levers.iloc[0]["Leavers avoided per year"]), abs=0.006)
    # a team with none above its standard, or with 5 or more, keeps the cap's figures
    for other in ("CL-Westfield", "CW-Meadow", "SC-South"):
        lv = build_review(engine, f"team:{other}", data=data).summary.levers
        assert not str(lv.iloc[1]["Cost saved per year ($)"]).startswith("not shown"), other
    # the organisation's cap figure minus its shown teams' covers the 5 in the others
    org = build_review(engine, "org", data=data).summary.levers
    assert not str(org.iloc[1]["Cost saved per year ($)"]).startswith("not shown")


def test_the_readers_attacker_finds_the_old_cap_figures(three_above_standard, monkeypatch):
    """The attacker of tests/test_attack_readers.py reads each lever as a row over the
    helpers it moves: it finds the three helpers in the old team report's cap figures,
    and nothing in the report as it is now."""
    import test_attack_readers as readers
    from burnout.views import review as review_views

    engine, data = three_above_standard
    people = people_frame(data)
    capped = turnover.capped_helpers(data.latest, data.settings.risk_weights)

    def found() -> list:
        got = readers.Released(sorted(data.scores["week_start"].unique()), capped)
        got.levers(build_review(engine, "team:ADD-North", data=data).summary.levers, {"team": "ADD-North"})
        return [f for m, figs in got.rows.items() for f in readers._undetermined(data, people, m, figs, set())]

    assert found() == []
    monkeypatch.setattr(review_views, "cap_shown", lambda *a, **k: True)       # the old review
    assert [ids for _, _, ids in found()] == [("H0015", "H0019", "H0020")]


@pytest.fixture(scope="module")
def own_turnover(tmp_path_factory):
    """26 helpers in 3 teams of 3 kinds (12, 4 and 10); the organisation entered its own
    turnover, so each kind of team splits it at its own prevalence of burnout."""
    engine = small_org(tmp_path_factory.mktemp("levers"), helpers=26, weeks=14, seed=5)
    saved_settings.save(engine, {"observed_turnover": {"all": 0.2}}, actor="admin")
    return engine, load_data(engine)


# What HR reads of the turnover figures, with the decimals the workbook (and the page and PDF,
# built from the same review) gives them.
FIGURES = {"Expected leavers per year": 1, "Of which attributable to burnout": 2,
           "Expected turnover cost per year ($)": 0, "Burnout-attributable cost per year ($)": 0,
           "Clients who would lose their helper": 0}


def _sheet(rows: list) -> pd.DataFrame:
    head = next(i for i, r in enumerate(rows) if r and r[0] == "Team")
    body = [r for r in rows[head + 1:] if r and r[0] is not None]
    return pd.DataFrame(body, columns=rows[head]).set_index("Team")


def _save_and_read(engine, values: dict, workbook: bool = True) -> pd.DataFrame:
    """An admin saves ``values`` (the settings page's own path, store.settings.save); HR then
    reads the organisation's turnover table, one row per team and the total, indexed by team:
    from the review's workbook, or (``workbook=False``, a tenth of the time) the same table
    built the way build_review builds it (the settings read back, the audit, turnover_impact,
    turnover_display), which the workbook prints cell for cell."""
    saved_settings.save(engine, values, actor="admin")
    data = load_data(engine)
    if workbook:
        return _sheet(xlsx_cells(to_xlsx(build_review(engine, "org", data=data)))["Turnover impact"])
    settings = merged_settings(engine, None)
    data = data.with_settings(settings)
    people = people_frame(data)
    tb = review_views.turnover_impact(data, people, settings.min_group_size,
                                      plan=review_plan(people, settings.min_group_size))
    return review_views.turnover_display(tb, settings.min_group_size).set_index("Team")


def _one_curve(y: np.ndarray, phi: np.ndarray) -> float:
    """How far ``y`` (a figure under the saved values) is from the closest a + b·phi."""
    basis = np.column_stack([np.ones_like(phi), phi])
    return float(np.abs(basis @ np.linalg.lstsq(basis, y, rcond=None)[0] - y).max())


def _two_teams(x: np.ndarray, h: np.ndarray, sizes: tuple, prevalence: float) -> float:
    """The attacker's fit of the hidden teams' burnout-attributable cost h(x) = x·(V_a/(1 + x·a) +
    V_b/(1 + x·b)), x = RR − 1, each team split at its own prevalence a, b, where a and b
    average (team sizes known from the roster) to the hidden teams' prevalence, which the
    total's and the shown team's give.  One unknown pole left: the best on a grid, V_a and V_b
    by least squares.  Returns the first team's figure at RR 2."""
    best = None
    for a in np.linspace(0.001, 0.999, 2000):
        b = (sum(sizes) * prevalence - sizes[0] * a) / sizes[1]
        if not 0 < b < 1:
            continue
        m = np.column_stack([x / (1 + x * a), x / (1 + x * b)])
        v = np.linalg.lstsq(m, h, rcond=None)[0]
        miss = float(np.abs(m @ v - h).max())
        if best is None or miss < best[0]:
            best = (miss, v[0] / (1 + a))
    return best[1]


# every relative risk an admin may save, from just above 1 to 10
SAVED_RRS = np.linspace(1.05, 10.0, 10)


def test_an_admin_saving_the_relative_risk_again_and_again_learns_nothing_new(own_turnover):
    """Each save of the relative risk is a new release of the same answers.  With each kind of
    team split at its own prevalence, each kind moved with RR along its own curve (a pole per
    kind), and HR's workbook figures (whole dollars) under ten saves (1.05 to 10) separated the
    hidden teams: the 4-person AMH-Northgate, alone of its kind and hidden on every page, came
    out at $3,505 (true $3,504.88).  Now every helper's figures move with RR through one common
    factor phi = (RR-1)/(1 + (RR-1)·BO) (one split prevalence BO for everyone): every figure HR
    reads lies on a + b·phi, so the hidden teams give two numbers per figure, both sums over
    all 14 hidden people together, which one save already gives (the audit passes that group)."""
    engine, data = own_turnover
    impact = _impact(data)
    truth = impact.groupby("team")["attributable_cost"].sum()
    small, other, shown = "AMH-Northgate", "HSW-Lakeside", "ADD-Harbour"
    sizes = tuple(int((impact["team"] == t).sum()) for t in (small, other))
    assert sizes == (4, 10) and impact.groupby("team")["team_kind"].nunique().max() == 1
    assert impact["team_kind"].nunique() == 3, "each team is its own kind of team"
    read = []
    try:
        for i, rr in enumerate(SAVED_RRS):
            read.append(_save_and_read(engine, {"relative_risk": float(rr)}, workbook=i in (0, len(SAVED_RRS) - 1)))
            if i == 0:      # the quick read is the workbook's table
                quick = _save_and_read(engine, {"relative_risk": float(rr)}, workbook=False)
                assert quick.astype(str).equals(read[0][quick.columns].astype(str))
    finally:
        saved_settings.save(engine, {"relative_risk": 2.0}, actor="admin")
    for t in read:
        assert not any(isinstance(v, (int, float)) for v in t.loc[small]), t.loc[small].tolist()
        assert not any(isinstance(v, (int, float)) for v in t.loc[other]), t.loc[other].tolist()
    hidden = {name: np.array([float(t.loc[privacy.TOTAL, name]) - float(t.loc[shown, name]) for t in read])
              for name in FIGURES}
    prev = "Estimated burnout prevalence (%)"
    n_shown = float(read[0].loc[shown, "People with a risk estimate"])
    prevalence = (float(read[0].loc[privacy.TOTAL, prev]) * (n_shown + sum(sizes))
                  - float(read[0].loc[shown, prev]) * n_shown) / 100 / sum(sizes)
    found = _two_teams(SAVED_RRS - 1, hidden["Burnout-attributable cost per year ($)"], sizes, prevalence)
    assert abs(found - truth[small]) > 0.1 * truth[small], (found, truth[small])
    # every figure, hidden and shown, on one curve a + b·phi (within the workbook's rounding)
    bo = float(impact["reference_prevalence"].iloc[0])
    phi = (SAVED_RRS - 1) / (1 + (SAVED_RRS - 1) * bo)
    for name, decimals in FIGURES.items():
        # a difference of two rounded figures is off by up to one unit of the last decimal
        for y, off in ((hidden[name], 2.0), (np.array([float(t.loc[shown, name]) for t in read]), 1.0)):
            assert _one_curve(y, phi) <= off * 10.0 ** -decimals, (name, y)


def test_saving_the_reference_prevalence_again_and_again_learns_nothing_new(one_counsellor):
    """The prevalence the national base turnover was observed at (one rate, or one per kind of
    team) is saved by an admin too.  Split per kind, each kind's figures had their own curve in
    it; now it only moves the one split prevalence BO of the whole organisation, a factor common
    to every group: the hidden teams' burnout-attributable cost stays the same share of the
    shown team's under every saved value."""
    engine, data = one_counsellor
    kinds = sorted(_impact(data)["team_kind"].unique())
    read = []
    try:
        for ref in ({k: 0.2 + 0.25 * i for i, k in enumerate(kinds)}, {k: 0.7 - 0.25 * i for i, k in enumerate(kinds)},
                    0.5):
            read.append(_save_and_read(engine, {"reference_burnout_rate": ref}, workbook=False))
    finally:
        saved_settings.save(engine, {"reference_burnout_rate": dict(Settings().reference_burnout_rate)}, actor="admin")
    col = "Burnout-attributable cost per year ($)"
    shown = [k for k in read[0].index if k != privacy.TOTAL and isinstance(read[0].loc[k, col], (int, float))]
    assert shown and all(not isinstance(t.loc["AMH-Northgate", col], (int, float)) for t in read)
    ratio = np.array([(float(t.loc[privacy.TOTAL, col]) - sum(float(t.loc[k, col]) for k in shown))
                      / sum(float(t.loc[k, col]) for k in shown) for t in read])
    assert np.ptp(ratio) < 1e-3, ratio


def test_saving_one_kinds_base_turnover_twice_does_not_single_out_a_hidden_team(one_counsellor):
    """A base turnover is saved per kind of team.  Before, two saves of the base of the kind of
    the hidden 4-person AMH-Northgate (alone of its kind) moved the organisation's expected
    cost by that team's own sum: 10 % and 30 % gave its $21,406 at the saved 20 % (true
    $21,405.90).  Now every kind with a hidden team takes one base, the mean of theirs
    (views.review.turnover_impact), so the hidden teams move together: their cost changes by
    the pooled base's own ratio, and the difference no longer gives the small team's."""
    engine, data = one_counsellor
    impact = _impact(data)
    small, other = "AMH-Northgate", "HSW-Lakeside"
    kind = impact.loc[impact["team"] == small, "team_kind"].iloc[0]
    other_kind = impact.loc[impact["team"] == other, "team_kind"].iloc[0]
    saved = data.settings.base_turnover_for(kind)
    truth = float((impact.loc[impact["team"] == small, "expected_turnover_cost"]).sum())
    col = "Expected turnover cost per year ($)"
    try:
        read = [_save_and_read(engine, {"base_turnover": {kind: v}}, workbook=False) for v in (0.1, 0.3)]
    finally:
        saved_settings.save(engine, {"base_turnover": {kind: saved}}, actor="admin")
    shown = [k for k in read[0].index if k != privacy.TOTAL and isinstance(read[0].loc[k, col], (int, float))]
    assert shown and all(not isinstance(t.loc[k, col], (int, float)) for t in read for k in (small, other))
    hidden = [float(t.loc[privacy.TOTAL, col]) - sum(float(t.loc[k, col]) for k in shown) for t in read]
    found = (hidden[1] - hidden[0]) / 0.2 * saved
    assert abs(found - truth) > 0.1 * truth, (found, truth)
    # the two hidden teams of two kinds move together, with the pooled base of their kinds
    n = impact["team_kind"].value_counts()
    pooled = [(n[kind] * v + n[other_kind] * data.settings.base_turnover_for(other_kind)) / (n[kind] + n[other_kind])
              for v in (0.1, 0.3)]
    assert hidden[1] / hidden[0] == pytest.approx(pooled[1] / pooled[0], rel=1e-4)


def test_the_what_if_reduction_moves_each_figure_along_a_line(own_turnover):
    """Any number of reductions tried in turn gives two numbers per figure and scope (each
    helper's probability of burnout is scaled by one factor for the whole scope): a sum over
    the scope at none and its slope, nothing per person.  With the cap the line starts at
    the cap's own figure, which is shown only where the audit allows it (review.cap_shown)."""
    engine, data = own_turnover
    roster = active_roster(data.roster, data.as_of)
    ts = data.leaving_model.turnover_settings(data.settings)
    for cap in (False, True):
        points = [turnover.what_if(roster, data.latest, ts, burnout_reduction_points=r, cap_caseload=cap,
                                   weights=data.settings.risk_weights, calibration=data.leaving_model.calibration)
                  for r in range(0, 16)]
        for key in ("leavers_avoided", "cost_saved", "clients_spared"):
            y = np.array([p[key] for p in points], dtype=float)
            fit = np.polyval(np.polyfit(np.arange(16), y, 1), np.arange(16))
            # figures come rounded to the cent (or finer): a line within that rounding
            assert np.allclose(y, fit, rtol=0, atol=0.011), (cap, key, y - fit)


def _significant(token: str) -> int:
    digits = token.replace(",", "").replace(".", "").lstrip("0")
    return len(digits.rstrip("0")) or 1


def test_the_monte_carlo_ranges_do_not_add_the_equations_the_relative_risk_attack_needs(own_turnover):
    """The Monte Carlo ranges (uncertainty.simulate) examined as a non-linear attack, in the
    organisation where seven relative risks gave AMH-Northgate's $3,504.88 on the old model.  Each range end is
    a percentile of its own group's 2,000 draws (a linear mix of the 50th and 51st smallest),
    so the total's end and a shown team's end sit at different draws: total − shown team is
    never one parameter point, and the differencing above has nothing to subtract.  Solving
    instead for every kind's unknowns (a sum and a pole per kind and figure) would need the
    ends to many digits, but they leave only as two significant figures ("$13k–$55k"): here
    the total's low end is known to ±$500 at best, a seventh of the hidden team's whole
    figure, before any error is amplified by the pole fit.  So the attack does not work; the
    test holds the two facts it rests on."""
    engine, data = own_turnover
    review = build_review(engine, "org", data=data)
    t = review.turnover.table.set_index("team")
    small = "AMH-Northgate"
    assert t.loc[small, "status"] != "shown"
    display = next(s.display for s in review.sections if s.key == "turnover")
    spans = [c for c in display.columns if c.endswith(": range")]
    assert spans, "the turnover table shows ranges"
    tokens = [tok for c in spans for v in display[c] for tok in re.findall(r"\d[\d,]*(?:\.\d+)?", str(v))]
    assert tokens and all(_significant(tok) <= 2 for tok in tokens), tokens
    # the hidden team's range is hidden with its figure
    row = display[display.iloc[:, 0].astype(str) == small].iloc[0]
    assert not any("–" in str(row[c]) for c in spans), row[spans].tolist()
    # the total's ends at two significant figures: half a step of the second digit each
    low = float(t.loc[privacy.TOTAL, "attributable_cost_low"])
    step = 0.5 * 10 ** (math.floor(math.log10(low)) - 1)
    truth = _impact(data).groupby("team")["attributable_cost"].sum()[small]
    assert step >= truth / 8, (step, truth)


def test_saving_one_roles_replacement_cost_twice_does_not_single_out_its_one_helper(one_counsellor):
    """A replacement cost is saved per role.  Before, two saves of the multiplier of the one
    mental health counsellor (1.0 and 2.0, through the settings page's own path) moved HR's
    expected cost by that helper's own sum: it gave their $3,785.50 at the saved multiplier
    (true $3,785.49).  Now a role with 1 to min_n - 1 people in some released group (here
    the whole organisation) takes the default (disclosure.roles_on_default_cost): the saves
    move no figure, and the review says so in words."""
    engine, data = one_counsellor
    role = "mental health counsellor"
    assert (_impact(data)["role"] == role).sum() == 1
    saved = dict(data.settings.cost_multiplier)
    cols = ["Expected turnover cost per year ($)", "Burnout-attributable cost per year ($)"]
    try:
        first = _save_and_read(engine, {"cost_multiplier": {**saved, role: 1.0}}, workbook=False)
        saved_settings.save(engine, {"cost_multiplier": {**saved, role: 2.0}}, actor="admin")
        data2 = load_data(engine)
        review = build_review(engine, "org", data=data2)
    finally:
        saved_settings.save(engine, {"cost_multiplier": saved}, actor="admin")
    book = xlsx_cells(to_xlsx(review))
    second = _sheet(book["Turnover impact"])
    for col in cols:
        for team in first.index:
            a, b = first.loc[team, col], second.loc[team, col]
            if isinstance(b, (int, float)):
                assert abs(float(a) - float(b)) <= 0.5, (team, col, a, b)
            else:
                assert not isinstance(a, (int, float)) or np.isnan(a), (team, col, a, b)
    assert any(row and "roles on the default" in str(row[0]) and role in str(row[1])
               for row in book["About"]), "the review says the counsellor's role takes the default"


def test_a_role_too_few_in_any_released_group_takes_the_default_cost():
    """The rule on its own: per released cell (each shown group, the hidden ones together,
    the total), a role with 1 to min_n - 1 people takes the default; when the people on the
    default are that few somewhere, every role does (one factor then scales every figure)."""
    def helpers(rows):
        return pd.DataFrame([(f"H{i}", team, role) for i, (team, role) in enumerate(rows)],
                            columns=["helper_id", "team", "role"])
    five = [("A", "nurse")] * 5 + [("B", "nurse")] * 5
    assert disclosure.roles_on_default_cost(helpers(five), "team", ["A", "B"], MIN_N) == frozenset()
    # 5 social workers in A, but the hidden team C holds 2: social work takes the default,
    # and then the hidden teams have 2 people on it, so every role does
    rows = five + [("A", "Social Worker")] * 5 + [("C", "social worker")] * 2 + [("C", "nurse")] * 5
    got = disclosure.roles_on_default_cost(helpers(rows), "team", ["A", "B"], MIN_N)
    assert got == {"nurse", "social worker"}, got
    rows = five + [("A", "social worker")] * 5 + [("C", "social worker")] * 5 + [("C", "nurse")] * 5
    assert disclosure.roles_on_default_cost(helpers(rows), "team", ["A", "B"], MIN_N) == frozenset()
    rows = five + [("A", "counsellor")] * 5 + [("B", "counsellor")] * 6 + [("B", "chaplain")]
    # chaplain alone -> default; B then has 1 on the default -> every role
    assert disclosure.roles_on_default_cost(helpers(rows), "team", ["A", "B"], MIN_N) == {"nurse", "counsellor",
                                                                                         "chaplain"}
    # the saved default salary stands in for missing ones only where no cell has 1 to 4 of them
    staff = helpers(five).assign(annual_salary=[None] * 5 + [50_000.0] * 5)
    assert disclosure.salary_default_usable(staff, "team", ["A", "B"], MIN_N)
    staff.loc[9, "annual_salary"] = None
    assert not disclosure.salary_default_usable(staff, "team", ["A", "B"], MIN_N)
    s = Settings().merged({"default_annual_salary": 40_000, "cost_per_departure": {"Nurse": 9.0}})
    off = turnover.with_default_cost(s, frozenset({"nurse"}), salary_default=False)
    assert off.default_annual_salary is None and dict(off.cost_per_departure) == {}
    assert dict(off.cost_multiplier) == {k: v for k, v in s.cost_multiplier.items() if k.lower() != "nurse"}
    rows = five + [("A", "chaplain")] * 4 + [("B", "chaplain")] * 4
    # 8 chaplains overall, but 4 in each shown team: the default for chaplains, 4 on it per team: all
    assert disclosure.roles_on_default_cost(helpers(rows), "team", ["A", "B"], MIN_N) == {"nurse", "chaplain"}


def test_the_risk_to_burnout_link_cannot_be_saved(one_counsellor):
    """With the link's scale saved at 0.001 and swept, the prevalences HR read gave all 14
    hidden helpers' risk scores within 0.25.  The link is now never taken from the settings
    table: saving it is refused in words (nothing of that save is kept), and a row written
    there by hand is ignored."""
    engine, _ = one_counsellor
    before = saved_settings.load(engine)
    for key, value in (("burnout_midpoint", 50.0), ("burnout_scale", 0.001)):
        with pytest.raises(InputError, match="cannot be saved"):
            saved_settings.save(engine, {"relative_risk": 3.0, key: value}, actor="admin")
    assert saved_settings.load(engine) == before
    try:
        with engine.begin() as conn:
            conn.execute(insert(settings_t).values(key="burnout_scale", value="0.001"))
            conn.execute(insert(settings_t).values(key="burnout_midpoint", value="50"))
        loaded = saved_settings.load(engine)
        assert loaded.burnout_scale is None and loaded.burnout_midpoint is None
        assert loaded == before
    finally:
        with engine.begin() as conn:
            conn.execute(delete(settings_t).where(settings_t.c.key.in_(["burnout_scale", "burnout_midpoint"])))


# --------------------------------------------------------------------------- counted turnover

@pytest.fixture(scope="module")
def counted_turnover(tmp_path_factory):
    """The one_counsellor organisation over 56 weeks: enough records for the organisation's own
    counted turnover (leaving.observed_turnover), so every figure is the national base scaled
    by the ratio of counted to expected leavers.  AMH-Northgate (4) is alone of its kind."""
    engine = small_org(tmp_path_factory.mktemp("levers"), helpers=26, weeks=56, seed=5)
    return engine, load_data(engine)


EXPECTED_AT_NATIONAL = re.compile(r"against (\d+(?:\.\d+)?) at the national rates")


def _helper_years(data, observed) -> pd.Series:
    """Each roster helper's years inside the counted window: roster facts HR holds anyway."""
    r = data.roster.drop_duplicates("helper_id")
    start, end = pd.Timestamp(observed.start), pd.Timestamp(observed.end)
    st = pd.to_datetime(r["start_date"], errors="coerce").fillna(start).clip(lower=start)
    stop = pd.to_datetime(r["end_date"], errors="coerce").fillna(end).clip(upper=end)
    return pd.Series(((stop - st).dt.days.clip(lower=0) / 365.25).to_numpy(float), index=r["team_kind"].to_numpy())


def _base_text(engine, data) -> str:
    """The review's "Base turnover" line under the saved settings: the leaving model the
    review's data loads (views.data.load_data), on the same frames (a tenth of the time)."""
    from burnout import leaving

    model = leaving.leaving_model(data.roster, data.history, data.scores, as_of=data.as_of,
                                  settings=merged_settings(engine, None))
    return model.base_text()


def test_saving_one_kinds_base_twice_moves_the_counted_ratio_by_one_common_factor(counted_turnover):
    """With its own leavers counted, each kind's rate is the national base x (O + 5)/(E + 5),
    E the leavers the national bases expect over the window; HR reads E (one decimal) in the
    review's assumptions, and every figure moves with the ratio.  Before, E weighed each
    helper's years by their own burnout over the window, so two saves of one kind's base
    (2 % and 98 %) gave that kind's sum: for the hidden AMH-Northgate (4 people, alone of its
    kind) a mean chance of burnout over the window of 0.18 (true 0.17), for addiction 0.55
    (true 0.55).  Now E weighs years by the organisation's one mean, so every kind's save
    moves E by its helper-years (roster facts) times the same factor: both saves give 0.38
    (the organisation's 0.37 within the printed decimal): one organisation-wide number,
    whichever kind is saved."""
    engine, data = counted_turnover
    observed = data.leaving_model.observed
    assert observed.used, observed.reason
    years = _helper_years(data, observed)
    s = data.settings
    rr = float(s.relative_risk)
    bo = float(np.mean([s.reference_burnout_rate[k] for k in years.index.unique()]))
    kinds = {"adult_mental_health": None, "addiction": None}
    lo, hi = 0.02, 0.98
    try:
        for kind in kinds:
            saved = s.base_turnover_for(kind)
            read = []
            for v in (lo, hi):
                saved_settings.save(engine, {"base_turnover": {kind: v}}, actor="admin")
                read.append(float(EXPECTED_AT_NATIONAL.search(_base_text(engine, data)).group(1)))
            saved_settings.save(engine, {"base_turnover": {kind: saved}}, actor="admin")
            per_year = (read[1] - read[0]) / (hi - lo) / float(years[kind].sum())
            # per helper-year (1 + (RR-1)·q̄)/(1 + (RR-1)·BO): the kind's mean chance q̄ of burnout
            kinds[kind] = (per_year * (1 + (rr - 1) * bo) - 1) / (rr - 1)
    finally:
        saved_settings.save(engine, {"base_turnover": {k: s.base_turnover_for(k) for k in kinds}}, actor="admin")
    # the same text is HR's: the workbook's assumptions print it
    about = xlsx_cells(to_xlsx(build_review(engine, "org", data=load_data(engine))))["About"]
    assert ["Base turnover", _base_text(engine, data)] in [list(r[:2]) for r in about if r]
    # E is read to 0.1, so each kind's figure is off by up to 0.1/0.96 leaver over its years
    slack = sum(0.1 / (hi - lo) / float(years[k].sum()) * (1 + (rr - 1) * bo) / (rr - 1) for k in kinds)
    assert abs(kinds["adult_mental_health"] - kinds["addiction"]) <= slack, (kinds, slack)


# --------------------------------------------------------------------------- caps

class _Fitted:
    """A validated Cox model (leaving.CalibrationResult) with each helper's own fitted chance."""

    used = "fitted"

    def __init__(self, p: dict):
        self.p = p

    def predict_p_leave(self, frame):
        return frame["helper_id"].map(self.p).to_numpy(float)


def test_the_fitted_what_if_has_no_cut_that_a_swept_reduction_could_find():
    """Under the fitted (Cox) model the what-if lowers each helper's fitted chance by the
    mixture's burnout change (T_b - T_nb)·(q - q').  It was cut at 0 per helper: with a relative
    risk an admin may save (4) the change passes a fitted chance that is low for its burnout,
    and the cut bent the team's "leavers after" at that helper's own reduction.  Reductions
    swept 0 to 60 points (the page's lever, any number of times) read the bend: on the old code
    the helper with q 0.90 and fitted chance 0.100 came out at 0.100 (q 0.900) from the team's
    figure alone.  Now the what-if keeps each helper's change whole (no cut), so every figure is
    a line in the reduction: two sums over the team, which one reduction already gives."""
    n = 8
    roster = pd.DataFrame({"helper_id": [f"H{i}" for i in range(n)], "team": "T", "team_kind": "child_welfare",
                           "role": "child welfare caseworker", "annual_salary": 60_000.0})
    q = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    p_fit = np.array([0.10, 0.35, 0.40, 0.30, 0.45, 0.25, 0.30, 0.20])
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "p_burned_out": q, "active_cases": 10.0})
    settings = Settings().merged({"relative_risk": 4.0})
    fitted = _Fitted(dict(zip(roster["helper_id"], p_fit)))
    bo = q.mean()
    points = np.linspace(0.0, 100 * bo, 121)
    after = np.array([turnover.what_if(roster, latest, settings, burnout_reduction_points=float(p),
                                       calibration=fitted)["expected_leavers_after"] for p in points])
    # the attacker: where the team's figure bends, and by how much its slope changes
    t_nb, t_b = turnover.split_turnover(0.30, 0.385, 4.0)
    u = points / 100 / bo                           # the share of each helper's burnout removed
    slope = np.diff(after) / np.diff(u)
    bend = np.flatnonzero(np.abs(slope - slope[0]) > 1e-9)
    found = None
    if len(bend):       # the segment holding the first bend; the lines on either side meet there
        k = bend[0]
        s_left, s_right = slope[k - 1], slope[k + 1]
        at = (after[k + 1] - after[k] - s_right * u[k + 1] + s_left * u[k]) / (s_left - s_right)
        q_i = (s_right - s_left) / (t_b - t_nb)
        found = (round(float(q_i), 3), round(float((t_b - t_nb) * q_i * at), 3))
    assert found is None, f"the team's figure bends: one helper's q and fitted chance {found}"
    line = np.polyval(np.polyfit(u, after, 1), u)
    assert np.abs(after - line).max() < 1e-9
    # and the change is the mixture's, whole: at the full reduction it is Σ (T_b - T_nb)·q
    assert after[0] - after[-1] == pytest.approx((t_b - t_nb) * q.sum())


def test_the_monte_carlo_draws_have_no_cut_that_saved_settings_could_bend():
    """The ranges are percentiles of each group's sum over 2,000 draws of the base, the relative
    risk and the prevalence.  A saved base of 100 % with the relative risk 1 (range 1 to 10)
    keeps T_b at 100 %, so the figures are shown, yet in draws near RR 10 a helper's chance
    passed 100 % and was cut there: the cut bent the group's sum at that helper's own burnout,
    and two groups with the same sum of burnout got different ranges (old code: 40 helpers at
    0.20 against the same with one at 0.30 and one at 0.10, expected leavers' high end 39.36
    against 39.31; the workbook prints two significant figures, so one save shows no step,
    but a run of saved bases would find one).  Now a draw is not cut per helper, so a
    group's draws depend on its sums alone."""
    from burnout import uncertainty

    n = 40
    roster = pd.DataFrame({"helper_id": [f"H{i:02d}" for i in range(n)], "team": "T", "team_kind": "child_welfare",
                           "role": "child welfare caseworker", "annual_salary": 60_000.0})
    settings = Settings().merged({"base_turnover": {"child_welfare": 1.0}, "relative_risk": 1.0,
                                  "relative_risk_low": 1.0, "relative_risk_high": 10.0})
    even = np.full(n, 0.2)
    spread = even.copy()
    spread[:2] = (0.3, 0.1)
    figures = []
    for q in (even, spread):
        latest = pd.DataFrame({"helper_id": roster["helper_id"], "p_burned_out": q, "active_cases": 10.0})
        impact = turnover.helper_impact(roster, latest, settings)
        assert not disclosure.turnover_withheld(impact), "the central figures are shown"
        sims = uncertainty.simulate(impact, settings)
        figures.append(sims.total())
    for name in ("expected_leavers", "attributable_leavers", "expected_turnover_cost"):
        for end in ("low", "high"):
            a, b = figures[0][name][end], figures[1][name][end]
            assert a == pytest.approx(b, rel=1e-9), (name, end, a, b)


def test_a_role_with_one_private_helper_among_sharing_ones_takes_the_default_cost():
    """HR checks treat a helper who shares with their lead as known (the lead sees their risk,
    HR their salary).  Team A has 5 nurses, 4 of whom share: counted all together the nurses
    kept their own saved cost, and two saves of it (x1, then x2) moved team A's expected cost by
    the 5 nurses' sum, less the 4 known ones: the private nurse's own expected cost, $14,296 (exact).
    The rule counts private helpers only: 1 private nurse takes the default, and then so does
    every role (team A has 1 private helper on it), so no save of a role's cost moves A apart.
    A role whose only people in a cell share (3 chaplains in B) keeps its own cost: a save
    moves B by their sum, which the reader knew."""
    roster = pd.DataFrame(
        [(f"N{i}", "A", "child_welfare", "nurse", 60_000.0 + 1_000 * i, i > 0) for i in range(5)]
        + [(f"S{i}", "B", "child_welfare", "social worker", 55_000.0, False) for i in range(6)],
        columns=["helper_id", "team", "team_kind", "role", "annual_salary", "consent_lead_view"])
    q = np.linspace(0.1, 0.9, len(roster))
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "p_burned_out": q, "active_cases": 10.0})
    known = disclosure.consenting(roster)
    assert known == {"N1", "N2", "N3", "N4"}

    def team_a(rule_known, mult):
        s = Settings().merged({"cost_multiplier": {"nurse": mult}})
        roles = disclosure.roles_on_default_cost(roster, "team", ["A", "B"], MIN_N, rule_known)
        impact = turnover.helper_impact(roster, latest, turnover.with_default_cost(s, roles))
        return impact.groupby("team")["expected_turnover_cost"].sum()["A"], impact.set_index("helper_id")

    def attack(rule_known):
        (a1, imp), (a2, _) = team_a(rule_known, 1.0), team_a(rule_known, 2.0)
        # what the reader knows of the 4 sharing nurses: their chance of leaving and salary
        salary = roster.set_index("helper_id")["annual_salary"]
        known_part = sum(imp.loc[h, "p_leave_12m"] * salary[h] for h in ("N1", "N2", "N3", "N4"))
        return (a2 - a1) - known_part, imp
    found, imp = attack(())                     # the old rule: everyone counted
    truth = float(imp.loc["N0", "p_leave_12m"] * 60_000.0)
    assert found == pytest.approx(truth), "the old rule lets two saves give the private nurse's cost"
    assert round(truth) == 14296
    assert disclosure.roles_on_default_cost(roster, "team", ["A", "B"], MIN_N) == frozenset()
    assert disclosure.roles_on_default_cost(roster, "team", ["A", "B"], MIN_N, known) == {"nurse", "social worker"}
    (a1, _), (a2, _) = team_a(known, 1.0), team_a(known, 2.0)
    assert a1 == pytest.approx(a2), "no save of the nurses' cost moves team A"
    # sharing people only: B's 3 chaplains keep their own cost, and 6 private social workers too
    b = pd.concat([roster[roster["team"] == "B"], pd.DataFrame(
        [(f"C{i}", "B", "child_welfare", "chaplain", 40_000.0, True) for i in range(3)], columns=roster.columns)])
    assert disclosure.roles_on_default_cost(b, "team", ["B"], MIN_N, disclosure.consenting(b)) == frozenset()
    assert disclosure.roles_on_default_cost(b, "team", ["B"], MIN_N) == {"chaplain", "social worker"}
    # the default salary rule counts the same way
    staff = roster.assign(annual_salary=np.where(roster["helper_id"].isin(["N0", "N1"]), np.nan, 50_000.0))
    assert not disclosure.salary_default_usable(staff, "team", ["A", "B"], MIN_N, known)   # N0 alone in A
    staff.loc[staff["helper_id"] == "N0", "annual_salary"] = 50_000.0
    assert disclosure.salary_default_usable(staff, "team", ["A", "B"], MIN_N, known)       # N1 shares
    assert not disclosure.salary_default_usable(staff, "team", ["A", "B"], MIN_N)


def test_next_years_count_depends_on_each_groups_sums_alone():
    """Next year's count range ("likely between a and b") was drawn person by person: each
    helper left in a draw with their own chance, a chance above 100 % as certain.  Its width
    then followed how a group's chances were spread between its people (the Poisson-binomial
    variance Σp(1-p)), not only their sum, and saved bases and relative-risk ranges moved
    that spread: old code, teams A (20 helpers at burnout 0.2) and B (10 at 0.0, 10 at 0.4),
    the same burnout sum, got 8–20 and 9–20 under a saved base of 100 % with the relative
    risk 1 (range 1 to 10); at bases of 30 % and 60 % the integer percentiles happened to
    agree (2–9, 5–15), so a run of saves finds the step.  Now a group's count is the Poisson mixture over its own
    expected counts (uncertainty.count_spans), so two teams with the same sums get the same
    range under every save, in the team table and alone."""
    from burnout import uncertainty

    n = 20
    roster = pd.DataFrame({"helper_id": [f"H{i:02d}" for i in range(2 * n)], "team": ["A"] * n + ["B"] * n,
                           "team_kind": "child_welfare", "role": "child welfare caseworker",
                           "annual_salary": 60_000.0})
    q = np.r_[np.full(n, 0.2), np.full(n // 2, 0.0), np.full(n // 2, 0.4)]
    latest = pd.DataFrame({"helper_id": roster["helper_id"], "p_burned_out": q, "active_cases": 12.0})
    for base, rr, hi in ((0.3, 2.0, 2.7), (0.6, 2.0, 4.0), (1.0, 1.0, 10.0)):
        settings = Settings().merged({"base_turnover": {"child_welfare": base}, "relative_risk": rr,
                                      "relative_risk_low": 1.0, "relative_risk_high": hi})
        impact = turnover.helper_impact(roster, latest, settings)
        sims = uncertainty.simulate(impact, settings)
        each = sims.total_by(impact["team"])
        alone = {t: sims.total((impact["team"] == t).to_numpy()) for t in ("A", "B")}
        for name in uncertainty.COUNTS.values():
            spans = {t: (each[t][name]["low"], each[t][name]["high"]) for t in ("A", "B")}
            assert spans["A"] == pytest.approx(spans["B"], rel=1e-12), (base, rr, hi, name, spans)
            for t in ("A", "B"):
                assert (alone[t][name]["low"], alone[t][name]["high"]) == pytest.approx(spans[t], rel=1e-12)
        assert each["A"]["leavers_next_year"]["high"] > each["A"]["expected_leavers"]["high"], "chance is added"
