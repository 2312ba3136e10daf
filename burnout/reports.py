"""What the lead and HR pages show, and the HR review as PDF and XLSX.

Core module (no streamlit).  Three parts:

- :func:`build_review` assembles the HR / wellness review for ``scope="org"``
  or ``"team:ID"``: roll-ups by team, role and site, risk bands, the weekly
  trend and team x week heatmap, participation, turnover impact and a what-if
  scenario.  Every table is a :class:`privacy.Suppressed` (distinct people,
  minimum group, complementary suppression) and every figure is drawn from
  those tables, so the page, the PDF and the XLSX show the same numbers and
  obey the same rules.  Free-text comments are never part of it.
- :func:`team_view` and :func:`helper_view` assemble what a lead sees for their
  own team and for one consenting helper; action notes ("you said / we did")
  are read and written here as well.
- :func:`to_xlsx`, :func:`to_pdf` and :func:`write_report` (the CLI's
  ``report`` command) export a review.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import re
import threading
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from burnout import charts, leaving, privacy, risk, turnover
from burnout.domain.settings import MIN_GROUP_SIZE, Settings, team_kind_label
from burnout.store import frames
from burnout.store import settings as saved_settings
from burnout.errors import InputError

ROLLUP_MEASURES = {
    "burned_out": "Check-ins reporting burnout (%)",
    "pulse_strain": "Weekly strain (0-100)",
    "work_burnout": "Work-related burnout, CBI (0-100)",
    "secondary_traumatic_stress": "Secondary traumatic stress, ProQOL (10-50)",
    "risk_score": "Burnout risk (0-100)",
    "caseload_ratio": "Caseload / role standard",
}
PERCENT = ("burned_out", "band_low", "band_moderate", "band_high")
BANDS = ("low", "moderate", "high")
TREND_MEASURES = {
    "pulse_strain": "Weekly strain (pulse)",
    "risk_score": "Burnout risk",
    "burned_out": "Reporting burnout (single item)",
    "work_burnout": "Work-related burnout (CBI)",
}
SELF_REPORT_COMPONENTS = ("c_burnout", "c_cbi_work", "c_cbi_personal", "c_cbi_client", "c_sts", "c_sib",
                          "c_pulse_strain", "c_low_cs")
DEFAULT_SCENARIO = {"burnout_reduction_points": 10.0, "cap_caseload": True, "intervention_cost": 0.0}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# =========================================================================== settings and data

def merged_settings(engine: Engine, override: Mapping | None = None) -> Settings:
    """Saved settings with ``override`` on top (nested maps merged key by key)."""
    return saved_settings.load(engine).merged(override)


def min_group(settings: Settings) -> int:
    """The minimum group size in force (already clamped by the settings)."""
    return settings.min_group_size


def load_data(engine: Engine, as_of=None, settings: Mapping | None = None) -> dict:
    """Frames every view needs: roster, caseload, scores, risk history and latest risk."""
    settings = settings or saved_settings.load(engine)
    roster = frames.roster(engine, settings)
    caseload = frames.caseload(engine)
    scores = frames.scores(engine)
    history = risk.compute_risk(roster, caseload, scores, as_of=as_of, drivers=False, settings=settings)
    latest = risk.latest_risk(roster, caseload, scores, as_of=as_of, settings=settings)
    weeks = pd.concat([scores["week_start"], caseload["week_start"]]).dropna()
    as_of_week = pd.Timestamp(as_of) if as_of is not None else (weeks.max() if len(weeks) else None)
    if as_of_week is not None:
        as_of_week = as_of_week.normalize() - pd.Timedelta(days=as_of_week.weekday())
        scores = scores[scores["week_start"] <= as_of_week]
        caseload = caseload[caseload["week_start"] <= as_of_week]
    # The same rule as the ``risk`` command: fitted Cox model or documented defaults, and
    # the risk -> burnout link (risk.leaving_model never raises; it records why).
    model = leaving.leaving_model(roster, history, scores, as_of=as_of_week, settings=settings)
    return {"roster": roster, "caseload": caseload, "scores": scores, "history": history, "latest": latest,
            "as_of": as_of_week, "settings": settings, "burnout_link": model.link, "leaving_model": model}


def leaving_model_of(data: Mapping):
    """The leaving model of ``data`` (computed when a caller built ``data`` itself)."""
    model = data.get("leaving_model")
    if model is None:
        model = leaving.leaving_model(data["roster"], data["history"], data["scores"], as_of=data.get("as_of"),
                                   settings=data.get("settings"))
    return model


def data_stamp(engine: Engine) -> str:
    """A cheap fingerprint of everything :func:`load_data` reads (answers, caseload,
    roster incl. consent, settings), for caches: a changed consent changes it."""
    import hashlib

    from sqlalchemy import func

    from burnout.store import schema as sch

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
    if as_of is None:
        return roster[roster["end_date"].isna()]
    day = pd.Timestamp(as_of)
    start_ok = roster["start_date"].isna() | (roster["start_date"] <= day + pd.Timedelta(days=6))
    return roster[start_ok & (roster["end_date"].isna() | (roster["end_date"] > day))]


def people_frame(data: Mapping, weeks: int = 4) -> pd.DataFrame:
    """One row per active helper: team, role, site and recent values of each roll-up measure
    (NaN where the helper gave no answers in the window)."""
    roster = active_roster(data["roster"], data["as_of"])
    scores = data["scores"]
    score_cols = [c for c in ROLLUP_MEASURES if c in scores.columns]
    per = privacy.helper_window(scores, roster, score_cols, as_of=data["as_of"], weeks=weeks)
    out = roster[["helper_id", "name", "team", "team_kind", "role", "site", "consent_lead_view"]].merge(
        per[["helper_id", *score_cols]], on="helper_id", how="left")
    latest = data["latest"]
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


# =========================================================================== building blocks

def _narrowing(where: Mapping | None, team: str | None = None) -> dict:
    """The conditions a narrowed view shares: a one-team report, a site filter."""
    fixed = {k: list(v) for k, v in (where or {}).items() if v}
    if team is not None:
        fixed["team"] = team
    return fixed


_PLANS: dict = {}


def review_plan(people: pd.DataFrame, min_n: int, measures: Mapping[str, str] = ROLLUP_MEASURES
                ) -> privacy.Plan:
    """The joint audit of the organisation's roll-up tables (privacy.plan_groups),
    remembered for the same people and answers: a what-if slider on the review
    page reruns the review, not the audit."""
    cols = [c for c in measures if c in people.columns]
    frame = people[["helper_id", *privacy.GROUP_DIMS, *cols]]
    key = (min_n, tuple(cols), int(pd.util.hash_pandas_object(frame, index=False).sum()))
    plan = _PLANS.get(key)
    if plan is None:
        plan = privacy.plan_groups(frame, cols, min_n)
        if len(_PLANS) >= 8:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[key] = plan
    return plan


def rollup(people: pd.DataFrame, by: str, min_n: int, *, where: Mapping | None = None,
           measures: Mapping[str, str] = ROLLUP_MEASURES, known=None, margins: bool = True,
           plan: privacy.Plan | None = None, fixed: Mapping | None = None) -> privacy.Suppressed:
    """Suppressed means of the roll-up measures by ``by`` with an ``All`` total.

    With ``plan`` (the organisation's joint audit) the table shows only cells
    the audit allows; ``fixed`` names what a narrowed view shares (its team,
    its filter), whose cells may only show what the full tables imply.
    """
    cols = [c for c in measures if c in people.columns]
    df = people
    population = None
    if where:
        population = people
        mask = np.ones(len(people), dtype=bool)
        for col, allowed in where.items():
            if allowed:
                mask &= people[col].isin(list(allowed)).to_numpy()
        df = people[mask]
    labels = {"team": "Team", "role": "Role", "site": "Site", **measures}
    sup = privacy.suppress(df, by, "helper_id", cols, min_n, margins=margins, population=population,
                           known=known, labels=labels)
    return privacy.apply_plan(sup, plan, fixed) if plan is not None else sup


def band_shares(people: pd.DataFrame, by: str | None, min_n: int, known=None, *,
                plan: privacy.Plan | None = None, fixed: Mapping | None = None) -> privacy.Suppressed:
    """Share of people in each risk band, per ``by`` (or for everyone).  The
    bands count the people behind ``risk_score``, so ``plan`` applies as for it."""
    df = people[people["risk_band"].notna()].copy()
    group = by
    if by is None:
        df["scope"] = privacy.TOTAL
        group = "scope"
    labels = {"team": "Team", "role": "Role", "site": "Site", "scope": "Scope",
              **{f"band_{b}": f"{b.capitalize()} risk (%)" for b in BANDS}}
    band_cols = [f"band_{b}" for b in BANDS]
    sup = privacy.suppress(df, group, "helper_id", band_cols, min_n,
                           margins=by is not None, known=known, labels=labels)
    if plan is None:
        return sup
    return privacy.apply_plan(sup, plan, fixed, column_map={c: "risk_score" for c in ["n", *band_cols]})


def weekly_by(scores_or_history: pd.DataFrame, roster: pd.DataFrame, group_col: str, measure: str,
              min_n: int, ids=None, known=None) -> privacy.Suppressed:
    """Sub-group x week means of ``measure`` with each week's total as the published margin."""
    df = scores_or_history[["helper_id", "week_start", measure]].copy()
    if ids is not None:
        df = df[df["helper_id"].isin(set(ids))]
    df = df.merge(roster[["helper_id", group_col]].drop_duplicates("helper_id"), on="helper_id", how="inner")
    df[measure] = pd.to_numeric(df[measure], errors="coerce") if df[measure].dtype != bool else df[measure]
    df = df[df[measure].notna() & df[group_col].notna()]
    return privacy.suppress(df, [group_col, "week_start"], "helper_id", [measure], min_n, within="week_start",
                            known=known)


def heatmap_cells(sup: privacy.Suppressed, measure: str) -> pd.DataFrame:
    """Long frame for charts.heatmap from a sub-group x week table (margins dropped)."""
    inner = sup.interior()
    g = sup.group_cols[0]
    return pd.DataFrame({g: inner.table[g].astype(str), "week_start": inner.table["week_start"],
                         "value": inner.table[measure], "status": inner.status[measure]})


def trend_from(sup_or_weekly, measure: str) -> pd.DataFrame:
    """``week_start, mean, n, status`` from a weekly table (the ``All`` rows of a sub-group table)."""
    if isinstance(sup_or_weekly, pd.DataFrame):
        return sup_or_weekly
    t, s = sup_or_weekly.table, sup_or_weekly.status
    g = sup_or_weekly.group_cols[0]
    rows = t[g].astype(str) == privacy.TOTAL
    return pd.DataFrame({"week_start": t.loc[rows, "week_start"], "mean": t.loc[rows, measure],
                         "n": t.loc[rows, "n"], "status": s.loc[rows, measure]}).reset_index(drop=True)


def series_for(data: Mapping, measure: str) -> pd.DataFrame:
    """Per helper-week values of ``measure`` from scores, or from the risk history."""
    if measure == "risk_score":
        h = data["history"]
        own = [c for c in SELF_REPORT_COMPONENTS if c in h.columns]
        if own:   # only weeks whose risk rests on the helper's own answers count as responses
            h = h[h[own].notna().any(axis=1)]
        return h[["helper_id", "week_start", "risk_score"]].dropna()
    s = data["scores"][["helper_id", "week_start", measure]].copy()
    return s[s[measure].notna()]


def participation_table(data: Mapping, ids, min_n: int, known=None, weeks: int | None = 26) -> pd.DataFrame:
    """Share of ``ids`` who checked in each week — counts only, never who (see privacy)."""
    roster = data["roster"][data["roster"]["helper_id"].isin(set(ids))]
    scores = data["scores"][data["scores"]["helper_id"].isin(set(ids))]
    return privacy.participation(roster, scores, min_n, known=known, as_of=data["as_of"], weeks=weeks)


def team_drivers(people: pd.DataFrame, min_n: int, known=None, top: int = 3,
                 weights: Mapping | None = None) -> pd.DataFrame:
    """Share of people for whom each risk component is among their own top ``top``
    drivers — the same ranking (``risk.driver_components``, under the saved
    weights) that names each helper's drivers — over ``min_n`` or more people
    with a risk estimate."""
    df = people[people["risk_score"].notna()]
    if df.empty:
        return pd.DataFrame(columns=["driver", "share", "helpers"])
    n = df["helper_id"].nunique()
    unknown = len(set(df["helper_id"]) - set(known)) if known is not None else 0
    if n < min_n or (known is not None and 0 < unknown < min_n):
        return pd.DataFrame(columns=["driver", "share", "helpers"])
    chosen = risk.driver_components(df, weights, top)
    counts = pd.Series([c for row in chosen for c in row], dtype=object).value_counts()
    out = pd.DataFrame({"driver": [risk.COMPONENT_LABELS[c] for c in counts.index],
                        "share": counts.to_numpy() / n, "helpers": n})
    return out.sort_values("share", ascending=False, kind="stable").reset_index(drop=True)


# =========================================================================== turnover

def turnover_block(data: Mapping, people: pd.DataFrame, min_n: int, settings: Mapping,
                   scenario: Mapping | None = None, group_col: str = "team", *,
                   plan: privacy.Plan | None = None, fixed: Mapping | None = None) -> dict:
    """Turnover impact per ``group_col`` and in total, suppressed like the roll-ups,
    and the what-if scenario for the whole scope."""
    model = leaving_model_of(data)
    ts = model.turnover_settings(settings)
    roster = active_roster(data["roster"], data["as_of"])
    roster = roster[roster["helper_id"].isin(set(people["helper_id"]))]
    latest = data["latest"][data["latest"]["helper_id"].isin(set(roster["helper_id"]))]
    impact = turnover.helper_impact_under(model, roster, latest, settings)   # the same call as the risk command
    impact = impact.merge(roster[["helper_id", "site"]], on="helper_id", how="left")
    # The mask counts the people behind the burnout estimate: distinct helpers whose
    # risk rests on their own answers (people_frame blanks caseload-only risks).
    basis = impact[["helper_id", group_col]].merge(people[["helper_id", "risk_score"]], on="helper_id", how="left")
    mask = privacy.suppress(basis, group_col, "helper_id", ["risk_score"], min_n,
                            labels={group_col: group_col.capitalize()})
    if plan is not None:
        mask = privacy.apply_plan(mask, plan, fixed, column_map={"n": "risk_score"})
    status = dict(zip(mask.table[group_col].astype(str), mask.status["risk_score"]))
    n_risk = dict(zip(mask.table[group_col].astype(str), mask.table["n"]))
    if group_col == "team":
        per = turnover.team_impact(impact, ts)
    else:
        per = pd.DataFrame([{group_col: k, **turnover._aggregate(g)} for k, g in impact.groupby(group_col)])
        per["team_kind"] = None
    org = turnover.org_impact(impact, ts)
    cols = ["helpers_with_risk", "burnout_prevalence", "expected_leavers", "attributable_leavers",
            "expected_turnover_cost", "attributable_cost", "clients_affected", "attributable_clients_affected"]
    rows = []
    for _, r in per.iterrows():
        key = str(r[group_col])
        rows.append({group_col: key, "team_kind": r.get("team_kind"), **{c: r.get(c) for c in cols},
                     "status": status.get(key, privacy.PRIMARY)})
    total = {group_col: privacy.TOTAL, "team_kind": None, **{c: org.get(c) for c in cols},
             "status": status.get(privacy.TOTAL, privacy.PRIMARY)}
    rows.append(total)
    table = pd.DataFrame(rows)
    hidden = table["status"] != privacy.SHOWN
    table.loc[hidden, cols] = np.nan
    table["helpers_with_risk"] = [n_risk.get(k) if s == privacy.SHOWN else np.nan
                                  for k, s in zip(table[group_col], table["status"])]
    shown_kinds = sorted({k for k, s in zip(table["team_kind"], table["status"])
                          if s == privacy.SHOWN and isinstance(k, str)})
    evidence = {k: settings.continuity_for(k) for k in
                (shown_kinds or sorted(set(impact["team_kind"].dropna().astype(str))))}
    scope_ok = status.get(privacy.TOTAL) == privacy.SHOWN
    sc = {**DEFAULT_SCENARIO, **(scenario or {})}
    result = None
    if scope_ok:
        result = turnover.what_if(roster, latest, ts, burnout_reduction_points=float(sc["burnout_reduction_points"]),
                                  cap_caseload=bool(sc["cap_caseload"]),
                                  intervention_cost=float(sc["intervention_cost"] or 0),
                                  weights=settings.risk_weights, calibration=model.calibration)
    return {"table": table, "evidence": evidence, "what_if": result, "scenario": sc,
            "resolved": ts, "group_col": group_col,
            "link": data.get("burnout_link") or {}}


def turnover_display(block: Mapping, min_n: int) -> pd.DataFrame:
    t = block["table"]
    g = block["group_col"]
    label = hidden = None
    out = pd.DataFrame({g.capitalize(): t[g]})
    spec = [("helpers_with_risk", "People with a risk estimate", 0, 1),
            ("burnout_prevalence", "Estimated burnout prevalence (%)", 1, 100),
            ("expected_leavers", "Expected leavers per year", 1, 1),
            ("attributable_leavers", "Of which attributable to burnout", 2, 1),
            ("expected_turnover_cost", "Expected turnover cost per year ($)", 0, 1),
            ("attributable_cost", "Burnout-attributable cost per year ($)", 0, 1),
            ("clients_affected", "Clients who would lose their helper", 0, 1)]
    for col, name, dec, scale in spec:
        vals = []
        for v, s in zip(t[col], t["status"]):
            if s != privacy.SHOWN:
                vals.append(privacy.hidden_label(s, min_n))
            elif v is None or (isinstance(v, float) and math.isnan(v)):
                vals.append("")
            else:
                x = float(v) * scale
                vals.append(int(round(x)) if dec == 0 else round(x, dec))
        out[name] = vals
    del label, hidden
    return out


def what_if_display(result: Mapping | None) -> pd.DataFrame:
    if not result:
        return pd.DataFrame({"Figure": ["Scenario"], "Value": ["not enough people to estimate"]})
    roi = result.get("roi")
    rows = [
        ("Helpers in scope", result.get("helpers")),
        ("Expected leavers per year now", _r(result.get("expected_leavers_before"), 1)),
        ("Expected leavers per year with the scenario", _r(result.get("expected_leavers_after"), 1)),
        ("Leavers avoided per year", _r(result.get("leavers_avoided"), 2)),
        ("Expected turnover cost now ($)", _r(result.get("expected_cost_before"), 0)),
        ("Expected turnover cost with the scenario ($)", _r(result.get("expected_cost_after"), 0)),
        ("Cost saved per year ($)", _r(result.get("cost_saved"), 0)),
        ("Clients spared a change of helper per year", _r(result.get("clients_spared"), 1)),
        ("Intervention cost per year ($)", _r(result.get("intervention_cost"), 0)),
        ("Return on investment", "enter an intervention cost" if roi is None else f"{roi * 100:.0f}%"),
    ]
    return pd.DataFrame(rows, columns=["Figure", "Value"]).astype({"Value": object})


def for_screen(df: pd.DataFrame) -> pd.DataFrame:
    """Columns mixing numbers and words ("fewer than 5") as text, so a table widget
    shows them as they are instead of guessing a type."""
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype == object:
            kinds = {type(v) for v in col if v is not None and not (isinstance(v, float) and math.isnan(v))}
            if len(kinds) > 1 or (kinds and not kinds <= {str}):
                out[c] = [_screen_text(v) for v in col]
    return out


def _screen_text(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and abs(v) >= 10_000:
        return f"{int(v):,}"
    return str(v)


def _r(v, dec):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return int(round(float(v))) if dec == 0 else round(float(v), dec)


# =========================================================================== the HR review

def parse_scope(engine: Engine, scope: str) -> str | None:
    """``"org"`` -> None; ``"team:ID"`` -> ID after checking the team exists."""
    scope = (scope or "org").strip()
    if scope == "org":
        return None
    if not scope.startswith("team:") or not scope[5:].strip():
        raise InputError(f"scope must be 'org' or 'team:ID', got {scope!r}", column="scope")
    team = scope[5:].strip()
    known = set(frames.teams_frame(engine)["team_id"])
    if team not in known:
        raise InputError(f"there is no team {team!r}; teams: {', '.join(sorted(known)) or 'none'}",
                         column="scope")
    return team


def build_review(engine: Engine, scope: str = "org", settings_override: Mapping | None = None, *,
                 as_of=None, window_weeks: int = 4, scenario: Mapping | None = None,
                 where: Mapping | None = None, trend_measure: str = "pulse_strain",
                 data: Mapping | None = None, heat_weeks: int = 26) -> dict:
    """The HR review as a dict of suppressed tables, display tables and figures.

    ``scope``: "org" or "team:ID" (an unknown team is an InputError).
    ``settings_override``: turnover assumptions (relative_risk, base_turnover,
    cost multipliers, ...) on top of the saved settings, for this review only.
    ``scenario``: what-if inputs (burnout_reduction_points, cap_caseload,
    intervention_cost).  ``where``: a narrowing filter for the roll-ups, e.g.
    ``{"site": [...]}``; it is protected against the unfiltered tables.
    ``heat_weeks``: how many recent weeks the heatmap draws (its table keeps all).
    """
    team = parse_scope(engine, scope)
    settings = merged_settings(engine, settings_override)
    min_n = min_group(settings)
    data = dict(data) if data is not None else load_data(engine, as_of=as_of, settings=settings)
    data["settings"] = settings
    people = people_frame(data, weeks=window_weeks)
    # One audit over every roll-up an HR reviewer can see; a team report or a
    # filter then shows only what those audited tables already imply.
    plan = review_plan(people, min_n)
    fixed = _narrowing(where, team)
    if team is not None:
        people = people[people["team"] == team]
    groupings = ["role", "site"] if team is not None else ["team", "role", "site"]
    sections: list[dict] = []
    tables: dict[str, privacy.Suppressed] = {}
    for g in groupings:
        sup = rollup(people, g, min_n, where=where, plan=plan, fixed=fixed)
        tables[f"by_{g}"] = sup
        sections.append({"key": f"by_{g}", "title": f"Wellbeing by {g}",
                         "text": f"Recent answers (last {window_weeks} weeks) averaged per person, then per {g}. "
                                 "Burnout risk and caseload are the latest estimates.",
                         "display": sup.display(percent=PERCENT)})
    band_by = "team" if team is None else None
    bands = band_shares(people, band_by, min_n, plan=plan, fixed=_narrowing(None, team))
    tables["risk_bands"] = bands
    sections.append({"key": "risk_bands", "title": "Burnout risk bands",
                     "text": "Share of people in each band of the 0-100 risk (low < 40, moderate 40-64, high 65+).",
                     "display": bands.display(percent=PERCENT, decimals=0)})

    ids = set(people["helper_id"])
    series = series_for(data, trend_measure)
    series = series[series["helper_id"].isin(ids)]
    roster = data["roster"]
    heat_group = "team" if team is None else "role"
    weekly = weekly_by(series, roster, heat_group, trend_measure, min_n)
    tables["weekly"] = weekly
    trend = trend_from(weekly, trend_measure)
    weekly_display = weekly.display(percent=PERCENT, labels={
        "week_start": "Week starting", heat_group: heat_group.capitalize(),
        trend_measure: charts.measure_label(trend_measure)})
    weekly_display["Week starting"] = pd.to_datetime(weekly.table["week_start"]).dt.strftime("%Y-%m-%d")
    sections.append({"key": "weekly", "title": f"{TREND_MEASURES.get(trend_measure, trend_measure)} by week",
                     "text": "Weekly means over distinct people; each week's total is protected against its "
                             f"{heat_group}s.", "display": weekly_display})

    scope_ids = roster["helper_id"] if team is None else roster.loc[roster["team"] == team, "helper_id"]
    part = participation_table(data, scope_ids, min_n)
    sections.append({"key": "participation", "title": "Check-in participation",
                     "text": "Share of active helpers who checked in each week. Counts only: never who.",
                     "display": participation_display(part, min_n)})

    tb = turnover_block(data, people, min_n, settings, scenario, group_col="team" if team is None else "role",
                        plan=plan, fixed=_narrowing(None, team))
    sections.append({"key": "turnover", "title": "Turnover impact",
                     "text": "Expected leavers and cost next year (Shanafelt, Goh & Sinsky 2017 mixture model) "
                             "and the share attributable to burnout; clients affected = expected leavers x "
                             "their active caseload.", "display": turnover_display(tb, min_n)})
    sections.append({"key": "what_if", "title": "What-if scenario", "text": _scenario_text(tb["scenario"], tb["what_if"]),
                     "display": what_if_display(tb["what_if"])})

    model = leaving_model_of(data)
    calibration = {"title": CALIBRATION_TITLE, "used": model.calibration.used, "lines": model.describe(),
                   "display": model.table(), "details": model.to_dict()}
    label = "Organisation" if team is None else f"Team {team}"
    figures = {
        "risk_bands": charts.risk_distribution(bands.interior().table if band_by else bands.table, band_by,
                                               title="Burnout risk bands" + (" by team" if band_by else "")),
        "trend": charts.team_trend(trend, trend_measure, min_n,
                                   title=f"{label}: {TREND_MEASURES.get(trend_measure, trend_measure).lower()} by week"),
        "heatmap": charts.heatmap(_last_weeks(heatmap_cells(weekly, trend_measure), heat_weeks), heat_group,
                                  measure=trend_measure,
                                  title=f"{TREND_MEASURES.get(trend_measure, trend_measure)} by {heat_group} and week",
                                  min_n=min_n),
        "pressure": charts.pressure_scatter(
            tables[f"by_{heat_group}"].interior().table.rename(columns={heat_group: "label"}),
            y="burned_out", size_col="n", label_points=True,
            title=f"Caseload pressure and reported burnout by {heat_group}",
            subtitle=f"One dot per {heat_group} shown in the table; the larger the dot, the more people."),
        "participation": charts.participation(part, min_n=min_n,
                                              y_label="% of active helpers who answered"),
        "turnover": charts.turnover_impact(tb["table"][tb["table"][tb["group_col"]] != privacy.TOTAL],
                                           group_col=tb["group_col"]),
        "turnover_cost": charts.turnover_impact(tb["table"][tb["table"][tb["group_col"]] != privacy.TOTAL],
                                                metric="cost", group_col=tb["group_col"]),
        "what_if": charts.what_if(tb["what_if"]),
    }
    return {
        "title": f"Helper wellbeing review: {label.lower() if team is None else label}",
        "scope": "org" if team is None else f"team:{team}",
        "scope_label": label,
        "team": team,
        "generated_at": _now(),
        "as_of": data["as_of"],
        "window_weeks": window_weeks,
        "min_n": min_n,
        "privacy_note": privacy.privacy_note(min_n),
        "filter": dict(where or {}),
        "assumptions": assumptions_table(tb, settings, window_weeks, min_n),
        "sections": sections,
        "tables": tables,
        "turnover": tb,
        "participation": part,
        "trend": trend,
        "figures": figures,
        "evidence": tb["evidence"],
        "calibration": calibration,
    }


def _last_weeks(cells: pd.DataFrame, weeks: int) -> pd.DataFrame:
    if cells.empty:
        return cells
    keep = sorted(pd.to_datetime(cells["week_start"]).unique())[-weeks:]
    return cells[pd.to_datetime(cells["week_start"]).isin(keep)]


def _scenario_text(sc: Mapping, result: Mapping | None = None) -> str:
    asked = float(sc["burnout_reduction_points"])
    applied = (result or {}).get("burnout_reduction_applied_points")
    if applied is not None and float(applied) < asked - 1e-9:
        parts = [f"burnout prevalence {float(applied):.1f} percentage points lower (asked {asked:g}; "
                 f"prevalence cannot fall below 0 %)"]
    else:
        parts = [f"burnout prevalence {asked:g} percentage points lower"]
    if sc.get("cap_caseload"):
        parts.append("caseloads capped at the role standard")
    if sc.get("intervention_cost"):
        parts.append(f"an intervention costing ${float(sc['intervention_cost']):,.0f} a year")
    return "Scenario: " + "; ".join(parts) + "."


def participation_display(part: pd.DataFrame, min_n: int) -> pd.DataFrame:
    if part.empty:
        return pd.DataFrame(columns=["Week starting", "Checked in (%)"])
    vals = [privacy.hidden_label(s, min_n) if s != privacy.SHOWN else round(float(r) * 100)
            for r, s in zip(part["rate"], part["status"])]
    return pd.DataFrame({"Week starting": pd.to_datetime(part["week_start"]).dt.strftime("%Y-%m-%d"),
                         "Checked in (%)": vals})


def assumptions_table(tb: Mapping, settings: Settings, window_weeks: int, min_n: int) -> pd.DataFrame:
    s: Settings = tb["resolved"]
    rows = [("Minimum group size (people)", min_n),
            ("Answers window (weeks)", window_weeks),
            ("Relative risk of leaving when burned out", s.relative_risk),
            ("Default annual base turnover", f"{float(s.default_base_turnover) * 100:.1f}%"),
            ("Default replacement cost (x annual salary)", s.default_cost_multiplier)]
    for kind, rate in sorted(s.base_turnover.items()):
        rows.append((f"Base turnover: {team_kind_label(kind)}", f"{float(rate) * 100:.1f}%"))
    for role, mult in sorted(s.cost_multiplier.items()):
        rows.append((f"Replacement cost (x salary): {role}", mult))
    for role, cost in sorted(s.cost_per_departure.items()):
        rows.append((f"Cost per departure: {role} ($)", cost))
    link = tb.get("link") or {}
    set_by_org = settings.burnout_midpoint is not None
    how = ("set by the organisation" if set_by_org else "fitted to the organisation's single-item ratings"
           if link.get("used") == "fitted" else "default assumption")
    mid = s.burnout_midpoint if s.burnout_midpoint is not None else turnover.DEFAULT_BURNOUT_MIDPOINT
    scale = s.burnout_scale if s.burnout_scale is not None else turnover.DEFAULT_BURNOUT_SCALE
    rows.append(("Burnout probability from risk", f"logistic, midpoint {float(mid):.1f}, "
                                                   f"scale {float(scale):.1f} ({how})"))
    sc = tb["scenario"]
    rows += [("What-if: burnout prevalence lower by (points)", sc["burnout_reduction_points"]),
             ("What-if: caseloads capped at the role standard", "yes" if sc["cap_caseload"] else "no"),
             ("What-if: intervention cost per year ($)", sc["intervention_cost"])]
    return pd.DataFrame(rows, columns=["Assumption", "Value"]).astype({"Value": object})


# =========================================================================== lead views

def team_roster(data: Mapping, team: str) -> pd.DataFrame:
    r = active_roster(data["roster"], data["as_of"])
    return r[r["team"] == team]


def team_view(engine: Engine, viewer: Mapping, team: str | None = None, *, data: Mapping | None = None,
              measure: str = "pulse_strain", window_weeks: int = 4) -> dict:
    """What a lead sees for their own team (DESIGN §1, §7).

    Aggregates cover the team (or only the consenting helpers when between 1
    and min_n - 1 helpers keep their results private, see privacy.lead_basis)
    and are protected against the individually visible helpers; individual
    rows only for consenting helpers; caseload figures for everyone (operational).
    """
    team = team or viewer.get("team_id")
    if not privacy.can_view_team(viewer, team):
        raise PermissionError("this team is not yours to view")
    data = data or load_data(engine)
    settings = data["settings"]
    min_n = min_group(settings)
    troster = team_roster(data, team)
    ids, known, basis_label = privacy.lead_basis(troster, min_n)
    people = people_frame(data, window_weeks)
    people = people[people["team"] == team]
    basis_people = people[people["helper_id"].isin(ids)]
    consenting = troster[troster["consent_lead_view"].astype(bool)]
    n_private = len(troster) - len(consenting)

    series = series_for(data, measure)
    weekly = privacy.weekly_aggregate(series[series["helper_id"].isin(ids)], measure, min_n, known=known)
    bands = band_shares(basis_people, None, min_n, known=known)

    # heatmap: consenting helpers x weeks, else sub-groups that meet the minimum, else nothing
    heat_kind, heat_cells, heat_note = None, pd.DataFrame(), ""
    weeks_back = data["as_of"] - pd.Timedelta(weeks=25) if data["as_of"] is not None else None
    recent = series if weeks_back is None else series[series["week_start"] >= weeks_back]
    if len(consenting):
        c = recent[recent["helper_id"].isin(set(consenting["helper_id"]))]
        c = c.groupby(["helper_id", "week_start"])[measure].mean().reset_index()
        c = c.merge(consenting[["helper_id", "name"]], on="helper_id")
        heat_cells = pd.DataFrame({"helper": c["name"], "week_start": c["week_start"], "value": c[measure],
                                   "status": privacy.SHOWN})
        heat_kind = "helpers"
        heat_note = "Only helpers who chose to share their individual results with you are listed."
    else:
        for g in ("role", "site"):
            sup = weekly_by(recent, troster, g, measure, min_n, ids=ids, known=known)
            inner = sup.interior()
            if (inner.status[measure] == privacy.SHOWN).any() and inner.table[g].nunique() > 1:
                heat_cells, heat_kind = heatmap_cells(sup, measure), g
                heat_note = f"Groups by {g}; groups under {min_n} people are blank."
                break
        if heat_kind is None:
            heat_note = ("No heatmap: no helper has chosen to share individual results with you, and no role "
                         f"or site group in this team has {min_n} or more people who answered.")

    # caseload pressure vs burnout: consenting helpers only
    scatter = people[people["helper_id"].isin(set(consenting["helper_id"]))][
        ["name", "caseload_ratio", measure if measure in people else "pulse_strain"]].rename(columns={"name": "label"})

    alerts_df = team_alert_rows(data, team, ids, known, min_n)
    helper_alerts_df = consenting_alerts(data, consenting)
    drivers = team_drivers(basis_people, min_n, known=known, weights=settings.risk_weights)
    part = participation_table(data, ids, min_n, known=known)
    return {
        "team": team, "min_n": min_n, "basis_label": basis_label, "ids": ids, "known": known,
        "team_size": len(troster), "consenting": consenting[["helper_id", "name", "role"]].reset_index(drop=True),
        "private_note": privacy.private_count_note(n_private, min_n),
        "measure": measure, "weekly": weekly, "bands": bands,
        "heatmap_kind": heat_kind, "heatmap_cells": heat_cells, "heatmap_note": heat_note,
        "scatter": scatter, "alerts": alerts_df, "helper_alerts": helper_alerts_df,
        "drivers": drivers, "participation": part, "caseload": team_caseload(data, troster),
        "as_of": data["as_of"],
    }


def team_alert_rows(data: Mapping, team: str, ids, known, min_n: int) -> pd.DataFrame:
    """Team alerts (burnout.alerts) over the lead's basis; an alert whose windows hold a
    small group of private helpers is left out, as its numbers could describe them."""
    from burnout import alerts

    h = data["history"]
    h = h[h["helper_id"].isin(set(ids))].copy()
    h["team"] = team
    out = alerts.team_alerts(h, min_n)
    s = data["scores"]
    s = s[s["helper_id"].isin(set(ids)) & s["pulse_strain"].notna()].copy()
    s["team"] = team
    out = pd.concat([out, alerts.team_alerts(s, min_n, value_col="pulse_strain", label="average weekly strain")],
                    ignore_index=True)
    if out.empty or known is None:
        return out
    private = set(ids) - set(known)
    if not private:
        return out
    keep = []
    for _, a in out.iterrows():
        end = pd.Timestamp(a["week_start"])
        window = h[(h["week_start"] > end - pd.Timedelta(weeks=12)) & (h["week_start"] <= end)]
        k = len(set(window["helper_id"]) & private)
        keep.append(not (0 < k < min_n))
    return out[np.asarray(keep, dtype=bool)].reset_index(drop=True)


def consenting_alerts(data: Mapping, consenting: pd.DataFrame, weeks: int = 8) -> pd.DataFrame:
    """Band changes of consenting helpers in the last ``weeks`` weeks, with names."""
    from burnout import alerts

    h = data["history"]
    h = h[h["helper_id"].isin(set(consenting["helper_id"]))]
    since = data["as_of"] - pd.Timedelta(weeks=weeks) if data["as_of"] is not None else None
    out = alerts.helper_alerts(h, since=since)
    if out.empty:
        return out
    names = dict(zip(consenting["helper_id"], consenting["name"]))
    out = out.copy()
    out["name"] = out["helper_id"].map(names)
    out["message"] = [m.replace(f"{hid}:", f"{names.get(hid, hid)}:", 1) for m, hid in zip(out["message"],
                                                                                          out["helper_id"])]
    return out


def team_caseload(data: Mapping, troster: pd.DataFrame, weeks: int = 4) -> pd.DataFrame:
    """Operational caseload per helper of the team (a lead may see it for everyone)."""
    cl = data["caseload"]
    cl = cl[cl["helper_id"].isin(set(troster["helper_id"]))]
    if data["as_of"] is not None:
        cl = cl[cl["week_start"] > data["as_of"] - pd.Timedelta(weeks=weeks)]
    agg = cl.groupby("helper_id").agg(active_cases=("active_cases", "mean"),
                                      high_acuity_cases=("high_acuity_cases", "mean"),
                                      new_cases=("new_cases", "mean"),
                                      overtime_hours=("overtime_hours", "mean")).reset_index()
    out = troster[["helper_id", "name", "role", "caseload_standard"]].merge(agg, on="helper_id", how="left")
    out["caseload_ratio"] = out["active_cases"] / out["caseload_standard"].replace(0, np.nan)
    out = out.sort_values("caseload_ratio", ascending=False, na_position="last")
    return pd.DataFrame({
        "Helper": out["name"], "Role": out["role"],
        f"Active cases (mean of {weeks} weeks)": out["active_cases"].round(1),
        "Role standard": out["caseload_standard"],
        "Cases / standard": out["caseload_ratio"].round(2),
        "New cases a week": out["new_cases"].round(1),
        "High-acuity cases": out["high_acuity_cases"].round(1),
        "Overtime hours a week": out["overtime_hours"].round(1),
    }).reset_index(drop=True)


def helper_view(engine: Engine, viewer: Mapping, helper_id: str, *, data: Mapping | None = None) -> dict:
    """One consenting helper's results for their lead.  Raises PermissionError
    unless privacy.can_view_individual allows it.  The caller writes the audit row
    (privacy.audit_view) for each view."""
    data = data or load_data(engine)
    row = data["roster"][data["roster"]["helper_id"] == helper_id]
    if row.empty or not privacy.can_view_individual(viewer, row.iloc[0].to_dict()):
        raise PermissionError("this helper's individual results are not shared with you")
    r = row.iloc[0]
    scores = data["scores"][data["scores"]["helper_id"] == helper_id]
    history = data["history"][data["history"]["helper_id"] == helper_id]
    latest = data["latest"][data["latest"]["helper_id"] == helper_id]
    cl = data["caseload"][data["caseload"]["helper_id"] == helper_id]
    drivers = []
    if len(latest):
        drivers = [d for d in latest.iloc[0][["driver_1", "driver_2", "driver_3"]] if isinstance(d, str) and d]
    weekly = scores.groupby("week_start")[[c for c in charts.MEASURES if c in scores.columns
                                           and c != "burned_out"]].mean().reset_index()
    weekly = weekly.merge(history[["week_start", "risk_score"]], on="week_start", how="outer") \
        .sort_values("week_start")
    return {"helper_id": helper_id, "name": r["name"], "role": r["role"], "team": r["team"],
            "caseload_standard": r["caseload_standard"], "scores": scores, "weekly": weekly,
            "latest": latest, "drivers": drivers, "caseload": cl.sort_values("week_start")}


# =========================================================================== action notes

def action_notes(engine: Engine, team: str) -> pd.DataFrame:
    from burnout.store.schema import action_notes as t

    with engine.connect() as conn:
        df = pd.read_sql(select(t).where(t.c.team_id == team).order_by(t.c.created_at.desc()), conn)
    return df


def save_action_note(engine: Engine, actor: Mapping | str, team: str, you_said: str, we_did: str | None = None,
                     done_on=None, note_id: int | None = None) -> int:
    """Add a note (``note_id`` None) or update one of the team's notes; audited."""
    from burnout.store.schema import action_notes as t
    from burnout.store.writes import audit

    you_said = (you_said or "").strip()
    if not you_said:
        raise InputError("say what the team raised ('you said')", column="you_said")
    name = actor.get("username", "lead") if isinstance(actor, Mapping) else str(actor)
    we_did = (we_did or "").strip() or None
    done = pd.Timestamp(done_on).date() if done_on not in (None, "") and not pd.isna(done_on) else None
    with engine.begin() as conn:
        if note_id is None:
            nid = conn.execute(insert(t).values(team_id=team, created_at=_now(), author=name, you_said=you_said,
                                                we_did=we_did, done_on=done)).inserted_primary_key[0]
            audit(conn, name, "action_note_added", detail=f"team {team}, note {nid}")
        else:
            res = conn.execute(update(t).where((t.c.note_id == int(note_id)) & (t.c.team_id == team))
                               .values(you_said=you_said, we_did=we_did, done_on=done))
            if res.rowcount == 0:
                raise InputError(f"note {note_id} is not a note of team {team}", column="note_id")
            nid = int(note_id)
            audit(conn, name, "action_note_updated", detail=f"team {team}, note {nid}")
    return int(nid)


# =========================================================================== exports

def _sheet_name(title: str, used: set) -> str:
    name = re.sub(r"[\[\]\*\?/\\:]", " ", title)[:31].strip() or "Sheet"
    base, i = name, 2
    while name in used:
        name = f"{base[:28]} {i}"
        i += 1
    used.add(name)
    return name


def _cell(v):
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if v is pd.NA:
        return None
    return privacy.neutralise_text(v) if isinstance(v, str) else v


CALIBRATION_TITLE = "How the risk model was checked"


def _about_rows(review: Mapping) -> list[tuple[str, Any]]:
    as_of = review["as_of"]
    rows = [("Report", review["title"]), ("Scope", review["scope_label"]),
            ("Generated", review["generated_at"].strftime("%Y-%m-%d %H:%M UTC")),
            ("Data up to the week starting", as_of.strftime("%Y-%m-%d") if as_of is not None else "no data"),
            ("Privacy", review["privacy_note"])]
    if review.get("filter"):
        rows.append(("Filter", "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in review["filter"].items() if v)))
    return rows


def to_xlsx(review: Mapping) -> bytes:
    """The review as a workbook: an About sheet (scope, date, privacy note,
    assumptions, evidence) and one sheet per table.  Hidden cells read "fewer than
    N" or "hidden to protect a small group"; text that a spreadsheet could run as
    a formula is neutralised."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    used: set = set()
    ws.title = _sheet_name("About", used)
    ws.append([review["title"]])
    ws["A1"].font = Font(bold=True, size=14)
    for k, v in _about_rows(review):
        ws.append([k, _cell(v)])
    ws.append([])
    ws.append(["Assumptions"])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    for k, v in review["assumptions"].itertuples(index=False):
        ws.append([_cell(k), _cell(v)])
    cal = review.get("calibration")
    if cal:
        ws.append([])
        ws.append([cal["title"]])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
        for line in cal["lines"]:
            ws.append(["Summary", _cell(line)])
        for k, v in cal["display"].itertuples(index=False):
            ws.append([_cell(k), _cell(v)])
    ws.append([])
    ws.append(["What losing a helper means for clients (evidence by kind of team)"])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    for kind, text in review["evidence"].items():
        ws.append([team_kind_label(kind), _cell(text)])
    ws.column_dimensions["A"].width = 48
    ws.column_dimensions["B"].width = 100
    for row in ws.iter_rows():
        for c in row:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    for sec in review["sections"]:
        sh = wb.create_sheet(_sheet_name(sec["title"], used))
        sh.append([sec["title"]])
        sh["A1"].font = Font(bold=True, size=12)
        sh.append([_cell(sec.get("text", ""))])
        sh.append([_cell(review["privacy_note"])])
        sh.append([])
        df = privacy.neutralise_formulas(sec["display"].astype(object))
        sh.append([_cell(str(c)) for c in df.columns])
        for c in sh[sh.max_row]:
            c.font = Font(bold=True)
        for rec in df.itertuples(index=False):
            sh.append([_cell(v) for v in rec])
        for i, col in enumerate(df.columns, start=1):
            width = max([len(str(col))] + [len(str(v)) for v in df.iloc[:, i - 1].tolist()[:200]]) + 2
            sh.column_dimensions[get_column_letter(i)].width = min(60, max(10, width))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


_kaleido_lock = threading.Lock()
_kaleido_state = {"started": False, "failed": None}


def _ensure_kaleido() -> bool:
    """Start kaleido's sync server once per process; False when Chromium is unavailable."""
    with _kaleido_lock:
        if _kaleido_state["started"]:
            return True
        if _kaleido_state["failed"] is not None:
            return False
        try:
            import kaleido

            kaleido.start_sync_server(silence_warnings=True)
            _kaleido_state["started"] = True
            return True
        except Exception as exc:  # no browser, or kaleido missing: table-only PDF
            _kaleido_state["failed"] = repr(exc)
            return False


def figure_png(fig, width: int = 900, height: int | None = None) -> bytes | None:
    """PNG bytes of a figure via kaleido, or None when it cannot be drawn here."""
    if not _ensure_kaleido():
        return None
    try:
        import warnings

        import plotly.io as pio

        with warnings.catch_warnings():
            # plotly passes its own kaleido options, which the shared render server ignores
            warnings.filterwarnings("ignore", message="The kopts argument is ignored")
            return pio.to_image(fig, format="png", width=width, height=height or int(fig.layout.height or 400),
                                scale=2)
    except Exception as exc:
        _kaleido_state["failed"] = repr(exc)
        return None


_PDF_REPLACEMENTS = {"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2264": "<=", "\u2265": ">=", "\u2019": "'",
                     "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00d7": "x", "\u2026": "...", "\u00b7": "-",
                     "\u2248": "~", "\u2192": "->"}


def _latin1(text) -> str:
    s = "" if text is None else str(text)
    for a, b in _PDF_REPLACEMENTS.items():
        s = s.replace(a, b)
    return s.encode("latin-1", "replace").decode("latin-1")


FIGURES_IN_PDF = ("risk_bands", "trend", "heatmap", "pressure", "turnover_cost", "what_if")


def _pdf_cell(v, column) -> str:
    """A table cell as text: money and large counts with thousands separators."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, str) and v.startswith("fewer than "):
        return "<" + v[len("fewer than "):]          # the legend under each table says what the marks mean
    if v == privacy.hidden_label(privacy.COMPLEMENTARY):
        return "hidden"
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        x = float(v)
        if "($)" in str(column) or abs(x) >= 10_000:
            return f"{x:,.0f}"
        return f"{int(x)}" if x.is_integer() else f"{x:g}"
    return str(v)


def _has_hidden(df: pd.DataFrame) -> bool:
    marks = {privacy.hidden_label(privacy.COMPLEMENTARY)}
    return bool(df.astype(str).apply(lambda c: c.isin(marks) | c.str.startswith("fewer than ")).any().any())


def _pdf_widths(columns: list, cells: list[list[str]]) -> tuple:
    """Relative column widths wide enough for each column's longest word, so a
    team name never breaks mid-word; long sentences wrap at spaces."""
    out = []
    for head, col in zip(columns, cells):
        texts = [str(head), *col]
        word = max((len(w) for t in texts for w in t.split()), default=1)
        out.append(max(1.4 * word, min(max((len(t) for t in col), default=1), 18), 3))
    return tuple(out)


def to_pdf(review: Mapping, charts_in_pdf: bool = True) -> bytes:
    """The review as a PDF (fpdf2): title, date, scope, privacy note, assumptions,
    every table, and the charts as PNG via kaleido — or, when Chromium is not
    available, the tables alone with a note saying so."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title(_latin1(review["title"]))
    pdf.set_author("Helper wellbeing monitor")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def heading(text, size=13):
        pdf.set_font("Helvetica", "B", size)
        pdf.multi_cell(width, 7, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)

    def para(text, size=9):
        pdf.set_font("Helvetica", "", size)
        pdf.multi_cell(width, 4.8, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    def table(df: pd.DataFrame, col_widths=None):
        df = df.astype(object)
        cells = [[_pdf_cell(v, c) for v in df[c]] for c in df.columns]
        if col_widths is None:
            col_widths = _pdf_widths(list(df.columns), cells)
        pdf.set_font("Helvetica", "", 7.5 if df.shape[1] > 5 else 8.5)
        with pdf.table(width=width, col_widths=col_widths, text_align="LEFT", line_height=4.2,
                       headings_style=FontFace(emphasis="BOLD", fill_color=(230, 236, 245)),
                       first_row_as_headings=True) as t:
            t.row([_latin1(c) for c in df.columns])
            for row in zip(*cells):
                t.row([_latin1(v) for v in row])
        pdf.ln(3)

    pdf.set_font("Helvetica", "B", 17)
    pdf.multi_cell(width, 9, _latin1(review["title"]), new_x="LMARGIN", new_y="NEXT")
    for k, v in _about_rows(review):
        pdf.set_font("Helvetica", "B", 9)
        pdf.cell(52, 5, _latin1(k))
        pdf.set_font("Helvetica", "", 9)
        pdf.multi_cell(width - 52, 5, _latin1(v), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    para("This review is about workloads and systems, not about individual people. It shows group "
         "figures only; nobody's individual answers are in it.")

    images_ok = charts_in_pdf and _ensure_kaleido()
    if charts_in_pdf and not images_ok:
        para("Charts are not included: the chart renderer (Chromium via kaleido) is not available on this "
             "machine. Every number behind the charts is in the tables below.")

    heading("Assumptions")
    table(review["assumptions"], col_widths=(2, 1))
    cal = review.get("calibration")
    if cal:
        heading(cal["title"], 11)
        for line in cal["lines"]:
            para(line)
        table(cal["display"], col_widths=(1, 2))

    figs = review.get("figures", {})
    fig_for = {"by_team": "pressure", "risk_bands": "risk_bands", "weekly": "heatmap", "turnover": "turnover_cost",
               "what_if": "what_if", "participation": None}
    if review.get("team"):
        fig_for["by_role"] = "pressure"
        fig_for.pop("by_team")
    drawn = set()
    for sec in review["sections"]:
        heading(sec["title"])
        if sec.get("text"):
            para(sec["text"])
        name = fig_for.get(sec["key"])
        if sec["key"] == "weekly" and images_ok and "trend" in figs and not charts.is_empty_figure(figs["trend"]):
            png = figure_png(figs["trend"], height=380)
            if png:
                pdf.image(io.BytesIO(png), w=width)
                pdf.ln(2)
                drawn.add("trend")
        if images_ok and name and name in figs and name not in drawn and not charts.is_empty_figure(figs[name]):
            png = figure_png(figs[name])
            if png:
                pdf.image(io.BytesIO(png), w=width)
                pdf.ln(2)
                drawn.add(name)
        disp = sec["display"]
        if sec["key"] == "weekly":
            disp = _weekly_compact(disp, review["min_n"])
            para(f"The last 12 weeks, one column per week. <{review['min_n']}: fewer than {review['min_n']} people; "
                 "hidden: hidden to protect a small group. Every week is in the XLSX export.")
        table(disp)
        if sec["key"] != "weekly" and _has_hidden(disp):
            para(f"<{review['min_n']}: fewer than {review['min_n']} people. hidden: hidden so that a smaller "
                 "group cannot be worked out from the other figures.", size=7.5)
    if review["evidence"]:
        heading("What losing a helper means for clients")
        for kind, text in review["evidence"].items():
            para(f"{team_kind_label(kind)}: {text}")
    heading("Privacy", 11)
    para(review["privacy_note"])
    return bytes(pdf.output())


def _weekly_compact(disp: pd.DataFrame, min_n: int = MIN_GROUP_SIZE, weeks: int = 12) -> pd.DataFrame:
    """The last ``weeks`` weeks of a sub-group x week table as one row per group."""
    if disp.empty:
        return disp
    wk_col = "Week starting"
    group_col = [c for c in disp.columns if c not in (wk_col, "People")][0]
    value_col = [c for c in disp.columns if c not in (wk_col, "People", group_col)][0]
    last = sorted(disp[wk_col].unique())[-weeks:]
    d = disp[disp[wk_col].isin(last)]
    wide = d.pivot_table(index=group_col, columns=wk_col, values=value_col, aggfunc="first").reset_index()
    wide.columns = [group_col] + [c[5:] for c in wide.columns[1:]]
    order = [g for g in dict.fromkeys(disp[group_col]) if g in set(wide[group_col])]
    short = {privacy.hidden_label(privacy.PRIMARY, min_n): f"<{min_n}",
             privacy.hidden_label(privacy.COMPLEMENTARY, min_n): "hidden"}
    out = wide.set_index(group_col).loc[order].reset_index().fillna("")
    return out.map(lambda v: short.get(v, v) if isinstance(v, str) else v)


def write_report(engine: Engine, scope: str = "org", fmt: str = "pdf", out: Path | str = "report.pdf",
                 settings_override: Mapping | None = None) -> Path:
    """The CLI's ``report`` command: build the review for ``scope`` and write it as ``fmt``."""
    fmt = (fmt or "").lower()
    if fmt not in ("pdf", "xlsx"):
        raise InputError(f"format must be pdf or xlsx, got {fmt!r}", column="format")
    review = build_review(engine, scope, settings_override)
    payload = to_pdf(review) if fmt == "pdf" else to_xlsx(review)
    out = Path(out)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(payload)
    return out
