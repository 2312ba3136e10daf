"""What a lead sees for their own team (DESIGN §1, §7), as one typed object.

Aggregates cover the team (or only the consenting helpers when between 1 and
min_n - 1 helpers keep their results private, see privacy.lead_basis) and are
protected against the individually visible helpers; individual rows only for
consenting helpers; caseload figures for everyone (operational data).  The
page writes the audit rows for the individual results it draws.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import threading
import weakref
from typing import Mapping

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from burnout import alerts, charts, disclosure, privacy, risk
from burnout.domain import measures
from burnout.views.data import (BLOCK_MEASURES, PERCENT, TREND_MEASURES, OrgData, active_roster, load_data,
                                org_people, people_frame, series_for)
from burnout.views.tables import (band_shares, for_screen, heatmap_cells, hr_known, hr_week_blocks, hr_weekly,
                                  org_week_rows, participation_display, participation_table, review_plan,
                                  team_drivers, weekly_by)


# the measures a team alert states week by week ("now 47 (6 respondents)"): risk and weekly strain
ALERT_MEASURES = ("risk_score", "pulse_strain")


@dataclasses.dataclass(frozen=True)
class OrgAudit:
    """What the HR review releases, which a lead's figures must respect (HR material
    reaches managers): the organisation's joint plan and, for ``measure``, the status
    of each team x week cell of the HR heatmap (tables.hr_weekly)."""
    plan: disclosure.JointPlan
    measure: str
    weekly: Mapping = dataclasses.field(default_factory=dict)     # (team, week_start) -> status
    groups: Mapping = dataclasses.field(default_factory=dict)     # team -> its (role|site, value) pairs
    # the same cells of each measure a team alert states (ALERT_MEASURES): measure -> (team, week) -> status
    alert_weekly: Mapping = dataclasses.field(default_factory=dict)

    def verdicts(self, team: str) -> tuple:
        """Every verdict a lead's page of ``team`` asks of this audit (its team, roles
        and sites per column, its heatmap weeks): equal tuples, the same page."""
        conds = [{"team": team}] + [{"team": team, g: v} for g, v in self.groups.get(str(team), ())]
        cols = sorted(self.plan.status)
        return (tuple(self.plan.allows(c, d) for d in conds for c in cols),
                tuple(sorted((str(w), s) for w, s in _of_team(self.weekly, str(team)).items())),
                tuple((m, tuple(sorted((str(w), s) for w, s in _of_team(cells, str(team)).items())))
                      for m, cells in sorted(self.alert_weekly.items())))


def _of_team(cells: Mapping, team: str) -> dict:
    """``team``'s cells of a (team, week) -> status mapping, as week -> status."""
    if isinstance(cells, _TeamCells):
        return cells.of_team(team)
    return {w: s for (t, w), s in cells.items() if t == team}


class _TeamCells(collections.abc.Mapping):
    """A (team, week_start) -> status mapping read one team at a time (a lead's page asks
    for one team's cells), each team's cells worked out once (:meth:`_worked_out`)."""

    _per: dict

    def _worked_out(self, team: str) -> dict:
        raise NotImplementedError

    def of_team(self, team: str) -> dict:
        """week_start -> status of ``team``'s cells (empty: no cell of that team)."""
        hit = self._per.get(team)
        if hit is None:
            hit = self._per[team] = self._worked_out(team)      # a race works it out twice: harmless
        return hit

    def __getitem__(self, key):
        team, week = key
        return self.of_team(str(team))[week]


class TeamWeekCells(_TeamCells):
    """The (team, week_start) -> status of a team x week table, as a read-only mapping.

    Indexed per team on first use: a lead's page asks for one team's cells, and a dict of
    every cell (hundreds of thousands at 10,000 helpers, built again after every check-in)
    would cost more than the audit that made them.  Equal, key for key, to the dict of
    ``zip(zip(teams, weeks), statuses)`` (later rows win)."""

    def __init__(self, teams, weeks: pd.Series, statuses):
        self._teams = np.asarray(teams, dtype=object)
        self._codes, uniques = pd.factorize(pd.Series(weeks).reset_index(drop=True), use_na_sentinel=False)
        self._stamps = list(uniques)
        self._statuses = np.asarray(statuses, dtype=object)
        self._rows: dict | None = None
        self._per: dict = {}

    def _team_rows(self) -> dict:
        if self._rows is None:
            codes, names = pd.factorize(self._teams)
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
            self._rows = {str(n): order[bounds[i]:bounds[i + 1]] for i, n in enumerate(names)}
        return self._rows

    def _worked_out(self, team: str) -> dict:
        rows = self._team_rows().get(team, np.array([], dtype=np.int64))
        return {self._stamps[c]: s for c, s in zip(self._codes[rows].tolist(), self._statuses[rows].tolist())}

    def __iter__(self):
        for team in self._team_rows():
            for week in self.of_team(team):
                yield (team, week)

    def __len__(self) -> int:
        return sum(len(self.of_team(team)) for team in self._team_rows())


