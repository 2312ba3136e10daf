"""The organisation's frames every view reads, loaded once per change of data.

:class:`OrgData` holds the roster, caseload, scores, the weekly risk history
and latest risk, the week the data run up to, the settings in force and the
leaving model (fitted Cox model or the documented defaults, with the risk ->
burnout link).  :func:`people_frame` turns it into one row per active helper
with the recent values every roll-up counts.
"""
from __future__ import annotations

import dataclasses
import hashlib
from typing import Mapping

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from burnout import config, privacy, risk
from burnout.store import frames
from burnout.store import schema as sch

# Measures the HR roll-ups and the people frame average per person.
ROLLUP_MEASURES = {
    "burned_out": "Check-ins reporting burnout (%)",
    "pulse_strain": "Weekly strain (0-100)",
    "work_burnout": "Work-related burnout, CBI (0-100)",
    "secondary_traumatic_stress": "Secondary traumatic stress, ProQOL (10-50)",
    "risk_score": "Burnout risk (0-100)",
    "caseload_ratio": "Caseload / role standard",
}
# Columns shown as percentages in display tables.
PERCENT = ("burned_out", "band_low", "band_moderate", "band_high")
BANDS = ("low", "moderate", "high")
# Measures a lead or HR reviewer can follow week by week.
TREND_MEASURES = {
    "pulse_strain": "Weekly strain (pulse)",
    "risk_score": "Burnout risk",
    "burned_out": "Reporting burnout (single item)",
    "work_burnout": "Work-related burnout (CBI)",
}
SELF_REPORT_COMPONENTS = tuple(f"c_{n}" for n in risk.SELF_REPORT)


@dataclasses.dataclass(frozen=True)
class OrgData:
    """Frames every view needs (see ``docs/ARCHITECTURE.md`` for their columns)."""

    roster: pd.DataFrame
    caseload: pd.DataFrame
    scores: pd.DataFrame
    history: pd.DataFrame
    latest: pd.DataFrame
    as_of: pd.Timestamp | None
    settings: dict
    leaving_model: risk.LeavingModel

    @property
    def burnout_link(self) -> dict:
        return self.leaving_model.link or {}

    @property
    def min_n(self) -> int:
        return min_group(self.settings)

    def with_settings(self, settings: Mapping) -> "OrgData":
        """The same frames under other settings (a review's session-only assumptions)."""
        return dataclasses.replace(self, settings=dict(settings))


def merged_settings(engine: Engine, override: Mapping | None = None) -> dict:
    """Saved settings with ``override`` on top (nested dicts merged key by key)."""
    out = frames.settings(engine)
    for key, value in (override or {}).items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def min_group(settings: Mapping) -> int:
    """The minimum group size in force: the setting, never below 5 (DESIGN §7)."""
    try:
        value = int(settings.get("min_group_size", config.MIN_GROUP_SIZE))
    except (TypeError, ValueError):
        value = config.MIN_GROUP_SIZE
    return max(config.MIN_GROUP_SIZE, value)


def load_data(engine: Engine, as_of=None, settings: Mapping | None = None) -> OrgData:
    """Roster, caseload, scores, risk history and latest risk up to ``as_of``
    (default: the latest week with data), and the leaving model."""
    settings = dict(settings or frames.settings(engine))
    roster = frames.roster(engine, settings)
    caseload = frames.caseload(engine)
    scores = frames.scores(engine)
    weights = settings.get("risk_weights")
    history = risk.compute_risk(roster, caseload, scores, as_of=as_of, weights=weights, drivers=False)
    latest = risk.latest_risk(roster, caseload, scores, as_of=as_of, weights=weights)
    weeks = pd.concat([scores["week_start"], caseload["week_start"]]).dropna()
    as_of_week = pd.Timestamp(as_of) if as_of is not None else (weeks.max() if len(weeks) else None)
    if as_of_week is not None:
        as_of_week = as_of_week.normalize() - pd.Timedelta(days=as_of_week.weekday())
        scores = scores[scores["week_start"] <= as_of_week]
        caseload = caseload[caseload["week_start"] <= as_of_week]
    # The same rule as the ``risk`` command: fitted Cox model or documented defaults, and
    # the risk -> burnout link (risk.leaving_model never raises; it records why).
    model = risk.leaving_model(roster, history, scores, as_of=as_of_week, settings=settings)
    return OrgData(roster=roster, caseload=caseload, scores=scores, history=history, latest=latest,
                   as_of=as_of_week, settings=settings, leaving_model=model)


