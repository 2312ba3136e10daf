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
    # without the heatmap of weekly strain to check against, no strain alert over private helpers
    other = team_views.org_audit(data, "burned_out")
    assert team_views.team_alert_rows(data, TEAM, ids, known, data.min_n, org=other)["message"] \
        .str.contains("strain").sum() == 0
    # and the whole team view passes its audit on
    view = team_views.build_team_view(data, TEAM, "pulse_strain", org=audit)
    assert pd.Timestamp(hidden[0]) not in set(pd.to_datetime(view.alerts["week_start"]))