# block (a week's suppressed team cells, cached across audits: views.tables) -> its team ->
# status, by the block's id while it lives: after a check-in one week's block is new
_BLOCK_TEAMS: dict[int, tuple[weakref.ref, dict]] = {}
_BLOCK_TEAMS_LOCK = threading.Lock()


def _teams_of(block: privacy.Suppressed, measure: str) -> dict:
    key = id(block)
    with _BLOCK_TEAMS_LOCK:
        hit = _BLOCK_TEAMS.get(key)
    if hit is not None and hit[0]() is block:
        return hit[1]
    teams = dict(zip(block.table["team"].astype(str).tolist(), block.status[measure].tolist()))
    gone = lambda _ref, key=key: _BLOCK_TEAMS.pop(key, None)    # noqa: E731 - the block was let go
    with _BLOCK_TEAMS_LOCK:
        _BLOCK_TEAMS[key] = (weakref.ref(block, gone), teams)
    return teams


class WeekBlockCells(_TeamCells):
    """The (team, week_start) -> status of the organisation's team x week table, read from its
    week blocks (views.tables.hr_week_blocks) without putting the table together: equal, key
    for key, to the :class:`TeamWeekCells` of the table (tests/test_week_block_cells.py).
    Pickled as that (a stored audit is read back as it always was)."""

    def __init__(self, weeks, blocks, measure: str):
        self._weeks, self._blocks, self._measure = list(weeks), list(blocks), measure
        self._per: dict = {}

    def _teams(self):
        return [(w, _teams_of(b, self._measure)) for w, b in zip(self._weeks, self._blocks)]

    def _worked_out(self, team: str) -> dict:
        return {w: cells[team] for w, cells in self._teams() if team in cells}

    def __iter__(self):
        for w, cells in self._teams():
            for team in cells:
                yield (team, w)

    def __len__(self) -> int:
        return sum(len(cells) for _, cells in self._teams())

    def __reduce__(self):
        pairs = self._teams()
        teams = [t for _, cells in pairs for t in cells]
        weeks = pd.Series([w for w, cells in pairs for _ in cells], dtype="datetime64[ns]")
        statuses = [s for _, cells in pairs for s in cells.values()]
        return (TeamWeekCells, (np.asarray(teams, dtype=object), weeks, np.asarray(statuses, dtype=object)))


def org_audit(data: OrgData, measure: str = "pulse_strain", window_weeks: int = 4) -> OrgAudit:
    """The organisation's audit as the HR review makes it (``data``: the whole organisation)."""
    plan = review_plan(org_people(data, window_weeks), data.min_n)
    roster = active_roster(data.roster, data.as_of)

    def cells(m: str) -> Mapping:
        # HR follows a block measure in 4-week blocks: no single week of it is a cell HR was shown
        if m in BLOCK_MEASURES:
            return {}
        rows = org_week_rows(data, m)
        if rows.empty:
            weekly = hr_weekly(None, data.roster, m, data.min_n, plan=plan, known=hr_known(data.roster), rows=rows)
            return TeamWeekCells(weekly.table["team"].astype(str).to_numpy(object), weekly.table["week_start"],
                                 weekly.status[m].to_numpy(object))
        # the cells as HR's heatmap releases them (tables.hr_weekly), read from its week blocks
        return WeekBlockCells(rows.weeks, hr_week_blocks(rows, data.min_n, plan=plan, known=hr_known(data.roster)), m)
    groups = team_groups(roster)
    shown = {m: cells(m) for m in dict.fromkeys((measure, *ALERT_MEASURES))}
    return OrgAudit(plan, measure, shown[measure], groups, {m: shown[m] for m in ALERT_MEASURES})