def data_stamp(engine: Engine) -> str:
    """A cheap fingerprint of everything :func:`load_data` reads (answers, caseload,
    roster incl. consent, settings), for caches: a changed consent changes it."""
    h = hashlib.sha1()
    with engine.connect() as conn:
        h.update(repr(conn.execute(select(func.count(), func.max(sch.submissions.c.submission_id))).one()).encode())
        h.update(repr(conn.execute(select(func.count(), func.max(sch.scores.c.submission_id))).one()).encode())
        h.update(repr(conn.execute(select(func.count(), func.max(sch.caseload_weeks.c.week_start))).one()).encode())
        for t in (sch.helpers, sch.settings, sch.teams):
            for row in conn.execute(select(t)):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def active_roster(roster: pd.DataFrame, as_of) -> pd.DataFrame:
    """Helpers employed in the week starting ``as_of`` (everyone without an end date when None)."""
    if as_of is None:
        return roster[roster["end_date"].isna()]
    day = pd.Timestamp(as_of)
    start_ok = roster["start_date"].isna() | (roster["start_date"] <= day + pd.Timedelta(days=6))
    return roster[start_ok & (roster["end_date"].isna() | (roster["end_date"] > day))]


def people_frame(data: OrgData, weeks: int = 4) -> pd.DataFrame:
    """One row per active helper: team, role, site and recent values of each roll-up measure
    (NaN where the helper gave no answers in the window)."""
    roster = active_roster(data.roster, data.as_of)
    scores = data.scores
    score_cols = [c for c in ROLLUP_MEASURES if c in scores.columns]
    per = privacy.helper_window(scores, roster, score_cols, as_of=data.as_of, weeks=weeks)
    out = roster[["helper_id", "name", "team", "team_kind", "role", "site", "consent_lead_view"]].merge(
        per[["helper_id", *score_cols]], on="helper_id", how="left")
    latest = data.latest
    risk_cols = ["helper_id", "risk_score", "risk_band", "caseload_ratio", "active_cases"] + \
        [c for c in latest.columns if c.startswith("c_")]
    out = out.merge(latest[[c for c in risk_cols if c in latest.columns]], on="helper_id", how="left")
    # A risk built from caseload data alone rests on nobody's answers: such a helper is not a
    # respondent of the risk aggregates (same rule as burnout.alerts).
    own = [c for c in SELF_REPORT_COMPONENTS if c in out.columns]
    out["self_report"] = out[own].notna().any(axis=1) if own else False
    out.loc[~out["self_report"], "risk_score"] = np.nan
    out.loc[~out["self_report"], "risk_band"] = None
    for b in BANDS:
        out[f"band_{b}"] = np.where(out["risk_band"].isna(), np.nan, (out["risk_band"] == b).astype(float))
    return out


def series_for(data: OrgData, measure: str) -> pd.DataFrame:
    """Per helper-week values of ``measure`` from scores, or from the risk history."""
    if measure == "risk_score":
        h = data.history
        own = [c for c in SELF_REPORT_COMPONENTS if c in h.columns]
        if own:   # only weeks whose risk rests on the helper's own answers count as responses
            h = h[h[own].notna().any(axis=1)]
        return h[["helper_id", "week_start", "risk_score"]].dropna()
    s = data.scores[["helper_id", "week_start", measure]].copy()
    return s[s[measure].notna()]
