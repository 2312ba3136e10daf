"""The attacker's test through everything a reader class receives (issue 10, point 4).

A small organisation (teams of 5 to 10, odd roles and sites of 1 to 3 people, helpers who
skip weeks, some helpers sharing with their lead).  The attacker collects every figure:

- HR: the organisation review page through AppTest (every table, including the tables
  behind the charts) under each answers window, weekly measure and site filter; the
  organisation and every one-team report from the CLI as XLSX (``report --format xlsx``)
  and as PDF (``report --format pdf``, whose text must carry only the workbook's figures);
- each lead: their team page through AppTest under each weekly measure, knowing their
  consenting helpers' own values;
- and, since HR material reaches managers, HR and every lead together, with every
  consenting helper known.

Beyond the roll-ups and weekly tables, the attacker also reads: clients who would lose their
helper by kind of team (a sum over the shown teams of each kind, or the teams not shown);
what is driving risk and what people report (each factor's points and top-three share per
group: one unknown per person and factor, over the people with a risk estimate); the what-if
scenario and each lever alone (one unknown per person; the caseload cap's figures sum over
the helpers above their role standard only, who are known from caseloads); the headline
metrics; how the risk model was checked (leavers, helper-years and hold-out figures: rows over
the whole organisation); the weekly risk heatmap (one variable per person and week); and every
number in the plotly figures sent to the browser (y, z, customdata, hover text in
``proto.spec``), each of which must be a figure of a table the same page shows (so it is
already a row of the system).  burnout.alerts fires on none of these small organisations, so
every team alert of risk and of weekly strain that could fire is made to fire
(:func:`every_alert_fires`) and the leads read the ones the gate lets through.

Every figure becomes a row over the values it sums: one variable per person and week for
answers (a recent figure sums its group's answers over the window's weeks, a weekly cell
one week's), one per person for the latest risk, bands and turnover, and one per person
and period for counts of who answered.  A person or a group of 1 to 4 people outside the
known is *determined* when the sum of their values in one week, in one window or in the
latest estimate lies in the row space of the rows: orthogonal to its null space (SVD), tested
against eight random vectors of it (a miss has probability zero), exhaustive over sets of people.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from burnout import alerts, auth, cli, disclosure, privacy, selfservice, turnover
from burnout.checkin import escape_md
from burnout.domain import measures
from burnout.domain.settings import team_kind_label
from burnout.export import pdf as pdf_export
from burnout.export.xlsx import to_xlsx
from burnout.store import frames
from burnout.views.data import BAND_COLUMNS, BANDS, ROLLUP_MEASURES, TREND_MEASURES, load_data, people_frame
from burnout.views.review import build_review

from conftest import ROOT
from helpers import decode, determined_sets, null_space, pdf_text, small_org, xlsx_cells

MIN_N = 5
PASSWORD = "attack-password-1234"
SCORE_MEASURES = [m for m in ROLLUP_MEASURES if m not in ("risk_score", "caseload_ratio")]
LATEST = "latest"
WEEKLY_RISK = "risk_week"     # the weekly risk (a heatmap cell, an alert): one variable per person and week
WINDOWS = (4, 8)
LABELS = {**{label: col for col, label in ROLLUP_MEASURES.items()},
          **{measures.label(m): m for m in TREND_MEASURES},
          **{f"{b.capitalize()} risk (%)": c for b, c in zip(BANDS, BAND_COLUMNS)}}
TURNOVER_HEADS = ("Expected leavers per year", "Of which attributable to burnout",
                  "Expected turnover cost per year ($)", "Burnout-attributable cost per year ($)",
                  "Clients who would lose their helper", "Estimated burnout prevalence (%)")


def number(v) -> bool:
    """A shown figure (pages show mixed columns as text: "45.3", "fewer than 5", "")."""
    if isinstance(v, bool) or v is None:
        return False
    if isinstance(v, (int, float, np.integer, np.floating)):
        return not pd.isna(v)
    try:
        float(str(v).replace(",", ""))
        return True
    except ValueError:
        return False


class Released:
    """Every figure one reader class holds: (measure, period, conditions) per figure."""

    def __init__(self, weeks, capped=(), kinds=None):
        self.weeks = list(weeks)          # the data's weeks, oldest first
        self.rows: dict = defaultdict(list)
        self.capped = set(capped)         # helpers above their role standard (the cap moves only theirs)
        self.kinds = dict(kinds or {})    # team -> kind of team
        self.chart_misses: list = []      # chart numbers no table of the same page shows
        self.extra = 0                    # figures read from the views added in this pass
        self.alerts_read = 0              # team alerts read off a lead's page

    def window(self, w: int) -> tuple:
        return tuple(self.weeks[-w:])

    def add(self, measure: str, period, cond: dict) -> None:
        self.rows[measure].append((period, dict(cond)))

    def rollup(self, df: pd.DataFrame, fixed: dict, window: int) -> None:
        """A roll-up table (first column the group: Team, Role, Site or Scope)."""
        dim = str(df.columns[0]).lower()
        for _, r in df.iterrows():
            cond = dict(fixed)
            if str(r.iloc[0]) != privacy.TOTAL and dim in ("team", "role", "site"):
                cond[dim] = str(r.iloc[0])
            risk_counts = any(str(c).endswith("risk (%)") for c in df.columns)
            for name, v in r.iloc[1:].items():
                if not number(v):
                    continue
                if name == "People with a risk estimate" or (name == "People" and risk_counts):
                    self.add("n:risk", LATEST, cond)      # bands and turnover count who has a risk
                elif name == "People":
                    self.add("n", ("window", window), cond)
                elif name in TURNOVER_HEADS:
                    self.add("turnover", LATEST, cond)
                elif name in LABELS:
                    col = LABELS[name]
                    self.add(col, self.window(window) if col in SCORE_MEASURES else LATEST, cond)

    def weekly(self, df: pd.DataFrame, fixed: dict, measure: str) -> None:
        """A group x week table (Week starting, the group, the measure, People)."""
        group = [c for c in df.columns if c not in ("Week starting", "People", measures.label(measure))]
        name = WEEKLY_RISK if measure == "risk_score" else measure
        for _, r in df.iterrows():
            week = pd.Timestamp(r["Week starting"])
            cond = dict(fixed)
            if group and str(r[group[0]]) != privacy.TOTAL:
                cond[str(group[0]).lower()] = str(r[group[0]])
            if number(r.get(measures.label(measure))):
                self.add(name, (week,), cond)
            if number(r.get("People")):
                self.add(f"n:{name}", week, cond)

    def alert(self, fired: dict, message: str, basis: dict) -> None:
        """A team alert the lead's page shows (``fired``: message -> (measure, kind, week), as
        :func:`every_alert_fires` made them).  A band alert states the basis' weekly mean and
        respondents in its week; a shift states the mean over the 4 recent weeks and the 8
        before, and the respondents of each (a mean of each person's own mean: with the same
        weeks answered by everyone, the group's sum over the weeks, which is the row here)."""
        measure, kind, week = fired[message]
        name = WEEKLY_RISK if measure == "risk_score" else measure
        self.extra += 1
        self.alerts_read += 1
        if kind in ("band_up", "band_down"):
            self.add(name, (week,), basis)
            self.add(f"n:{name}", week, basis)
            return
        recent = tuple(w for w in self.weeks if week - pd.Timedelta(weeks=4) < w <= week)
        before = tuple(w for w in self.weeks if week - pd.Timedelta(weeks=12) < w <= week - pd.Timedelta(weeks=4))
        for part, weeks in (("recent", recent), ("baseline", before)):
            self.add(name, weeks, basis)
            self.add("n", ("window", f"alert {name} {part} to {week.date()}"), basis)

    def model_check(self, df: pd.DataFrame) -> None:
        """How the risk model was checked (Figure / Value): leavers and helper-years on record,
        and the hold-out figures, each over the whole organisation's estimates."""
        for _, r in df.iterrows():
            if number(r["Value"]):
                self.extra += 1
                self.add("model_check", LATEST, {})

    def factors(self, df: pd.DataFrame, fixed: dict, group_dim: str | None) -> None:
        """What is driving risk / what people report: per factor, its mean points over a group's
        people with a risk estimate ("All: adds", "Adds to risk", or a group's own column) and
        the share for whom it is among their top drivers (an indicator per person)."""
        for _, r in df.iterrows():
            factor = str(r.iloc[0])
            for col, v in r.iloc[1:].items():
                col = str(col)
                if not number(v):
                    continue
                self.extra += 1
                if col.startswith(("All:", "Adds to risk")):
                    self.add(f"points:{factor}", LATEST, fixed)
                elif col.startswith(("A top driver", "Among their own")):
                    self.add(f"top:{factor}", LATEST, fixed)
                elif group_dim:
                    self.add(f"points:{factor}", LATEST, {**fixed, group_dim: col})

    def scope(self, measure: str, cond: dict, cap: bool = False) -> None:
        """A what-if figure: a sum over the scope, or (the cap) over its helpers above standard."""
        self.extra += 1
        if cap:
            self.add("what_if:cap", LATEST, {**cond, "helper_id": sorted(self.capped)})
        else:
            self.add(measure, LATEST, cond)

    def what_if(self, df: pd.DataFrame, cond: dict, cap_applied: bool) -> None:
        """The scenario's Figure / Value / Range table."""
        for _, r in df.iterrows():
            if str(r["Figure"]) == "Helpers in scope":
                continue
            if number(r["Value"]) or re.search(r"\d", str(r.get("Range", ""))):
                self.scope("what_if", cond)
                if cap_applied:
                    self.scope("what_if", cond, cap=True)

    def levers(self, df: pd.DataFrame, cond: dict) -> None:
        for _, r in df.iterrows():
            if any(number(v) for v in r.iloc[1:]):
                self.scope("what_if", cond, cap=bool(re.search("capped|together", str(r["Lever"]))))

    def clients(self, df: pd.DataFrame, shown_teams: set) -> None:
        """Clients who would lose their helper by kind of team: the shown teams of each kind,
        and one line for the teams not shown."""
        for _, r in df.iterrows():
            if not number(r["Would lose their helper per year"]):
                continue
            label = str(r["Kind of team"])
            if label.startswith("Teams not shown"):
                teams = sorted(set(self.kinds) - shown_teams)
            else:
                teams = sorted(t for t in shown_teams if team_kind_label(self.kinds.get(t)) == label
                               or (label == "Other" and not isinstance(self.kinds.get(t), str)))
            assert teams, f"no team of the kind {label!r}"
            self.extra += 1
            self.add("turnover", LATEST, {"team": teams})

    def participation(self, df: pd.DataFrame, fixed: dict) -> None:
        for _, r in df.iterrows():
            if number(r["Checked in (%)"]):
                self.add("n:any", pd.Timestamp(r["Week starting"]), fixed)


# --------------------------------------------------------------------------- the organisation

# seed 5: the organisation where HR plus other teams' leads once singled out a team of 4's
# private helpers (HR now hides every team's weeks there, as HR counts the two sharing
# helpers per team as known); the larger one, with one sharing helper per team, has weeks HR
# shows, so the leads' figures over private helpers are really tested
@pytest.fixture(scope="module", params=[(26, 5, 2, False), (48, 9, 1, True)], ids=["leak-org", "larger-org"])
def org(request, tmp_path_factory):
    helpers, seed, sharing, hr_shows_weeks = request.param
    folder = tmp_path_factory.mktemp("readers")
    engine = small_org(folder, helpers=helpers, weeks=14, seed=seed)
    roster = frames.roster(engine)
    # ``sharing`` helpers per team share with their lead
    for _, team in roster.groupby("team"):
        for hid in team["helper_id"].iloc[:sharing]:
            selfservice.set_consent(engine, hid, True, actor=hid)
    auth.create_user(engine, "attack-hr", PASSWORD, "hr")
    leads = {}
    for i, team in enumerate(sorted(roster["team"].unique())):
        leads[team] = f"attack-lead-{i}"
        auth.create_user(engine, leads[team], PASSWORD, "lead", team=team)
    return {"engine": engine, "url": str(engine.url), "leads": leads, "hr_shows_weeks": hr_shows_weeks}


def _page(name: str, org, username: str, monkeypatch) -> AppTest:
    from burnout.ui.common import now

    monkeypatch.setenv("BURNOUT_DATABASE_URL", org["url"])
    monkeypatch.setenv("BURNOUT_DEMO", "0")
    at = AppTest.from_file(str(ROOT / "burnout" / "ui" / f"{name}.py"), default_timeout=120)
    at.session_state["user"] = auth.authenticate(org["engine"], username, PASSWORD)
    at.session_state["last_seen"] = now()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _frames(at: AppTest) -> list[pd.DataFrame]:
    return [el.value for el in at.dataframe]


def _shown_teams(df: pd.DataFrame) -> set:
    return {str(t) for t, v in zip(df["Team"], df["Expected leavers per year"]) if number(v)}


def _cap_applied(texts) -> bool:
    """The scenario's sentence says whether the caseload cap is in its figures."""
    said = [t for t in texts if str(t).startswith("Scenario:")]
    assert said, "the what-if says its scenario"
    return any("caseloads capped" in t and "not applied" not in t for t in said)


def _hr_page_tables(at: AppTest, got: Released, fixed: dict, window: int, measure: str) -> None:
    shown_teams = set()
    for df in _frames(at):
        cols = list(df.columns)
        if cols[:1] == ["Team"] and "Expected leavers per year" in cols:
            shown_teams = _shown_teams(df)
        if cols[:1] == ["Kind of team"]:
            got.clients(df, shown_teams)
        elif cols[:1] == ["Figure"] and "Range" in cols:
            got.what_if(df, {}, _cap_applied([c.value for c in at.caption]))
        elif cols[:1] == ["Lever"]:
            got.levers(df, {})
        elif cols == ["Figure", "Value"]:
            got.model_check(df)
        elif "Week starting" in cols and "Checked in (%)" in cols:
            got.participation(df, {})
        elif "Week starting" in cols:
            got.weekly(df, {}, measure)
        elif cols and str(cols[0]) in ("Team", "Role", "Site", "Scope") and (
                "People" in cols or any(c in cols for c in TURNOVER_HEADS)):
            # the roll-ups obey the site filter; bands and turnover are the organisation's
            got.rollup(df, fixed if "People" in cols and any(c in LABELS for c in cols[2:])
                       and not any(c.endswith("risk (%)") for c in cols) else {}, window)


def _hr_metrics(at: AppTest, got: Released) -> None:
    """The headline and what-if metrics ("about 5.5"): the scope's turnover and scenario."""
    for m in at.metric:
        if m.label == "Active helpers" or not re.search(r"\d", str(m.value)):
            continue
        got.scope("what_if" if m.label in ("Leavers avoided a year", "Cost saved a year",
                                           "Clients spared a change of helper", "Return on investment")
                  else "turnover", {})


NUMBER = re.compile(r"(?<![\d-])\d[\d,]*(?:\.\d+)?")     # unsigned; not the parts of a date


def _chart_numbers(at: AppTest) -> list:
    """Every number in the plotly figures as sent to the browser: data arrays, custom data
    and hover text (traces drawn without hover, e.g. the grey "no score" mask, and the grey
    bars of hidden weeks carry none),
    as (array, value, whether the trace draws the what-if scenario)."""
    out = []
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        for tr in spec.get("data", []):
            if tr.get("hoverinfo") in ("skip", "none") or str(tr.get("name", "")).startswith("hidden"):
                continue          # no figure: a mask, or hidden weeks drawn as full grey bars
            scenario = bool(re.search("scenario|Saved by", json.dumps({k: tr.get(k) for k in ("x", "hovertemplate",
                                                                                            "name")})))
            for key in ("x", "y", "z", "customdata", "text", "hovertext"):
                if key not in tr:
                    continue
                vals = np.asarray(decode(tr[key]), dtype=object).ravel().tolist()
                for v in vals:
                    if isinstance(v, (list, tuple)):
                        vals.extend(v)
                        continue
                    if v is None or isinstance(v, bool):
                        continue
                    if isinstance(v, str):
                        if re.match(r"\d{4}-\d\d-\d\d", v):
                            continue          # a week on the axis
                        out += [(key, float(t.replace(",", "")), scenario) for t in NUMBER.findall(v)]
                    elif not pd.isna(v):
                        out.append((key, abs(float(v)), scenario))
    return out


def _page_numbers(at: AppTest) -> list:
    """Every figure the page's tables and metrics show, with its printed precision."""
    out = []
    texts = [str(v) for df in _frames(at) for v in df.astype(object).to_numpy().ravel()]
    texts += [str(m.value) for m in at.metric]
    for t in texts:
        for tok in NUMBER.findall(t):
            x = float(tok.replace(",", ""))
            # a table rounded to whole numbers may still print them as 58.0
            dec = 0 if x == int(x) else len(tok.partition(".")[2])
            out.append((x, 0.5001 * 10 ** -dec))
    return out


def _check_charts(at: AppTest, got: Released, where: str) -> None:
    """A chart may carry only what a table of the page shows (more digits of it, a share as
    a percentage or the other way round): then it adds no row to the system.  The what-if charts also draw the
    scenario's before and after totals: sums over the scope (and the cap's helpers)."""
    table = _page_numbers(at)
    vals = np.array([v for v, _ in table])
    tol = np.array([t for _, t in table])
    scenario = False
    for key, v, in_scenario in _chart_numbers(at):
        if in_scenario:
            scenario = True
            continue
        if v == 0:
            continue          # an empty bar
        # either side may be the rounder one (a table of 30.56 drawn as 30.6, or 58 drawn as 58.3)
        own = 0.5001 * 10 ** -(0 if v == int(v) else len(repr(v).partition(".")[2]))
        if not any(len(vals) and (np.abs(vals - c) <= np.maximum(tol, k * own)).any() for c, k in ((v, 1), (100 * v, 100), (v / 100, 0.01))):
            got.chart_misses.append((where, key, v))
    if scenario:
        got.scope("what_if", {})
        if _cap_applied([c.value for c in at.caption]):
            got.scope("what_if", {}, cap=True)


def _collect_hr_pages(org, got: Released, sites, monkeypatch) -> None:
    """The default page, a longer window, another weekly measure, and each site filter."""
    at = _page("org_review", org, "attack-hr", monkeypatch)
    # the tables beside the charts are sent once their boxes are opened: open every one
    assert len([e for e in at.expander if e.label == "Show as a table"]) == len(HR_TABLE_BOXES)
    for box in HR_TABLE_BOXES:
        at.session_state[box] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    _hr_page_tables(at, got, {}, 4, "pulse_strain")
    _hr_metrics(at, got)
    _check_charts(at, got, "review")
    # the what-if levers: the scenario without the cap, a larger reduction, then with it again
    for key, value in (("rv_cap", False), ("rv_reduction", 25), ("rv_cap", True)):
        (at.checkbox if key == "rv_cap" else at.slider)(key=key).set_value(value).run()
        assert not at.exception, [e.value for e in at.exception]
        _hr_page_tables(at, got, {}, 4, "pulse_strain")
        _hr_metrics(at, got)
        _check_charts(at, got, f"review {key}={value}")
    # the weekly risk too: its cells are what the leads' risk alerts must respect
    steps = [("rv_window", 8, {}), ("rv_measure", "risk_score", {}), ("rv_measure", "burned_out", {})]
    window, measure = 4, "pulse_strain"
    for key, value, _ in steps:
        at.selectbox(key=key).set_value(value).run()
        assert not at.exception, [e.value for e in at.exception]
        window, measure = (value, measure) if key == "rv_window" else (window, value)
        _hr_page_tables(at, got, {}, window, measure)
        _check_charts(at, got, f"review {key}={value}")
    for site in sites:
        at.multiselect(key="rv_sites").set_value([site]).run()
        assert not at.exception, [e.value for e in at.exception]
        _hr_page_tables(at, got, {"site": [site]}, window, measure)


def _section_tables(cells: dict) -> dict:
    """Each section sheet's header and data rows (title, text, note, blank, header...)."""
    out = {}
    for title, rows in cells.items():
        if len(rows) > 4 and rows[4] and rows[4][0] is not None:
            header = [str(h) for h in rows[4]]
            data = [r for r in rows[5:] if any(v is not None for v in r)]
            out[title] = pd.DataFrame(data, columns=header)
    return out


def _workbook(got: Released, data: bytes, fixed: dict) -> dict:
    cells = xlsx_cells(data)
    tables = _section_tables(cells)
    assert tables, "the workbook carries tables"
    shown_teams = set()
    for title, df in tables.items():
        if str(df.columns[0]) == "Team" and "Expected leavers per year" in df.columns:
            shown_teams = _shown_teams(df)
    for title, df in tables.items():
        first = str(df.columns[0])
        if first in ("Workplace factor", "What people report"):
            got.factors(df, fixed, "role" if fixed.get("team") else "team")
        elif first == "Figure" and "Range" in df.columns:
            got.what_if(df, fixed, _cap_applied([cells[title][1][0]]))
        elif first == "Kind of team":
            got.clients(df, shown_teams)
        elif "Week starting" in df.columns and "Checked in (%)" in df.columns:
            got.participation(df, fixed)
        elif "Week starting" in df.columns:
            got.weekly(df, fixed, "pulse_strain")
        elif str(df.columns[0]) in ("Team", "Role", "Site", "Scope"):
            got.rollup(df, fixed, 4)
    return tables


def _collect_cli(org, got: Released, teams, tmp_path, monkeypatch) -> list:
    """The CLI's organisation report as XLSX and PDF and one team's as XLSX; every other
    team's workbook as the page's download makes it (the same Review).  Returns the PDF
    texts with every number of the matching workbook."""
    monkeypatch.setenv("BURNOUT_DATABASE_URL", org["url"])
    monkeypatch.setattr(pdf_export, "_ensure_kaleido", lambda: False)     # tables only: fast
    pdfs = []
    for scope in ("org", f"team:{teams[0]}"):
        team = scope.partition(":")[2] or None
        out = tmp_path / "report.xlsx"
        assert cli.main(["report", "--scope", scope, "--format", "xlsx", "--out", str(out)]) == 0
        _workbook(got, out.read_bytes(), {"team": team} if team else {})
    data = load_data(org["engine"])
    for team in teams:
        review = build_review(org["engine"], f"team:{team}", data=data)
        if team != teams[0]:
            _workbook(got, to_xlsx(review), {"team": team})
        # each team's PDF opens with its summary: each what-if lever over the team
        got.levers(review.summary.levers, {"team": team})
    pdf = tmp_path / "report.pdf"
    assert cli.main(["report", "--scope", "org", "--format", "pdf", "--out", str(pdf)]) == 0
    # the PDF's first page adds the summary (each what-if lever alone: organisation-wide figures)
    org_review = build_review(org["engine"], "org", data=data)
    summary = org_review.summary
    got.levers(summary.levers, {})
    if len(summary.clients):
        got.clients(summary.clients, {str(t) for t, s in zip(org_review.turnover.table["team"],
                                                              org_review.turnover.table["status"])
                                       if s == privacy.SHOWN and str(t) != privacy.TOTAL})
    texts = [str(v) for rows in xlsx_cells(to_xlsx(org_review)).values() for r in rows for v in r if v is not None]
    texts += [str(v) for df in (summary.headline, summary.top_teams, summary.levers, summary.clients)
              for v in df.to_numpy().ravel()]
    numbers = {_fmt(t) for v in texts for t in re.findall(r"\d[\d,]*(?:\.\d+)?", v)}
    pdfs.append((pdf_text(pdf.read_bytes()), numbers))
    return pdfs


HR_TABLE_BOXES = ("rv_bands_table", "rv_heatmap_table", "rv_participation_table")
TEAM_TABLE_BOXES = ("team_bands_table", "team_trend_table", "team_heatmap_table", "team_scatter_table",
                    "team_participation_table")


def every_alert_fires(monkeypatch, teams=None) -> dict:
    """Make every team alert that could fire fire (burnout.alerts fires on none of these small
    organisations): a band alert of risk and of weekly strain in each of the 4 recent weeks
    where the basis has enough respondents, and a rise over the 4 recent weeks against the 8
    before, each stating the basis' real figures.  Returns message -> (measure, kind, week),
    filled as the pages ask; the gate (views.team.team_alert_rows) decides what is shown.
    ``teams``: only these teams' alerts fire (all when None)."""
    fired: dict = {}

    def fake(history, min_group=5, *, value_col="risk_score", label=None, **kw):
        label = label or "average risk"
        own = [c for c in alerts.SELF_REPORT_COLUMNS if c in history]
        h = history[history[value_col].notna()]
        h = h[h[own].notna().any(axis=1)] if own and value_col == "risk_score" else h
        rows = []
        if h.empty:
            return pd.DataFrame(columns=alerts.TEAM_COLUMNS)
        team = str(h["team"].iloc[0])
        if teams is not None and team not in teams:
            return pd.DataFrame(columns=alerts.TEAM_COLUMNS)
        end = pd.Timestamp(h["week_start"].max())
        weeks = pd.to_datetime(h["week_start"])
        for w in sorted(set(weeks[weeks > end - pd.Timedelta(weeks=4)])):
            x = h[weeks == w]
            n = x["helper_id"].nunique()
            if n >= min_group:
                rows.append({"team": team, "week_start": w, "kind": "band_up", "recent_mean": x[value_col].mean(),
                             "respondents": n, "message": f"Team {team}: {label} has been high for 2 weeks in a row "
                                                          f"(was moderate); now {x[value_col].mean():.2f} "
                                                          f"({n} respondents) in the week of {w.date()}."})
        rec = h[weeks > end - pd.Timedelta(weeks=4)].groupby("helper_id")[value_col].mean()
        base = h[(weeks <= end - pd.Timedelta(weeks=4)) & (weeks > end - pd.Timedelta(weeks=12))] \
            .groupby("helper_id")[value_col].mean()
        if len(rec) >= min_group and len(base) >= min_group:
            rows.append({"team": team, "week_start": end, "kind": "rise", "recent_mean": rec.mean(),
                         "baseline_mean": base.mean(), "respondents": len(rec),
                         "message": f"Team {team}: {label} rose from {base.mean():.2f} to {rec.mean():.2f} over 4 "
                                    f"weeks ({len(rec)} respondents, {len(base)} before)."})
        for r in rows:       # as the page prints it (escaped markdown)
            fired[escape_md(r["message"])] = (value_col, r["kind"], pd.Timestamp(r["week_start"]))
        return pd.DataFrame([{c: r.get(c) for c in alerts.TEAM_COLUMNS} for r in rows], columns=alerts.TEAM_COLUMNS)

    monkeypatch.setattr(alerts, "team_alerts", fake)
    return fired


def _collect_lead(org, team: str, got: Released, monkeypatch, measures_=("pulse_strain", "burned_out"),
                  every_box: bool = True, fired: dict | None = None) -> None:
    at = _page("team", org, org["leads"][team], monkeypatch)
    data = load_data(org["engine"])
    troster = data.roster[data.roster["team"] == team]
    ids, _, _ = privacy.lead_basis(troster, MIN_N)
    basis = {"helper_id": sorted(ids)}
    # the tables beside the charts are sent once their boxes are opened: open every one
    boxes = [e for e in at.expander if e.label == "Show as a table"]
    # every box is one of these (a random organisation may have no scatter or heatmap to draw)
    assert len(boxes) == len(TEAM_TABLE_BOXES) or not every_box and len(boxes) < len(TEAM_TABLE_BOXES), \
        "a chart's table box the attacker does not open"
    for box in TEAM_TABLE_BOXES:
        at.session_state[box] = True
    for measure in measures_:
        at.selectbox(key="team_measure").set_value(measure).run()
        assert not at.exception, [e.value for e in at.exception]
        for df in _frames(at):
            cols = list(df.columns)
            if cols[:1] == ["Week starting"] and "People" in cols:          # the team trend
                got.weekly(df.assign(**{"Basis": privacy.TOTAL})[["Week starting", "Basis", *cols[1:]]],
                           basis, measure)
            elif "Week starting" in cols and cols[0] in ("Role", "Site"):  # heatmap by sub-group
                got.weekly(df, {"team": team, "helper_id": sorted(ids)}, measure)
            elif "Checked in (%)" in cols:
                got.participation(df, basis)
            elif cols and cols[0] == "Team" and any(c.endswith("risk (%)") for c in cols):
                got.rollup(df.assign(Team=privacy.TOTAL), basis, 4)
            elif cols[:1] in (["Workplace factor"], ["What people report"]):
                got.factors(df, basis, None)
        # the team alerts (helpers' own alerts, st.info, are of sharing helpers: known)
        for w in at.warning:
            if fired is not None and w.value in fired:
                got.alert(fired, w.value, basis)
            else:
                assert fired is None or "respondents" not in w.value, f"an alert the attacker cannot read: {w.value}"
        _check_charts(at, got, f"team {team} {measure}")


# --------------------------------------------------------------------------- the linear systems

def _variables(data, people: pd.DataFrame, measure: str, figures: list):
    """(person per variable, period key per variable) of ``measure``'s values."""
    if measure in SCORE_MEASURES:       # answers: one per person and week
        s = data.scores[data.scores[measure].notna() & data.scores["helper_id"].isin(people["helper_id"])]
        pw = s[["helper_id", "week_start"]].drop_duplicates()
        return pw["helper_id"].to_numpy(), [pd.Timestamp(w) for w in pw["week_start"]]
    if measure.startswith("n:"):        # who answered a week: everyone active is a variable
        weeks = sorted({p for p, _ in figures})
        return np.repeat(people["helper_id"].to_numpy(), len(weeks)), weeks * len(people)
    if measure == "n":                  # who answered in a window: one per person and window
        windows = sorted({p for p, _ in figures}, key=str)
        return np.repeat(people["helper_id"].to_numpy(), len(windows)), windows * len(people)
    if measure == WEEKLY_RISK:          # the weekly risk where it rests on the person's own answers
        h = data.history[data.history["risk_score"].notna() & data.history["helper_id"].isin(people["helper_id"])]
        own = [c for c in alerts.SELF_REPORT_COLUMNS if c in h]
        pw = h.loc[h[own].notna().any(axis=1), ["helper_id", "week_start"]].drop_duplicates()
        return pw["helper_id"].to_numpy(), [pd.Timestamp(w) for w in pw["week_start"]]
    # turnover, what-if and driver figures: one unknown per person with a risk estimate
    col = "risk_score" if measure.startswith(("turnover", "what_if", "points:", "top:", "model_check")) else measure
    rows = people[people[col].notna()]
    return rows["helper_id"].to_numpy(), [LATEST] * len(rows)


def _keys(period) -> set:
    if isinstance(period, tuple) and period and period[0] == "window":
        return {period}
    if isinstance(period, tuple):
        return {pd.Timestamp(w) for w in period}
    return {pd.Timestamp(period)} if not isinstance(period, str) else {period}


def _coded(values) -> tuple[list, np.ndarray]:
    """(the distinct values, each value's index among them), by equality as ``in`` tests it."""
    index: dict = {}
    codes = np.array([index.setdefault(v, len(index)) for v in values], dtype=np.intp)
    return list(index), codes


def _undetermined(data, people, measure: str, figures: list, known: set) -> list:
    """Sets of 1..MIN_N-1 unknown people whose sum in one period (a week, a window of weeks,
    the latest estimate) the figures determine."""
    ids, periods = _variables(data, people, measure, figures)
    if not len(ids):
        return []
    attrs = people.set_index("helper_id")[["team", "role", "site"]].astype(str)
    keys_of = periods
    periods = np.empty(len(keys_of), dtype=object)
    periods[:] = keys_of
    # each variable's period, helper and groups as codes of their distinct values: a figure's
    # row tests each distinct value once (thousands of figures over hundreds of variables)
    coded = {"period": _coded(periods), "helper_id": _coded(ids),
             **{k: _coded([attrs.at[h, k] for h in ids]) for k in attrs.columns}}

    def having(k, allowed) -> np.ndarray:
        distinct, codes = coded[k]
        return np.array([d in allowed for d in distinct], dtype=bool)[codes]

    rows = []
    for period, cond in figures:
        mask = having("period", _keys(period))
        for k, v in cond.items():
            mask &= having(k, {str(x) for x in (v if isinstance(v, (list, tuple, set)) else [v])})
        rows.append(mask.astype(float))
    for j, h in enumerate(ids):
        if h in known:
            unit = np.zeros(len(ids))
            unit[j] = 1.0
            rows.append(unit)
    null = null_space(rows)
    covered = np.vstack(rows[:len(figures)]).any(axis=0) if figures else np.zeros(len(ids), dtype=bool)
    targets = {frozenset([p]) for p in periods} | {frozenset(_keys(p)) for p, _ in figures if len(_keys(p)) > 1}
    unknown = sorted(set(ids) - set(known))
    pos = {h: i for i, h in enumerate(unknown)}
    found = []
    for t in sorted(targets, key=str):
        person = np.zeros((len(ids), len(unknown)))
        for j, (h, p) in enumerate(zip(ids, periods)):
            if p in t and h in pos:
                person[j, pos[h]] = 1.0
        for c in determined_sets(null, person, MIN_N, covered=covered):
            found.append((measure, sorted(map(str, t))[:2], tuple(unknown[i] for i in c)))
    return found


def _assert_nothing_determined(data, people, got: Released, known: set):
    found = []
    for measure, figures in got.rows.items():
        found += _undetermined(data, people, measure, figures, known)
    assert found == [], found[:10]


# --------------------------------------------------------------------------- the tests

@pytest.fixture(scope="module")
def received(org, tmp_path_factory):
    """Every figure each reader class receives (collected once: pages, CLI, workbooks, PDF)."""
    monkeypatch = pytest.MonkeyPatch()
    tmp_path = tmp_path_factory.mktemp("reports")
    try:
        data = load_data(org["engine"])
        people = people_frame(data)
        weeks = sorted(data.scores["week_start"].unique())
        teams = sorted(people["team"].astype(str).unique())
        capped = turnover.capped_helpers(data.latest, data.settings.risk_weights)
        kinds = dict(zip(data.roster["team"].astype(str), data.roster["team_kind"]))
        hr = Released(weeks, capped, kinds)
        _collect_hr_pages(org, hr, sorted(people["site"].astype(str).unique()), monkeypatch)
        pdfs = _collect_cli(org, hr, teams, tmp_path, monkeypatch)
        leads = {}
        fired = every_alert_fires(monkeypatch)
        for team in teams:
            leads[team] = Released(weeks, capped, kinds)
            _collect_lead(org, team, leads[team], monkeypatch, fired=fired)
    finally:
        monkeypatch.undo()
    return {"data": data, "people": people, "hr": hr, "pdfs": pdfs, "leads": leads,
            "consenting": disclosure.consenting(people), "hr_shows_weeks": org["hr_shows_weeks"]}


def test_the_hr_reader_determines_no_small_group_from_pages_exports_and_cli(received):
    hr = received["hr"]
    assert hr.rows["pulse_strain"] and hr.rows["burned_out"] and hr.rows["n"], "the HR reader receives figures"
    # and the figures of the other views: drivers, what-if and its levers, clients by kind
    assert any(m.startswith("points:") for m in hr.rows) and hr.rows["what_if"], sorted(hr.rows)
    assert hr.chart_misses == [], hr.chart_misses[:10]
    _assert_nothing_determined(received["data"], received["people"], hr, received["consenting"])


def test_the_pdf_prints_the_reviews_figures_and_no_others(received):
    for text, numbers in received["pdfs"]:
        tokens = re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", text)
        assert tokens
        for tok in tokens:
            assert _fmt(tok) in numbers, tok


def test_each_lead_determines_no_small_group_from_their_team_page(received):
    people = received["people"]
    # a lead's weekly figures over private helpers follow the HR heatmap (HR material reaches
    # managers): a team HR shows in some week gives its lead figures, one HR hides every week
    # (here all three: a team of 4 makes the others its complement) gives none
    hr_weeks = {team: {p for p, c in received["hr"].rows["pulse_strain"]
                       if len(p) == 1 and c.get("team") == team and "role" not in c}
                for team in received["leads"]}
    if received["hr_shows_weeks"]:
        # so the check below covers real figures over private helpers
        assert any(hr_weeks.values()), "this organisation was chosen for team weeks HR shows"
    for team, lead in received["leads"].items():
        if hr_weeks[team]:
            assert lead.rows.get("pulse_strain"), f"the lead of {team} receives figures"
        lead_weeks = {p for p, c in lead.rows.get("pulse_strain", []) if len(p) == 1 and "role" not in c
                      and "site" not in c}
        assert lead_weeks <= hr_weeks[team] | {p for p, c in lead.rows.get("pulse_strain", [])
                                               if not (set(c.get("helper_id", ())) - received["consenting"])}
    if received["hr_shows_weeks"]:
        # the gate lets some alerts through (weeks HR shows), so they are read
        assert sum(lead.alerts_read for lead in received["leads"].values()), "no lead read an alert"
    for team, lead in received["leads"].items():
        assert lead.chart_misses == [], lead.chart_misses[:10]
        known = received["consenting"] & set(people.loc[people["team"] == team, "helper_id"])
        _assert_nothing_determined(received["data"], people, lead, known)


def test_hr_and_every_lead_together_determine_no_small_group(received):
    together = Released(received["hr"].weeks)
    for got in (received["hr"], *received["leads"].values()):
        for measure, figures in got.rows.items():
            for period, cond in figures:
                together.add(measure, period, cond)
    _assert_nothing_determined(received["data"], received["people"], together, received["consenting"])


def _fmt(v) -> str:
    x = float(str(v).replace(",", ""))
    return str(int(x)) if x == int(x) else f"{x:.2f}".rstrip("0")
