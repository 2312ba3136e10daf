"""The lead's team alerts as an attacker reads them (issue 10, point 4).

A weekly-strain alert states the team's weekly mean over the lead's basis ("now 47 (6
respondents)").  Where the team has private helpers, the lead's trend hides every week the
HR heatmap hides for the team (HR material reaches managers: the week's total and the other
teams' cells minus this team's mean would give the cell HR hides to protect a small group).
An alert resting on such a week said the hidden mean anyway.  No alert fires on the small
test organisations, so the alert here is made to fire in a hidden week and in shown weeks.
"""
from __future__ import annotations

import pandas as pd
import pytest

from burnout import alerts, privacy, selfservice
from burnout.store import frames
from burnout.views import team as team_views
from burnout.views.data import load_data

from helpers import small_org

TEAM = "CW-Meadow"        # one sharing helper; HR's heatmap hides one of its 14 weeks


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    engine = small_org(tmp_path_factory.mktemp("alerts"), helpers=48, weeks=14, seed=9)
    roster = frames.roster(engine)
    for _, team in roster.groupby("team"):
        selfservice.set_consent(engine, team["helper_id"].iloc[0], True, actor=team["helper_id"].iloc[0])
    data = load_data(engine)
    return data, team_views.org_audit(data, "pulse_strain")


def _firing(weeks):
    real = alerts.team_alerts

    def fake(history, min_group=5, *, value_col="risk_score", label=None, **kw):
        if value_col != "pulse_strain":
            return real(history, min_group, value_col=value_col, label=label, **kw)
        return pd.DataFrame([{c: None for c in alerts.TEAM_COLUMNS} | {
            "team": TEAM, "week_start": w, "kind": "band_up", "recent_mean": 47.0, "respondents": 6,
            "message": f"Team {TEAM}: average weekly strain has been high for 2 weeks in a row (was moderate); "
                       f"now 47 (6 respondents)."} for w in weeks], columns=alerts.TEAM_COLUMNS)
    return fake


def test_a_strain_alert_in_a_week_hr_hides_is_not_shown(org, monkeypatch):
    data, audit = org
    verdicts = {w: s for (t, w), s in audit.weekly.items() if t == TEAM}
    hidden = sorted(w for w, s in verdicts.items() if s != privacy.SHOWN)
    assert len(hidden) == 1, verdicts
    shown = sorted(w for w, s in verdicts.items() if s == privacy.SHOWN)
    after = [w for w in shown if w > hidden[0] + pd.Timedelta(weeks=3)] or \
        [w for w in shown if w < hidden[0] - pd.Timedelta(weeks=1)]
    assert after, "a shown week away from the hidden one"
    troster = team_views.team_roster(data, TEAM)
    ids, known, _ = privacy.lead_basis(troster, data.min_n)
    assert set(ids) - set(known), "the team has private helpers"
    monkeypatch.setattr(alerts, "team_alerts", _firing([hidden[0], after[-1]]))
    got = team_views.team_alert_rows(data, TEAM, ids, known, data.min_n, org=audit)
    weeks = set(pd.to_datetime(got["week_start"]))
    assert pd.Timestamp(hidden[0]) not in weeks          # on the old code: "now 47 (6 respondents)" there
    assert pd.Timestamp(after[-1]) in weeks              # a week HR shows keeps its alert
    # the alerts do not depend on the measure the lead follows: every audit carries the
    # heatmap cells of both measures an alert states
    other = team_views.org_audit(data, "burned_out")
    assert team_views.team_alert_rows(data, TEAM, ids, known, data.min_n, org=other)["message"].tolist() \
        == got["message"].tolist()
    # with no verdicts to check against, no alert over private helpers (fail closed)
    assert team_views.team_alert_rows(data, TEAM, ids, known, data.min_n, org=None).empty
    # and the whole team view passes its audit on
    view = team_views.build_team_view(data, TEAM, "pulse_strain", org=audit)
    assert pd.Timestamp(hidden[0]) not in set(pd.to_datetime(view.alerts["week_start"]))