def team_groups(roster: pd.DataFrame) -> dict:
    """Each team's distinct (role, value) pairs, then (site, value) pairs, each sorted: the
    sub-groups a lead's page asks the audit about.  One sort of the distinct pairs, not a
    groupby and two sorts per team (thousands of teams)."""
    groups: dict = {}
    for g in ("role", "site"):
        pairs = roster[["team", g]].dropna().drop_duplicates()
        # values as objects: a categorical column would sort by its categories' order
        pairs = pairs.assign(team=pairs["team"].astype(str), **{g: pairs[g].astype(object)})
        pairs = pairs.sort_values(["team", g], kind="stable")
        for team, v in zip(pairs["team"].tolist(), pairs[g].tolist()):
            groups.setdefault(team, []).append((g, v))
    return {team: tuple(groups.get(team, ())) for team in map(str, roster["team"].dropna().unique())}


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
    # "what is driving it" (workplace causes) apart from "what the team reports"
    # (its answers): risk.team_causes / team_symptoms, shown under the drivers' privacy rule
    causes: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    symptoms: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)

    @property
    def heatmap_rows(self) -> str | None:
        """The heatmap's row column: "helper", "role" or "site" (None: no heatmap)."""
        return "helper" if self.heatmap_kind == "helpers" else self.heatmap_kind

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

    def causes_table(self, notes: pd.DataFrame | None = None) -> pd.DataFrame:
        """What is driving the team's risk, ranked; each with its suggested first
        step and the team's action notes about it (``notes``: store.notes.action_notes)."""
        return causes_display(self.causes, notes)

    def symptoms_table(self) -> pd.DataFrame:
        return symptoms_display(self.symptoms)


