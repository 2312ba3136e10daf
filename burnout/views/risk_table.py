"""The ``risk`` command's table: one row per active helper (DESIGN §5).

Individual rows: the CLI writes them only on the record (see ``burnout.cli``).
Risk comes from ``burnout.risk``, the probability of leaving from the one rule
``burnout.leaving.leaving_model`` shares with the HR review, money and clients
from ``burnout.turnover``.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Engine

from burnout import leaving, risk, turnover
from burnout.domain.settings import Settings
from burnout.domain.time import parse_day
from burnout.store import frames
from burnout.store import settings as saved_settings
from burnout.views.data import default_as_of

REPORT_COLUMNS = ["helper_id", "team", "risk_score", "risk_band", "p_leave_12m",
                  "expected_turnover_cost", "clients_affected", "driver_1", "driver_2", "driver_3"]


def risk_report(engine: Engine, as_of=None, settings: Settings | None = None, *, details: bool = False):
    """One row per active helper as of ``as_of`` (DESIGN §5 ``risk`` command).

    ``as_of`` defaults to the latest week with plausible data, never after this week (an unreadable date is an
    ``InputError``).  Active = no end_date or end_date after ``as_of`` (the
    week's Monday when not given).  ``p_leave_12m`` follows
    ``leaving.leaving_model`` — the same rule as the HR review.  A helper with
    no self-reported score in the window has an empty ``risk_score`` and
    ``risk_band``.

    Columns: ``helper_id, team, risk_score, risk_band, p_leave_12m,
    expected_turnover_cost, clients_affected, driver_1, driver_2, driver_3``.
    With ``details=True`` returns ``(table, LeavingModel)``.
    """
    as_of = parse_day(as_of)
    settings = settings or saved_settings.load(engine)
    roster = frames.roster(engine, settings)
    caseload = frames.caseload(engine)
    scores = frames.scores(engine)
    if as_of is None:
        as_of = default_as_of(scores, caseload, settings)
    latest = risk.latest_risk(roster, caseload, scores, as_of=as_of, settings=settings)
    if latest.empty:
        model = leaving.LeavingModel(
            leaving.CalibrationResult("defaults", "No data yet, so the documented defaults are used."),
            {"used": "defaults", "n": 0, "reason": "No data yet."})
        table = pd.DataFrame(columns=REPORT_COLUMNS)
        return (table, model) if details else table
    history = risk.compute_risk(roster, caseload, scores, as_of=as_of, drivers=False, settings=settings)
    model = leaving.leaving_model(roster, history, scores, as_of=latest["week_start"].max(), settings=settings)
    ids = latest[["helper_id"]]
    roster_part = ids.merge(roster.drop_duplicates("helper_id"), on="helper_id", how="left")
    impact = turnover.helper_impact_under(model, roster_part, latest, settings).set_index("helper_id")
    out = latest.set_index("helper_id")
    table = pd.DataFrame({
        "helper_id": out.index,
        "team": out["team"].to_numpy(),
        "risk_score": out["risk_score"].round(1).to_numpy(),
        "risk_band": out["risk_band"].to_numpy(),
        "p_leave_12m": impact["p_leave_12m"].reindex(out.index).round(4).to_numpy(),
        "expected_turnover_cost": impact["expected_turnover_cost"].reindex(out.index).round(2).to_numpy(),
        "clients_affected": impact["clients_affected"].reindex(out.index).round(2).to_numpy(),
        "driver_1": out["driver_1"].to_numpy(),
        "driver_2": out["driver_2"].to_numpy(),
        "driver_3": out["driver_3"].to_numpy(),
    })
    table = table[REPORT_COLUMNS].sort_values(["team", "helper_id"], na_position="last").reset_index(drop=True)
    return (table, model) if details else table
