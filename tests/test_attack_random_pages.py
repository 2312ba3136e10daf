"""The readers' attacker (tests/test_attack_readers.py) on random small organisations,
through the pages (issue 10, point 4): hypothesis draws an organisation (teams of 5 to 12
with odd roles and sites of 1 to 3 people and helpers who skip weeks, from the demo
generator's seed) and a consent mix (how many helpers per team share with their lead);
the attacker reads the HR review page through AppTest (every table, the what-if with and
without the caseload cap, the headline metrics, every chart's numbers) and each lead's
team page with every table box open, and no person and no group of 1 to 4 may be
determined for HR, for any lead, or for HR and all leads together.  burnout.alerts fires on
none of these organisations, so a drawn set of teams has every alert it could have made to
fire (test_attack_readers.every_alert_fires); the gate decides which the leads read, and the
figures they state join the leads' systems (of the 4 examples, 2 fire 10 alerts each, and in
one of them the leads read all 10).

Few examples, each a new organisation: derandomized, so a run is reproducible."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from burnout import auth, disclosure, selfservice
from burnout.store import frames
from burnout.views.data import load_data, people_frame
from burnout import turnover

import test_attack_readers as readers
from helpers import small_org


@settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.generate])
@given(seed=st.integers(1, 10_000), helpers=st.integers(18, 30), weeks=st.integers(5, 8),
       sharing=st.lists(st.integers(0, 3), min_size=8, max_size=8),
       firing=st.lists(st.booleans(), min_size=8, max_size=8))
def test_no_reader_of_the_pages_determines_a_small_group(tmp_path_factory, seed, helpers, weeks, sharing, firing):
    engine = small_org(tmp_path_factory.mktemp("random-pages"), helpers=helpers, weeks=weeks, seed=seed)
    roster = frames.roster(engine)
    for (_, team), k in zip(roster.groupby("team"), sharing):
        for hid in team["helper_id"].iloc[:k]:
            selfservice.set_consent(engine, hid, True, actor=hid)
    auth.create_user(engine, "attack-hr", readers.PASSWORD, "hr")
    leads = {}
    for i, team in enumerate(sorted(roster["team"].unique())):
        leads[team] = f"attack-lead-{i}"
        auth.create_user(engine, leads[team], readers.PASSWORD, "lead", team=team)
    org = {"engine": engine, "url": str(engine.url), "leads": leads}

    data = load_data(engine)
    people = people_frame(data)
    weeks_ = sorted(data.scores["week_start"].unique())
    capped = turnover.capped_helpers(data.latest, data.settings.risk_weights)
    kinds = dict(zip(data.roster["team"].astype(str), data.roster["team_kind"]))
    hr = readers.Released(weeks_, capped, kinds)
    got_leads = {}
    with pytest.MonkeyPatch.context() as mp:
        at = readers._page("org_review", org, "attack-hr", mp)
        readers._hr_page_tables(at, hr, {}, 4, "pulse_strain")
        readers._hr_metrics(at, hr)
        readers._check_charts(at, hr, "review")
        at.checkbox(key="rv_cap").set_value(False).run()
        assert not at.exception, [e.value for e in at.exception]
        readers._hr_page_tables(at, hr, {}, 4, "pulse_strain")
        readers._hr_metrics(at, hr)
        # burnout.alerts fires on none of these small organisations: the drawn teams' alerts are
        # made to fire, so the figures they state join the leads' systems
        fired = readers.every_alert_fires(mp, {t for t, f in zip(sorted(leads), firing) if f})
        for team in sorted(leads):
            got_leads[team] = readers.Released(weeks_, capped, kinds)
            readers._collect_lead(org, team, got_leads[team], mp, measures_=("pulse_strain",),
                                  every_box=False, fired=fired)
    known = disclosure.consenting(people)
    assert hr.rows, "the HR reader receives figures"
    assert hr.chart_misses == [], hr.chart_misses[:10]
    readers._assert_nothing_determined(data, people, hr, known)
    together = readers.Released(weeks_)
    for team, got in got_leads.items():
        assert got.chart_misses == [], got.chart_misses[:10]
        mine = known & set(people.loc[people["team"] == team, "helper_id"])
        readers._assert_nothing_determined(data, people, got, mine)
        for measure, figures in got.rows.items():
            for period, cond in figures:
                together.add(measure, period, cond)
    for measure, figures in hr.rows.items():
        for period, cond in figures:
            together.add(measure, period, cond)
    readers._assert_nothing_determined(data, people, together, known)