def causes_display(causes: pd.DataFrame, notes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Workplace causes as shown: points added, share for whom it is a top driver,
    suggested first step, and how many action notes are linked to it."""
    if causes is None or causes.empty:
        return pd.DataFrame(columns=["Workplace factor", "Adds to risk (points, team average)",
                                     "A top driver for (% of people)", "Suggested first step", "Action notes"])
    linked = {}
    if notes is not None and len(notes) and "link_kind" in notes:
        d = notes[notes["link_kind"] == "driver"]
        linked = d.groupby("link_ref")["status"].apply(
            lambda st: ", ".join(f"{n} {k}" for k, n in st.value_counts().sort_index().items())).to_dict()
    return pd.DataFrame({
        "Workplace factor": causes["label"].to_numpy(),
        "Adds to risk (points, team average)": causes["points"].round(1).to_numpy(),
        "A top driver for (% of people)": (100 * causes["helpers_with_driver"] / causes["helpers"]).round(0).to_numpy(),
        "Suggested first step": causes["action"].to_numpy(),
        "Action notes": [linked.get(t, "none yet") for t in causes["notes_topic"]],
    })


def symptoms_display(symptoms: pd.DataFrame) -> pd.DataFrame:
    if symptoms is None or symptoms.empty:
        return pd.DataFrame(columns=["What people report", "Adds to risk (points, team average)",
                                     "Among their own top three (% of people)"])
    return pd.DataFrame({
        "What people report": symptoms["label"].to_numpy(),
        "Adds to risk (points, team average)": symptoms["points"].round(1).to_numpy(),
        "Among their own top three (% of people)":
            (100 * symptoms["helpers_with_driver"] / symptoms["helpers"]).round(0).to_numpy(),
    })


def causes_and_symptoms(people: pd.DataFrame, drivers: pd.DataFrame, weights=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """risk.team_causes / team_symptoms over the people with a risk estimate, only
    where the team's drivers could be shown (the same people, the same privacy rule:
    ``drivers`` is tables.team_drivers' result, empty when hidden)."""
    if drivers is None or drivers.empty:
        return pd.DataFrame(), pd.DataFrame()
    df = people[people["risk_score"].notna()]
    return risk.team_causes(df, weights), risk.team_symptoms(df, weights)


def team_roster(data: OrgData, team: str) -> pd.DataFrame:
    r = active_roster(data.roster, data.as_of)
    return r[r["team"] == team]


def team_view(engine: Engine, viewer: Mapping, team: str | None = None, *, data: OrgData | None = None,
              measure: str = "pulse_strain", window_weeks: int = 4) -> TeamView:
    """What ``viewer`` (a lead) sees for ``team`` (default: their own); PermissionError otherwise."""
    team = team or viewer.get("team_id")
    if not privacy.can_view_team(viewer, team):
        raise PermissionError("this team is not yours to view")
    return build_team_view(data or load_data(engine), team, measure, window_weeks)


def build_team_view(data: OrgData, team: str, measure: str = "pulse_strain", window_weeks: int = 4,
                    org: OrgAudit | None = None) -> TeamView:
    """:func:`team_view` once the viewer may see ``team``: what every lead of the team
    sees, the same for all of them (the page caches it per team, see ui/common.py).
    ``org``: the organisation's audit (:func:`org_audit`); required when ``data`` holds
    one team only, as the HR review's audit covers the whole organisation."""
    min_n = data.min_n
    troster = team_roster(data, team)
    ids, known, basis_label = privacy.lead_basis(troster, min_n)
    people = people_frame(data, window_weeks)
    # the lead reads the HR review too: their figures pass the same joint plan and the HR
    # heatmap's weekly verdicts (disclosure.lead_allows), else HR's figures minus the lead's
    # could describe private helpers here or in another team
    if org is None:
        org = org_audit(data, measure, window_weeks)
    elif org.measure != measure:
        raise ValueError(f"the organisation's audit is of {org.measure}, not {measure}")
    plan = org.plan
    people = people[people["team"] == team]
    basis_people = people[people["helper_id"].isin(ids)]
    consenting = troster[troster["consent_lead_view"].astype(bool)]
    n_private = len(troster) - len(consenting)

    series = series_for(data, measure)
    private = set(ids) - set(known)
    weekly = privacy.weekly_aggregate(series, measure, min_n, ids=ids, known=known)
    if private:
        # over private helpers the basis is the whole team, so a week's figure is the HR heatmap's
        # cell of this team that week (the release gate audits each week's cells on their own,
        # whatever the window): shown only where HR shows it, hidden where HR hides it (its other
        # teams' cells and the week's total would give the hidden ones)
        hidden = np.array([org.weekly.get((str(team), w), privacy.COMPLEMENTARY) != privacy.SHOWN
                           for w in weekly["week_start"]], dtype=bool)
        weekly = weekly.copy()
        weekly.loc[hidden, ["mean", "n"]] = [np.nan, pd.NA]
        weekly.loc[hidden & (weekly["status"] == privacy.SHOWN), "status"] = privacy.COMPLEMENTARY
    bands = band_shares(basis_people, None, min_n, known=known, private=private)
    # the bands count who has an estimate, so who did not answer: that count passes the roster audit too
    risk_allowed = disclosure.lead_allows(plan, team, private, disclosure.count_of("risk_score"))
    if not risk_allowed:
        bands = privacy.hide_all(bands)

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
            sup = weekly_by(recent, troster, g, measure, min_n, ids=ids, known=known, private=private,
                            plan=plan if private else None, fixed={"team": team})
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

    drivers = team_drivers(basis_people if risk_allowed else basis_people.iloc[:0], min_n, known=known,
                           weights=data.settings.risk_weights, private=private)
    causes, symptoms = causes_and_symptoms(basis_people, drivers, data.settings.risk_weights)
    return TeamView(
        team=team, min_n=min_n, basis_label=basis_label, ids=frozenset(ids),
        known=frozenset(known) if known is not None else None, team_size=len(troster),
        consenting=consenting[["helper_id", "name", "role"]].reset_index(drop=True),
        private_note=privacy.private_count_note(n_private, min_n), measure=measure, weekly=weekly, bands=bands,
        heatmap_kind=heat_kind, heatmap_cells=heat_cells, heatmap_note=heat_note, scatter=scatter,
        alerts=team_alert_rows(data, team, ids, known, min_n,
                               allowed=risk_allowed and disclosure.lead_allows(plan, team, private, "pulse_strain"),
                               org=org),
        helper_alerts=consenting_alerts(data, consenting),
        drivers=drivers,
        participation=participation_table(data, ids, min_n, known=known,
                                          allowed=disclosure.lead_allows(plan, team, private)),
        caseload=team_caseload(data, troster), as_of=data.as_of, causes=causes, symptoms=symptoms)


ALERT_SPAN_WEEKS = 12     # alerts.team_alerts: 4 recent weeks after an 8-week baseline


def team_alert_rows(data: OrgData, team: str, ids, known, min_n: int, allowed: bool = True,
                    org: OrgAudit | None = None) -> pd.DataFrame:
    """Team alerts (burnout.alerts) over the lead's basis; an alert whose windows hold a
    small group of private helpers is left out, as its numbers could describe them, and
    none when the joint plan does not allow the team's figures (``allowed``).

    An alert states the team's weekly means of risk or of weekly strain ("now 47 (6
    respondents)", or a shift of a 4-week mean against the 8 weeks before), so with private
    helpers it is kept only when the HR heatmap of its measure (``org.alert_weekly``) shows
    the team in every week it rests on (``disclosure.weeks_shown``): else that week's mean,
    the lead's own consenting helpers and HR's cells would give a group HR hides."""
    h = data.history
    h = h[h["helper_id"].isin(set(ids))].copy()
    h["team"] = team
    out = alerts.team_alerts(h, min_n)
    s = data.scores
    s = s[s["helper_id"].isin(set(ids)) & s["pulse_strain"].notna()].copy()
    s["team"] = team
    strain = alerts.team_alerts(s, min_n, value_col="pulse_strain", label="average weekly strain")
    measure_of = ["risk_score"] * len(out) + ["pulse_strain"] * len(strain)
    out = pd.concat([out, strain], ignore_index=True)
    if not allowed:
        return out.iloc[:0]
    if out.empty or known is None:
        return out
    private = set(ids) - set(known)
    if not private:
        return out
    verdicts = org.alert_weekly if org is not None else {}
    own = [c for c in alerts.SELF_REPORT_COLUMNS if c in h]
    # the weeks each measure holds answers of the basis (a risk resting on caseloads only is no respondent)
    answered = {"risk_score": set(pd.to_datetime(h.loc[h[own].notna().any(axis=1) & h["risk_score"].notna(),
                                                       "week_start"])),
                "pulse_strain": set(pd.to_datetime(s["week_start"]))}
    keep = []
    for i, a in out.iterrows():
        end = pd.Timestamp(a["week_start"])
        m = measure_of[i]
        span = ALERT_SPAN_WEEKS if a["kind"] in ("rise", "fall") else 3     # a band held 2 weeks, and the one before
        weeks = {w for w in answered[m] if end - pd.Timedelta(weeks=span) < w <= end}
        if not disclosure.weeks_shown(verdicts.get(m), team, weeks):
            keep.append(False)
            continue
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


# --------------------------------------------------------------------------- worklist

# Workplace drivers only: the worklist points a lead at what the organisation can change,
# never at a helper's own answers (those are the reason to talk, not the thing to fix).
WORKPLACE_DRIVERS = ("caseload", "acuity", "trauma", "incidents", "overtime", "mismatch", "missed_checkins",
                     "trend")
DRIVER_WORDS = {
    "caseload": "caseload above the role's standard", "acuity": "many high-acuity cases",
    "trauma": "frequent trauma exposure", "incidents": "recent critical incidents",
    "overtime": "overtime hours", "mismatch": "cases outside their specialty",
    "missed_checkins": "fewer check-ins lately", "trend": "strain rising over recent weeks",
}
NEXT_STEPS = {
    "caseload": "Offer a conversation about caseload; look at pausing new allocations or moving cases.",
    "acuity": "Talk about case mix; share the high-acuity cases more evenly across the team.",
    "trauma": "Offer a debrief and reflective supervision; space out trauma-heavy contacts.",
    "incidents": "Offer a debrief after the incident and check they had time to recover.",
    "overtime": "Ask what is driving the extra hours and agree what can wait or move.",
    "mismatch": "Talk about the cases outside their specialty; reallocate or add supervision.",
    "missed_checkins": "A friendly check-in conversation about how the work is going; no pressure to answer.",
    "trend": "A supportive conversation about what changed in their work lately.",
    None: "A supportive conversation about workload and support.",
}
RISE_WEEKS = 4        # "recent rise" = change in risk score over this many weeks
HIGH_WINDOW = 12      # weeks looked back for "weeks in the high band"


def worklist(data: OrgData, team: str, sort: str = "risk") -> pd.DataFrame:
    """Who may need a conversation: the team's helpers who share their results with the lead.

    One row per sharing helper: risk score and band, the rise over RISE_WEEKS weeks, the
    top workplace driver (risk.driver_components, workplace components only), caseload
    against the role standard, weeks in the high band of the last HIGH_WINDOW, and a plain
    suggested next step.  Sorted by risk (band, then score, then rise) or, with
    ``sort="rise"``, by the recent rise.  Helpers who keep their results private never
    appear here; they are covered by the group figures only.
    """
    troster = team_roster(data, team)
    consenting = troster[troster["consent_lead_view"].astype(bool)]
    cols = ["helper_id", "Helper", "Risk score", "Risk band", f"Change over {RISE_WEEKS} weeks",
            "Top workplace driver", "Caseload vs standard", f"Weeks in high band (last {HIGH_WINDOW})",
            "Suggested next step", "driver"]
    if consenting.empty:
        return pd.DataFrame(columns=cols)
    people = people_frame(data)
    people = people[people["helper_id"].isin(set(consenting["helper_id"]))].copy()
    h = data.history[data.history["helper_id"].isin(set(consenting["helper_id"]))]
    rise, high_weeks = {}, {}
    for hid, g in h.sort_values("week_start").groupby("helper_id"):
        g = g[g["risk_score"].notna()]
        if g.empty:
            continue
        end = pd.Timestamp(g["week_start"].iloc[-1])
        before = g[pd.to_datetime(g["week_start"]) <= end - pd.Timedelta(weeks=RISE_WEEKS)]
        rise[hid] = float(g["risk_score"].iloc[-1] - before["risk_score"].iloc[-1]) if len(before) else np.nan
        recent = g[pd.to_datetime(g["week_start"]) > end - pd.Timedelta(weeks=HIGH_WINDOW)]
        high_weeks[hid] = int((recent["risk_band"] == measures.RISK_BANDS[-1].label).sum())
    ranked = risk.driver_components(people, data.settings.risk_weights, top=len(risk.NAMES))
    people["driver"] = [next((d for d in names if d in WORKPLACE_DRIVERS), None) for names in ranked]
    people["rise"] = people["helper_id"].map(rise)
    people["high_weeks"] = people["helper_id"].map(high_weeks).fillna(0).astype(int)
    band_rank = {b.label: i for i, b in enumerate(measures.RISK_BANDS)}
    people["band_rank"] = people["risk_band"].map(band_rank).fillna(-1)
    keys = (["rise", "band_rank", "risk_score"] if sort == "rise" else ["band_rank", "risk_score", "rise"])
    people = people.sort_values(keys, ascending=False, na_position="last")
    return pd.DataFrame({
        "helper_id": people["helper_id"], "Helper": people["name"],
        "Risk score": people["risk_score"].round(0), "Risk band": people["risk_band"],
        f"Change over {RISE_WEEKS} weeks": people["rise"].round(0),
        "Top workplace driver": people["driver"].map(lambda d: DRIVER_WORDS.get(d, "none stands out")),
        "Caseload vs standard": (people["caseload_ratio"] * 100).round(0).map(
            lambda v: f"{v:.0f} %" if pd.notna(v) else "no caseload data"),
        f"Weeks in high band (last {HIGH_WINDOW})": people["high_weeks"],
        "Suggested next step": people["driver"].map(lambda d: NEXT_STEPS.get(d, NEXT_STEPS[None])),
        "driver": people["driver"],
    })[cols].reset_index(drop=True)


def sharing_summary(view: TeamView) -> str:
    """How many helpers share, in one plain sentence for the top of the lead's page."""
    return sharing_sentence(len(view.consenting), view.team_size, view.min_n)


def sharing_sentence(n_share: int, n_all: int, min_n: int, covered: str = "The list below") -> str:
    """"4 of 12 helpers … share …; figures about the other 8 are group-level only": the
    team page and the helper detail page say it in the same words.  The count is no
    secret from the lead, who sees the sharing helpers by name and the whole team's
    caseloads."""
    return (f"{n_share} of {n_all} helpers in your team share their individual results with you. "
            f"{covered} covers only them; figures about the other {n_all - n_share} are group-level only, "
            f"shown when {min_n} or more people answered.")


# --------------------------------------------------------------------------- action follow-up

FOLLOW_UP_WEEKS = 6


def team_caseload_ratio(data: OrgData, team: str) -> pd.DataFrame:
    """week_start, ratio: the team's active cases over the sum of their role standards
    (operational data, shown for everyone in the team)."""
    troster = team_roster(data, team)
    cl = data.caseload[data.caseload["helper_id"].isin(set(troster["helper_id"]))]
    cl = cl.merge(troster[["helper_id", "caseload_standard"]], on="helper_id")
    g = cl.groupby("week_start").agg(cases=("active_cases", "sum"), std=("caseload_standard", "sum"))
    return pd.DataFrame({"week_start": pd.to_datetime(g.index), "ratio": (g["cases"] / g["std"]).to_numpy()})


def _window_mean(frame: pd.DataFrame, col: str, start, end) -> float:
    w = pd.to_datetime(frame["week_start"])
    part = frame[(w >= start) & (w < end)][col].dropna()
    return float(part.mean()) if len(part) else np.nan


def action_follow_up(data: OrgData, view: TeamView, notes: pd.DataFrame,
                     weeks: int = FOLLOW_UP_WEEKS) -> dict[int, str]:
    """note id -> "caseload 144 % → 108 %, strain 61 → 52 over 6 weeks" for each done action,
    on the lead's page: strain from the team's weekly means the lead may see."""
    return follow_up(data, view.team, view.weekly if view.measure == "pulse_strain" else None, notes, weeks)


def follow_up(data: OrgData, team: str, strain: pd.DataFrame | None, notes: pd.DataFrame,
              weeks: int = FOLLOW_UP_WEEKS) -> dict[int, str]:
    """note id -> "caseload 144 % → 108 %, strain 61 → 52 over 6 weeks" for each done action.

    Before = the ``weeks`` weeks before the note was written; after = up to ``weeks`` weeks
    from when it was done.  ``strain``: the team's weekly strain means as the reader's gate
    released them (week_start, mean, status; hidden weeks are never used), or None;
    caseload is operational.
    """
    if notes.empty:
        return {}
    return follow_up_on(team_caseload_ratio(data, team), data.as_of, strain, notes, weeks)


def follow_up_on(ratio: pd.DataFrame, as_of, strain: pd.DataFrame | None, notes: pd.DataFrame,
                 weeks: int = FOLLOW_UP_WEEKS) -> dict[int, str]:
    """:func:`follow_up` from the team's caseload ratio (:func:`team_caseload_ratio`) and
    the week the data run up to, which the team page keeps from its cached build."""
    out: dict[int, str] = {}
    if notes.empty:
        return out
    if strain is not None and "status" in strain:
        strain = strain[strain["status"] == privacy.SHOWN]
    span = pd.Timedelta(weeks=weeks)
    for n in notes.itertuples():
        if getattr(n, "status", None) != "done":
            continue
        start = pd.Timestamp(n.created_at).normalize()
        done = pd.Timestamp(n.done_on) if pd.notna(n.done_on) else start
        parts = []
        c0, c1 = _window_mean(ratio, "ratio", start - span, start), _window_mean(ratio, "ratio", done, done + span)
        if pd.notna(c0) and pd.notna(c1):
            parts.append(f"caseload {c0 * 100:.0f} % → {c1 * 100:.0f} %")
        if strain is not None:
            s0, s1 = _window_mean(strain, "mean", start - span, start), _window_mean(strain, "mean", done, done + span)
            if pd.notna(s0) and pd.notna(s1):
                parts.append(f"strain {s0:.0f} → {s1:.0f}")
        if parts:
            after_weeks = min(weeks, max(1, int(((as_of or done) - done).days // 7)))
            out[int(n.note_id)] = ", ".join(parts) + f" over {after_weeks} weeks"
        else:
            out[int(n.note_id)] = "Not enough weeks of data yet to compare before and after."
    return out


ACTION_PLAN_COLUMNS = ("Status", "You said", "We did", "Owner", "Due by", "Done on", "About", "Before → after")


def link_words(kind, ref) -> str:
    """"driver: caseload above the role's standard" / "alert: …" / "" for an action's link."""
    if not ref or pd.isna(ref):
        return ""
    kind = kind if isinstance(kind, str) and kind else "driver"
    return f"{kind}: {DRIVER_WORDS.get(ref, ref) if kind == 'driver' else ref}"


def action_plan(notes: pd.DataFrame, follow: Mapping[int, str]) -> pd.DataFrame:
    """The team's action plan as one table (for exports): each note with its owner, dates,
    status, what it is about and, once done, the measure before and after."""
    def day(v) -> str:
        return f"{pd.Timestamp(v):%Y-%m-%d}" if v is not None and pd.notna(v) else ""
    rows = [(str(n.status or "planned"), n.you_said, n.we_did or "", n.owner or "", day(n.due_on), day(n.done_on),
             link_words(n.link_kind, n.link_ref), follow.get(int(n.note_id), ""))
            for n in notes.itertuples()]
    return pd.DataFrame(rows, columns=list(ACTION_PLAN_COLUMNS))


# --------------------------------------------------------------------------- the page, built once

HEATMAP_WEEKS = (8, 12, 26)     # the heatmap's choices of weeks shown, besides all of them


@dataclasses.dataclass(frozen=True)
class TeamPage:
    """What the lead's team page draws for one team and measure: the view, its charts
    (frozen, see charts.freeze) and the tables beside them as shown.  Built once per
    change in the team (ui/common.team_page) and shared, read-only, by every session of
    the team's leads, so a rerun only draws it."""
    view: TeamView
    bands_chart: charts.FrozenFigure
    bands_table: pd.DataFrame
    trend_chart: charts.FrozenFigure
    trend_table: pd.DataFrame | None
    scatter_chart: charts.FrozenFigure | None
    scatter_table: pd.DataFrame | None
    participation_chart: charts.FrozenFigure
    participation_table: pd.DataFrame | None
    symptoms_table: pd.DataFrame
    caseload_ratio: pd.DataFrame      # team_caseload_ratio, for the action notes' before and after
    heatmap_weeks: tuple              # the choices of weeks shown; the last is all of them (0: no weeks)

    @property
    def heatmap_default(self) -> int:
        return 12 if 12 in self.heatmap_weeks else self.heatmap_weeks[-1]

    def follow_up(self, notes: pd.DataFrame) -> dict[int, str]:
        """:func:`action_follow_up` from what the page already holds."""
        v = self.view
        return follow_up_on(self.caseload_ratio, v.as_of, v.weekly if v.measure == "pulse_strain" else None, notes)


def team_page(data: OrgData, team: str, measure: str = "pulse_strain", org: OrgAudit | None = None) -> TeamPage:
    """The lead's page for ``team`` (see :class:`TeamPage`); the caller checked the viewer
    may see the team (:func:`team_view`).  ``org``: see :func:`build_team_view`."""
    view = build_team_view(data, team, measure, org=org)
    min_n = view.min_n
    scatter = None
    if len(view.scatter):
        ycol = view.scatter_measure
        scatter = charts.freeze(charts.pressure_scatter(
            view.scatter, y=ycol, title="Caseload and " + measures.label(ycol).split(" (")[0].lower(),
            subtitle="Helpers who share their results with you. Tap or hover over a dot to see whose it is; "
                     "the table lists them all."))
    n_weeks = pd.to_datetime(view.heatmap_cells["week_start"]).nunique() if len(view.heatmap_cells) else 0
    return TeamPage(
        view=view,
        bands_chart=charts.freeze(charts.risk_distribution(
            view.bands.table, None, title="Share in each risk band, among the helpers counted above")),
        bands_table=for_screen(view.bands_table()),
        trend_chart=charts.freeze(charts.team_trend(view.weekly, measure, min_n,
                                                    title=f"{TREND_MEASURES[measure]}: weekly team mean")),
        trend_table=for_screen(view.trend_table()) if len(view.weekly) else None,
        scatter_chart=scatter, scatter_table=for_screen(view.scatter_table()) if scatter is not None else None,
        participation_chart=charts.freeze(charts.participation(
            view.participation, "Share of the team who checked in each week", min_n=min_n,
            y_label="% of helpers in the team who answered")),
        participation_table=for_screen(view.participation_table()) if len(view.participation) else None,
        symptoms_table=for_screen(view.symptoms_table()), caseload_ratio=team_caseload_ratio(data, team),
        heatmap_weeks=tuple([w for w in HEATMAP_WEEKS if w < n_weeks] + [n_weeks]) if n_weeks else (0,))


def team_heatmap(view: TeamView, weeks: int) -> tuple[charts.FrozenFigure, pd.DataFrame]:
    """The heatmap of the last ``weeks`` weeks (0: all) and its table as shown."""
    cells = view.heatmap_cells
    if weeks and len(cells):
        keep = sorted(pd.to_datetime(cells["week_start"]).unique())[-int(weeks):]
        cells = cells[pd.to_datetime(cells["week_start"]).isin(keep)]
    fig = charts.heatmap(cells, view.heatmap_rows, measure=view.measure, min_n=view.min_n,
                         title=f"{TREND_MEASURES[view.measure]} by {view.heatmap_rows} and week")
    return charts.freeze(fig), for_screen(view.heatmap_table(cells))
