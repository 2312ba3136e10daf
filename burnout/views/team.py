"""What a lead sees for their own team (DESIGN §1, §7), as one typed object.

Aggregates cover the team (or only the consenting helpers when between 1 and
min_n - 1 helpers keep their results private, see privacy.lead_basis) and are
protected against the individually visible helpers; individual rows only for
consenting helpers; caseload figures for everyone (operational data).  The
page writes the audit rows for the individual results it draws.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from burnout import alerts, privacy
from burnout.domain import measures
from burnout.views.data import PERCENT, OrgData, active_roster, load_data, people_frame, series_for
from burnout.views.tables import (band_shares, heatmap_cells, participation_display, participation_table,
                                  team_drivers, weekly_by)


@dataclasses.dataclass(frozen=True)
class TeamView:
    team: str
    min_n: int
    basis_label: str
    ids: frozenset
    known: frozenset | None
    team_size: int
    consenting: pd.DataFrame          # helper_id, name, role of helpers who share their results
    private_note: str | None
    measure: str
    weekly: pd.DataFrame              # week_start, mean, n, status over the lead's basis
    bands: privacy.Suppressed
    heatmap_kind: str | None          # "helpers", "role", "site" or None
    heatmap_cells: pd.DataFrame
    heatmap_note: str
    scatter: pd.DataFrame             # consenting helpers: label, caseload_ratio, the measure
    alerts: pd.DataFrame
    helper_alerts: pd.DataFrame
    drivers: pd.DataFrame
    participation: pd.DataFrame
    caseload: pd.DataFrame
    as_of: pd.Timestamp | None

    @property
    def scatter_measure(self) -> str:
        return self.measure if self.measure in self.scatter.columns else "pulse_strain"

    def bands_table(self) -> pd.DataFrame:
        return self.bands.display(percent=PERCENT, decimals=0, labels={"scope": "Team"})

    def trend_table(self) -> pd.DataFrame:
        """The weekly team means as shown: hidden weeks in words."""
        w, n = self.weekly, self.min_n
        scale = 100 if self.measure == "burned_out" else 1
        return pd.DataFrame({
            "Week starting": pd.to_datetime(w["week_start"]).dt.strftime("%Y-%m-%d"),
            measures.label(self.measure): [round(float(v) * scale, 1) if s == privacy.SHOWN and pd.notna(v)
                                                 else privacy.hidden_label(s, n)
                                                 for v, s in zip(w["mean"], w["status"])],
            "People": [int(k) if pd.notna(k) else privacy.hidden_label(s, n) for k, s in zip(w["n"], w["status"])]})

    def heatmap_table(self, cells: pd.DataFrame | None = None) -> pd.DataFrame:
        """Heatmap cells (default: all of them) as shown: hidden cells in words."""
        cells = self.heatmap_cells if cells is None else cells
        row_col = "helper" if self.heatmap_kind == "helpers" else self.heatmap_kind
        values = [round(float(v), 1) if s == privacy.SHOWN and pd.notna(v) else privacy.hidden_label(s, self.min_n)
                  for v, s in zip(cells["value"], cells["status"])]
        return cells.assign(week_start=pd.to_datetime(cells["week_start"]).dt.strftime("%Y-%m-%d"), value=values) \
            .drop(columns=["status"]).rename(columns={"week_start": "Week starting",
                                                      "value": measures.label(self.measure),
                                                      row_col: str(row_col).capitalize()})

    def scatter_table(self) -> pd.DataFrame:
        y = self.scatter_measure
        return self.scatter.rename(columns={"label": "Helper", "caseload_ratio": "Cases / standard",
                                            y: measures.label(y)}).round(2)

    def drivers_table(self) -> pd.DataFrame:
        d = self.drivers
        return d.assign(share=(d["share"] * 100).round(0)).rename(
            columns={"driver": "Driver", "share": "Share of helpers (%)", "helpers": "People"})

    def participation_table(self) -> pd.DataFrame:
        return participation_display(self.participation, self.min_n)


def team_roster(data: OrgData, team: str) -> pd.DataFrame:
    r = active_roster(data.roster, data.as_of)
    return r[r["team"] == team]


def team_view(engine: Engine, viewer: Mapping, team: str | None = None, *, data: OrgData | None = None,
              measure: str = "pulse_strain", window_weeks: int = 4) -> TeamView:
    """What ``viewer`` (a lead) sees for ``team`` (default: their own); PermissionError otherwise."""
    team = team or viewer.get("team_id")
    if not privacy.can_view_team(viewer, team):
        raise PermissionError("this team is not yours to view")
    data = data or load_data(engine)
    min_n = data.min_n
    troster = team_roster(data, team)
    ids, known, basis_label = privacy.lead_basis(troster, min_n)
    people = people_frame(data, window_weeks)
    people = people[people["team"] == team]
    basis_people = people[people["helper_id"].isin(ids)]
    consenting = troster[troster["consent_lead_view"].astype(bool)]
    n_private = len(troster) - len(consenting)

    series = series_for(data, measure)
    private = set(ids) - set(known)
    weekly = privacy.weekly_aggregate(series, measure, min_n, ids=ids, known=known)
    bands = band_shares(basis_people, None, min_n, known=known, private=private)

    # heatmap: consenting helpers x weeks, else sub-groups that meet the minimum, else nothing
    heat_kind, heat_cells, heat_note = None, pd.DataFrame(), ""
    weeks_back = data.as_of - pd.Timedelta(weeks=25) if data.as_of is not None else None
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
            sup = weekly_by(recent, troster, g, measure, min_n, ids=ids, known=known, private=private)
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

    return TeamView(
        team=team, min_n=min_n, basis_label=basis_label, ids=frozenset(ids),
        known=frozenset(known) if known is not None else None, team_size=len(troster),
        consenting=consenting[["helper_id", "name", "role"]].reset_index(drop=True),
        private_note=privacy.private_count_note(n_private, min_n), measure=measure, weekly=weekly, bands=bands,
        heatmap_kind=heat_kind, heatmap_cells=heat_cells, heatmap_note=heat_note, scatter=scatter,
        alerts=team_alert_rows(data, team, ids, known, min_n), helper_alerts=consenting_alerts(data, consenting),
        drivers=team_drivers(basis_people, min_n, known=known, weights=data.settings.risk_weights,
                             private=private),
        participation=participation_table(data, ids, min_n, known=known),
        caseload=team_caseload(data, troster), as_of=data.as_of)


def team_alert_rows(data: OrgData, team: str, ids, known, min_n: int) -> pd.DataFrame:
    """Team alerts (burnout.alerts) over the lead's basis; an alert whose windows hold a
    small group of private helpers is left out, as its numbers could describe them."""
    h = data.history
    h = h[h["helper_id"].isin(set(ids))].copy()
    h["team"] = team
    out = alerts.team_alerts(h, min_n)
    s = data.scores
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


def consenting_alerts(data: OrgData, consenting: pd.DataFrame, weeks: int = 8) -> pd.DataFrame:
    """Band changes of consenting helpers in the last ``weeks`` weeks, with names."""
    h = data.history
    h = h[h["helper_id"].isin(set(consenting["helper_id"]))]
    since = data.as_of - pd.Timedelta(weeks=weeks) if data.as_of is not None else None
    out = alerts.helper_alerts(h, since=since)
    if out.empty:
        return out
    names = dict(zip(consenting["helper_id"], consenting["name"]))
    out = out.copy()
    out["name"] = out["helper_id"].map(names)
    out["message"] = [m.replace(f"{hid}:", f"{names.get(hid, hid)}:", 1) for m, hid in zip(out["message"],
                                                                                          out["helper_id"])]
    return out


def team_caseload(data: OrgData, troster: pd.DataFrame, weeks: int = 4) -> pd.DataFrame:
    """Operational caseload per helper of the team (a lead may see it for everyone)."""
    cl = data.caseload
    cl = cl[cl["helper_id"].isin(set(troster["helper_id"]))]
    if data.as_of is not None:
        cl = cl[cl["week_start"] > data.as_of - pd.Timedelta(weeks=weeks)]
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
