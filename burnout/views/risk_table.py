"""The ``risk`` command's table: one row per active helper (DESIGN §5).

Individual rows: the CLI writes them only on the record (see ``burnout.cli``).
Risk comes from ``burnout.risk``, the probability of leaving from the one rule
``burnout.leaving.leaving_model`` shares with the HR review, money and clients
from ``burnout.turnover``.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Engine

from burnout import leaving, risk, turnover, uncertainty
from burnout.domain.settings import Settings
from burnout.domain.time import parse_day
from burnout.store import frames
from burnout.store import settings as saved_settings
from burnout.views.data import OrgData, default_as_of, load_latest

REPORT_COLUMNS = ["helper_id", "team", "risk_score", "risk_band", "p_leave_12m",
                  "expected_turnover_cost", "clients_affected", "driver_1", "driver_2", "driver_3"]
# After the documented columns: the range of each figure under the stated
# assumption ranges (burnout.uncertainty) and what the probability rests on.
RANGE_COLUMNS = ["p_leave_12m_low", "p_leave_12m_high", "expected_turnover_cost_low",
                 "expected_turnover_cost_high", "clients_affected_low", "clients_affected_high", "p_leave_basis"]
ALL_COLUMNS = REPORT_COLUMNS + RANGE_COLUMNS


def _money(x: pd.Series) -> pd.Series:
    """To the nearest $100: the cost per departure is known to ±40 %, not to the cent."""
    return (pd.to_numeric(x, errors="coerce") / 100).round() * 100


def stored_figures(engine: Engine) -> OrgData | None:
    """The figures as they were stored when the data arrived (``views.data.load_latest``:
    the latest stored risk of every helper and the HR review's leaving model), or None
    where they are not stored: the default week's table reads them instead of scoring every
    answer again, and its probabilities come from the very model the HR review shows."""
    return load_latest(engine)


def risk_report(engine: Engine, as_of=None, settings: Settings | None = None, *, details: bool = False):
    """One row per active helper as of ``as_of`` (DESIGN §5 ``risk`` command).

    ``as_of`` defaults to the latest week with plausible data, never after this week (an unreadable date is an
    ``InputError``); that week under the saved settings is read as stored (:func:`stored_figures`),
    any other week or settings are computed from the frames.  Active = no end_date or end_date after ``as_of`` (the
    week's Monday when not given).  ``p_leave_12m`` follows
    ``leaving.leaving_model`` — the same rule as the HR review.  A helper with
    no self-reported score in the window has an empty ``risk_score`` and
    ``risk_band``.

    Columns: ``helper_id, team, risk_score, risk_band, p_leave_12m,
    expected_turnover_cost, clients_affected, driver_1, driver_2, driver_3``,
    then ``p_leave_12m_low/_high, expected_turnover_cost_low/_high,
    clients_affected_low/_high`` (2.5–97.5 % of the Monte Carlo over the stated
    assumption ranges, ``burnout.uncertainty``) and ``p_leave_basis`` ("from
    national defaults", "calibrated to your organisation's turnover", "fitted
    on your organisation").  Probabilities are whole percents (0.30), money is
    to the nearest $100, clients to one decimal: the assumptions behind them
    support no more.  ``table.attrs["summary"]``: the organisation's totals in
    words ("about $110k (range $66k–$160k)").
    With ``details=True`` returns ``(table, LeavingModel)``.
    """
    as_of = parse_day(as_of)
    data = stored_figures(engine) if as_of is None and settings is None else None
    if data is not None:
        roster, latest, settings = data.roster, data.latest, data.settings
    else:
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
        table = pd.DataFrame(columns=ALL_COLUMNS)
        return (table, model) if details else table
    if data is not None:
        model = data.leaving_model
    else:
        history = risk.compute_risk(roster, caseload, scores, as_of=as_of, drivers=False, settings=settings)
        model = leaving.leaving_model(roster, history, scores, as_of=latest["week_start"].max(), settings=settings)
    ids = latest[["helper_id"]]
    roster_part = ids.merge(roster.drop_duplicates("helper_id"), on="helper_id", how="left")
    impact = turnover.helper_impact_under(model, roster_part, latest, settings)
    ts = model.turnover_settings(settings)
    sim = uncertainty.simulate(impact, ts, model.observed, model.calibration if model.fitted else None)
    ranges = sim.helper().set_index("helper_id")
    impact = impact.set_index("helper_id")
    out = latest.set_index("helper_id")
    col = lambda frame, c: frame[c].reindex(out.index)  # noqa: E731
    table = pd.DataFrame({
        "helper_id": out.index,
        "team": out["team"].to_numpy(),
        "risk_score": out["risk_score"].round(1).to_numpy(),
        "risk_band": out["risk_band"].to_numpy(),
        "p_leave_12m": col(impact, "p_leave_12m").round(2).to_numpy(),
        "expected_turnover_cost": _money(col(impact, "expected_turnover_cost")).to_numpy(),
        "clients_affected": col(impact, "clients_affected").round(1).to_numpy(),
        "driver_1": out["driver_1"].to_numpy(),
        "driver_2": out["driver_2"].to_numpy(),
        "driver_3": out["driver_3"].to_numpy(),
        "p_leave_12m_low": col(ranges, "p_leave_12m_low").round(2).to_numpy(),
        "p_leave_12m_high": col(ranges, "p_leave_12m_high").round(2).to_numpy(),
        "expected_turnover_cost_low": _money(col(ranges, "expected_turnover_cost_low")).to_numpy(),
        "expected_turnover_cost_high": _money(col(ranges, "expected_turnover_cost_high")).to_numpy(),
        "clients_affected_low": col(ranges, "clients_affected_low").round(1).to_numpy(),
        "clients_affected_high": col(ranges, "clients_affected_high").round(1).to_numpy(),
        "p_leave_basis": col(impact, "p_leave_basis").to_numpy(),
    })
    table = table[ALL_COLUMNS].sort_values(["team", "helper_id"], na_position="last").reset_index(drop=True)
    tot = sim.total()
    words = {name: uncertainty.format_range(v["mid"], v["low"], v["high"], money=name.endswith("cost"))
             for name, v in tot.items()}
    words.update({name: uncertainty.count_words(tot[name], tot[count]) for name, count in uncertainty.COUNTS.items()})
    table.attrs["summary"] = [
        f"Leavers next year: {words['expected_leavers']}; turnover cost: "
        f"{words['expected_turnover_cost']}; clients who would lose their helper: {words['clients_affected']}.",
        f"Due to burnout: {words['attributable_leavers']} leavers, {words['attributable_cost']} a year.",
    ]
    return (table, model) if details else table
