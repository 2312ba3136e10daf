"""One consenting helper's results for their lead (DESIGN §1, §7), as one typed object.

:func:`helper_view` refuses (PermissionError) unless privacy.can_view_individual
allows it; the caller writes the audit row (privacy.audit_view) for each view.
A helper's check-in notes are not part of it.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

import pandas as pd
from sqlalchemy.engine import Engine

from burnout import privacy
from burnout.views.data import OrgData, load_data

# The order a lead reads one helper's measures in.
MEASURE_ORDER = ("risk_score", "pulse_strain", "sib_level", "work_burnout", "personal_burnout", "client_burnout",
                 "burnout", "secondary_traumatic_stress", "compassion_satisfaction")


@dataclasses.dataclass(frozen=True)
class HelperView:
    helper_id: str
    name: str
    role: str
    team: str
    caseload_standard: float | None
    scores: pd.DataFrame
    weekly: pd.DataFrame          # week_start + weekly mean of each score and the risk score
    latest: pd.DataFrame          # the latest risk row (risk_score, risk_band, confidence, drivers)
    drivers: tuple[str, ...]
    caseload: pd.DataFrame

    @property
    def measures(self) -> list[str]:
        """Measures with at least one value, in reading order."""
        return [m for m in MEASURE_ORDER if m in self.weekly and self.weekly[m].notna().any()]


def helper_view(engine: Engine, viewer: Mapping, helper_id: str, *, data: OrgData | None = None) -> HelperView:
    data = data or load_data(engine)
    row = data.roster[data.roster["helper_id"] == helper_id]
    if row.empty or not privacy.can_view_individual(viewer, row.iloc[0].to_dict()):
        raise PermissionError("this helper's individual results are not shared with you")
    r = row.iloc[0]
    scores = data.scores[data.scores["helper_id"] == helper_id]
    history = data.history[data.history["helper_id"] == helper_id]
    latest = data.latest[data.latest["helper_id"] == helper_id]
    cl = data.caseload[data.caseload["helper_id"] == helper_id]
    drivers: tuple[str, ...] = ()
    if len(latest):
        drivers = tuple(d for d in latest.iloc[0][["driver_1", "driver_2", "driver_3"]] if isinstance(d, str) and d)
    cols = [m for m in MEASURE_ORDER if m != "risk_score" and m in scores.columns]
    weekly = scores.groupby("week_start")[cols].mean().reset_index()
    weekly = weekly.merge(history[["week_start", "risk_score"]], on="week_start", how="outer") \
        .sort_values("week_start")
    return HelperView(helper_id=helper_id, name=r["name"], role=r["role"], team=r["team"],
                      caseload_standard=r["caseload_standard"], scores=scores, weekly=weekly, latest=latest,
                      drivers=drivers, caseload=cl.sort_values("week_start"))