RISK_TEAM = "SC-South"    # one sharing helper; HR's heatmap of weekly risk hides two of its weeks


def _risk_firing(weeks):
    """Band alerts of the team's weekly risk in ``weeks``, with the real weekly mean and
    respondents of the basis the view passes in (the message a real alert would carry)."""
    real = alerts.team_alerts

    def fake(history, min_group=5, *, value_col="risk_score", label=None, **kw):
        if value_col != "risk_score":
            return real(history, min_group, value_col=value_col, label=label, **kw)
        own = [c for c in alerts.SELF_REPORT_COLUMNS if c in history]
        h = history[history[own].notna().any(axis=1) & history["risk_score"].notna()]
        rows = []
        for w in weeks:
            x = h[pd.to_datetime(h["week_start"]) == pd.Timestamp(w)]
            if x["helper_id"].nunique() < min_group:
                continue
            mean, n = float(x["risk_score"].mean()), int(x["helper_id"].nunique())
            rows.append({c: None for c in alerts.TEAM_COLUMNS} | {
                "team": RISK_TEAM, "week_start": pd.Timestamp(w), "kind": "band_up", "recent_mean": mean,
                "respondents": n, "message": f"Team {RISK_TEAM}: average risk has been moderate for 2 weeks in a "
                                             f"row (was low); now {mean:.0f} ({n} respondents)."})
        return pd.DataFrame(rows, columns=alerts.TEAM_COLUMNS)
    return fake


def test_a_risk_alert_in_a_week_hr_hides_does_not_give_the_private_helpers(org, monkeypatch):
    """The risk alert's week: 5 respondents, one of them the lead's sharing helper.  On the
    old code the alert said "now 31 (5 respondents)": 5 x 30.90 less the sharing helper's own
    17.0 is 137.52, the sum of the four private helpers' risk that week (HR hides the cell)."""
    data, audit = org
    verdicts = team_views.org_audit(data, "risk_score").weekly      # HR's heatmap of weekly risk
    troster = team_views.team_roster(data, RISK_TEAM)
    ids, known, _ = privacy.lead_basis(troster, data.min_n)
    private = set(ids) - set(known)
    assert len(private) >= data.min_n and known, "the basis is the whole team: private and sharing helpers"
    h = data.history[data.history["helper_id"].isin(set(ids)) & data.history["risk_score"].notna()]
    h = h[h[[c for c in alerts.SELF_REPORT_COLUMNS if c in h]].notna().any(axis=1)]
    per_week = h.groupby("week_start")["helper_id"].nunique()
    hidden = [w for w, n in per_week.items() if n >= data.min_n
              and verdicts.get((RISK_TEAM, pd.Timestamp(w))) != privacy.SHOWN]
    shown = [w for w, n in per_week.items() if n >= data.min_n
             and verdicts.get((RISK_TEAM, pd.Timestamp(w))) == privacy.SHOWN]
    assert hidden and len(shown) > 3, (hidden, shown)
    week = pd.Timestamp(hidden[0])
    x = h[pd.to_datetime(h["week_start"]) == week]
    assert len(x) == 5 and len(set(x["helper_id"]) & set(known)) == 1
    # what the old alert gave the lead: the four private helpers' sum, to the cent
    mean = x["risk_score"].mean()
    mine = x.loc[x["helper_id"].isin(set(known)), "risk_score"].sum()
    truth = x.loc[x["helper_id"].isin(private), "risk_score"].sum()
    assert abs((5 * mean - mine) - truth) < 1e-9 and abs(truth - 137.52) < 0.01, truth
    late = [pd.Timestamp(w) for w in shown if pd.Timestamp(w) > week + pd.Timedelta(weeks=3)]
    monkeypatch.setattr(alerts, "team_alerts", _risk_firing([week, late[-1]]))
    got = team_views.team_alert_rows(data, RISK_TEAM, ids, known, data.min_n, org=audit)
    weeks = set(pd.to_datetime(got["week_start"]))
    assert week not in weeks               # on the old code: "now 31 (5 respondents)"
    assert late[-1] in weeks               # a week HR shows keeps its alert
