"""A helper's control over their own data, and the admin's side of it.

Core module (no streamlit):

- what a helper can do with their own data: export all of it, choose whether
  their team lead may see their individual results (consent), ask for their
  self-report data to be deleted;
- what the admin does with those requests;
- plain chart builders for the helper's own trends (DataFrame in, Figure out);
- small pure helpers for the admin pages: form-export column mapping.

A helper's answers are theirs (DESIGN §1, §7): every function here that takes a
``helper_id`` returns or changes that helper's data only.
"""
from __future__ import annotations

import io
import re
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine

from burnout import charts, materialise
from burnout.checkin import _subscales, band_of
from burnout.domain import measures
from burnout.domain.time import now as _now
from burnout.errors import InputError
from burnout.instruments import load
from burnout.privacy import neutralise_formulas
from burnout.store import frames, helper_weeks
from burnout.store.retry import retried, write_transaction
from burnout.store.schema import (
    SCORE_COLUMNS, answers, audit_log, deletion_requests, helpers, scores, submissions, users,
)
from burnout.store.writes import audit

OKABE_ITO = charts.OKABE_ITO
# Series take the blues, black and grey: the band colours mean a band and nothing else (charts.py)
LINE_COLOURS = [OKABE_ITO["blue"], OKABE_ITO["black"], OKABE_ITO["sky_blue"], OKABE_ITO["grey"]]
LINE_DASHES = ["solid", "dash", "dot", "dashdot"]
LINE_SYMBOLS = ["circle", "square", "diamond", "triangle-up"]
# Band shading by how much attention a band deserves, in the band colours of every other
# chart (the label is written on the band too, so colour is never the only cue).
CONCERN_FILL = {i: charts.BAND_COLOURS[b] for i, b in enumerate(("low", "moderate", "high", "severe"))}


# --------------------------------------------------------------------------- export

def own_data_frame(engine: Engine, helper_id: str) -> pd.DataFrame:
    """Everything stored about one helper as one table.

    One ``profile`` row (roster entry and sharing choice), one ``submission``
    row per check-in or imported survey (answers, scores, bands, comment), one
    ``caseload_week`` row per caseload week, one ``deletion_request`` row per
    deletion request and one ``audit_log`` row per logged event about them
    (sharing choices, every view of their results by someone else, exports).
    Ids are whole numbers.
    """

    with engine.connect() as conn:
        prof = conn.execute(select(helpers.c.helper_id, helpers.c.name, helpers.c.team_id.label("team"),
                                   helpers.c.role, helpers.c.site, helpers.c.fte, helpers.c.start_date,
                                   helpers.c.end_date, helpers.c.consent_lead_view)
                            .where(helpers.c.helper_id == helper_id)).mappings().first()
    if prof is None:
        raise InputError(f"{helper_id!r} is not in the roster", column="helper_id")
    profile = pd.DataFrame([{"record_type": "profile", **dict(prof)}])
    profile["consent_lead_view"] = profile["consent_lead_view"].map(
        {True: "yes", False: "no", 1: "yes", 0: "no"})

    subs = frames.submissions_frame(engine, helper_id)
    ans = frames.answers(engine, helper_id=helper_id)
    sc = frames.scores(engine, helper_id)
    sub_part = subs[["submission_id", "helper_id", "instrument", "submitted_at", "source", "comment"]].copy()
    sub_part.insert(0, "record_type", "submission")
    if not sc.empty:
        score_cols = [c for c in SCORE_COLUMNS if c in sc.columns and sc[c].notna().any()]
        sc_part = sc[["submission_id", *score_cols]].copy()
        for col, (_, sub) in _subscales().items():
            if col in sc_part.columns and sub.bands:
                sc_part[f"{col}_band"] = sc_part[col].map(lambda v, s=sub: band_of(v, s))
        sub_part = sub_part.merge(sc_part, on="submission_id", how="left")
    if not ans.empty:
        item_cols = _ordered_items([c for c in ans.columns
                                    if c not in ("submission_id", "helper_id", "instrument", "submitted_at")])
        sub_part = sub_part.merge(ans[["submission_id", *item_cols]], on="submission_id", how="left")
    sub_part = sub_part.rename(columns={"submitted_at": "date"})

    cl = frames.caseload(engine, helper_id).rename(columns={"week_start": "date"})
    cl.insert(0, "record_type", "caseload_week")
    log, requests = _own_log(engine, helper_id)
    parts = [p for p in (profile, sub_part, cl, requests, log) if not p.empty]
    out = pd.concat(parts, ignore_index=True, sort=False)
    front = ["record_type", "helper_id", "date", "instrument", "submission_id", "source", "comment",
             "action", "by", "by_role", "detail", "request_id", "status", "resolved_at"]
    out = out[[c for c in front if c in out.columns] + [c for c in out.columns if c not in front]]
    for col in ("date", "resolved_at"):
        if col in out.columns:
            out[col] = out[col].map(lambda v: "" if v is None or pd.isna(v) else pd.Timestamp(v).isoformat())
    for col in ("submission_id", "request_id", "audit_id"):   # ids stay whole numbers (not 5775.0)
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    return out


# What each audit action means, in the words the helper sees in their export.
AUDIT_WORDS = {
    "consent_given": "you let your team lead see your individual results",
    "consent_withdrawn": "you stopped sharing your individual results with your team lead",
    "view_individual": "someone else opened your individual results",
    "own_data_exported": "your data was downloaded",
    "deletion_requested": "you asked for your answers to be deleted",
    "deletion_completed": "your answers were deleted",
    "checkin_saved": "a check-in was saved",
    "cli_individual_export": "your risk estimate was written to a file from the command line",
}


def _own_log(engine: Engine, helper_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The audit-log rows about this helper (consent history, who viewed their results,
    exports, deletions) and their deletion requests, as export rows.

    ``by`` is the account that acted and ``by_role`` its role ("you" when the helper
    acted themselves): a helper has a right to know who looked at their results."""

    with engine.connect() as conn:
        log = pd.read_sql(select(audit_log.c.audit_id, audit_log.c.at, audit_log.c.actor, audit_log.c.action,
                                 audit_log.c.detail)
                          .where(audit_log.c.subject_helper_id == helper_id).order_by(audit_log.c.at,
                                                                                     audit_log.c.audit_id), conn)
        accounts = pd.read_sql(select(users.c.username, users.c.role, users.c.helper_id), conn)
        reqs = pd.read_sql(select(deletion_requests.c.request_id, deletion_requests.c.requested_at,
                                  deletion_requests.c.status, deletion_requests.c.resolved_at)
                           .where(deletion_requests.c.helper_id == helper_id)
                           .order_by(deletion_requests.c.requested_at), conn)
    role = dict(zip(accounts["username"], accounts["role"]))
    own_accounts = set(accounts.loc[accounts["helper_id"] == helper_id, "username"]) | {helper_id}
    if not log.empty:
        log = pd.DataFrame({
            "record_type": "audit_log", "helper_id": helper_id, "date": log["at"], "action": log["action"],
            "by": log["actor"],
            "by_role": ["you" if a in own_accounts else role.get(a, "") for a in log["actor"]],
            "detail": [AUDIT_WORDS.get(a, a.replace("_", " "))
                       + (f": {d}" if isinstance(d, str) and d else "") for a, d in zip(log["action"], log["detail"])],
            "audit_id": log["audit_id"]})
    if not reqs.empty:
        reqs = pd.DataFrame({"record_type": "deletion_request", "helper_id": helper_id,
                             "date": reqs["requested_at"], "request_id": reqs["request_id"],
                             "status": reqs["status"], "resolved_at": reqs["resolved_at"]})
    return log, reqs


def _ordered_items(cols: Iterable[str]) -> list[str]:

    order = [i for name in ("pulse", "sib", "cbi", "proqol5") for i in load(name).item_ids]
    cols = list(cols)
    return [i for i in order if i in cols] + sorted(c for c in cols if c not in order)


def export_own_data(engine: Engine, helper_id: str, actor: str | None = None) -> bytes:
    """All of one helper's own data as UTF-8 CSV (with BOM, so Excel reads accents).

    Cells that a spreadsheet would run as formulas are neutralised with a
    leading '.  Contains nothing about any other helper.
    """

    df = neutralise_formulas(own_data_frame(engine, helper_id).astype(object))
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    with engine.begin() as conn:
        audit(conn, actor or helper_id, "own_data_exported", subject_helper_id=helper_id)
    return buf.getvalue().encode("utf-8-sig")


# --------------------------------------------------------------------------- consent

def get_consent(engine: Engine, helper_id: str) -> bool:
    """True when the helper lets their team lead see their individual results (default off)."""

    with engine.connect() as conn:
        v = conn.execute(select(helpers.c.consent_lead_view).where(helpers.c.helper_id == helper_id)).scalar()
    return bool(v)


@retried("set_consent")
def set_consent(engine: Engine, helper_id: str, value: bool, actor: str) -> bool:
    """Turn lead access to individual results on or off; audit-logged.  Returns the new value."""

    value = bool(value)
    with write_transaction(engine) as conn:
        res = conn.execute(update(helpers).where(helpers.c.helper_id == helper_id)
                           .values(consent_lead_view=value))
        if res.rowcount == 0:
            raise InputError(f"{helper_id!r} is not in the roster", column="helper_id")
        helper_weeks.bump_for_helpers(conn, [helper_id])
        audit(conn, actor, "consent_given" if value else "consent_withdrawn", subject_helper_id=helper_id,
              detail="team lead may see individual results" if value
              else "team lead sees team aggregates only")
    return value


# --------------------------------------------------------------------------- deletion

@retried("request_deletion")
def request_deletion(engine: Engine, helper_id: str, actor: str) -> int:
    """Ask for the helper's self-report data to be deleted; returns the request id.

    Asking twice while a request is open returns the open request.
    """

    with write_transaction(engine) as conn:
        if conn.execute(select(helpers.c.helper_id).where(helpers.c.helper_id == helper_id)).first() is None:
            raise InputError(f"{helper_id!r} is not in the roster", column="helper_id")
        open_id = conn.execute(select(deletion_requests.c.request_id)
                               .where(deletion_requests.c.helper_id == helper_id,
                                      deletion_requests.c.status == "open")).scalar()
        if open_id is not None:
            return int(open_id)
        rid = conn.execute(insert(deletion_requests).values(
            helper_id=helper_id, requested_at=_now(), status="open")).inserted_primary_key[0]
        audit(conn, actor, "deletion_requested", subject_helper_id=helper_id, detail=f"request {rid}")
    return int(rid)


def open_deletion_request(engine: Engine, helper_id: str) -> dict | None:
    """The helper's open deletion request ({request_id, requested_at}) or None."""

    with engine.connect() as conn:
        row = conn.execute(select(deletion_requests.c.request_id, deletion_requests.c.requested_at)
                           .where(deletion_requests.c.helper_id == helper_id,
                                  deletion_requests.c.status == "open")).mappings().first()
    return dict(row) if row else None


def pending_deletions(engine: Engine) -> pd.DataFrame:
    """Open requests for the admin: request_id, helper_id, requested_at, submissions (to delete)."""

    n_subs = (select(func.count()).select_from(submissions)
              .where(submissions.c.helper_id == deletion_requests.c.helper_id).scalar_subquery())
    q = (select(deletion_requests.c.request_id, deletion_requests.c.helper_id,
                deletion_requests.c.requested_at, n_subs.label("submissions"))
         .where(deletion_requests.c.status == "open").order_by(deletion_requests.c.requested_at))
    with engine.connect() as conn:
        df = pd.read_sql(q, conn)
    df["requested_at"] = pd.to_datetime(df["requested_at"])
    return df


@retried("complete_deletion")
def complete_deletion(engine: Engine, request_id: int, actor: str) -> dict:
    """Delete the helper's self-report data (submissions, answers, scores, comments).

    Kept: the roster entry and caseload weeks (operational records of work
    allocation, not the helper's self-report) and the audit log (it records
    who did what, never answers).  One transaction.  Returns what was deleted.
    """

    with write_transaction(engine) as conn:
        req = conn.execute(select(deletion_requests).where(deletion_requests.c.request_id == int(request_id))
                           ).mappings().first()
        if req is None:
            raise InputError(f"there is no deletion request {request_id}")
        if req["status"] != "open":
            raise InputError(f"deletion request {request_id} is already {req['status']}")
        hid = req["helper_id"]
        sids = select(submissions.c.submission_id).where(submissions.c.helper_id == hid)
        n_ans = conn.execute(delete(answers).where(answers.c.submission_id.in_(sids))).rowcount
        conn.execute(delete(scores).where(scores.c.submission_id.in_(sids)))
        n_sub = conn.execute(delete(submissions).where(submissions.c.helper_id == hid)).rowcount
        now = _now()
        conn.execute(update(deletion_requests)
                     .where(deletion_requests.c.helper_id == hid, deletion_requests.c.status == "open")
                     .values(status="done", resolved_at=now))
        audit(conn, actor, "deletion_completed", subject_helper_id=hid,
              detail=f"request {request_id}: {n_sub} submissions, {n_ans} answers deleted")
    materialise.after_commit(engine, [hid], data_removed=True)
    return {"helper_id": hid, "submissions": int(n_sub), "answers": int(n_ans)}


# --------------------------------------------------------------------------- own views

def own_weekly(scores: pd.DataFrame, caseload: pd.DataFrame, standard: float | None = None) -> pd.DataFrame:
    """One row per week: the helper's pulse scores and burnout rating next to their caseload.

    Columns: week_start, pulse_strain, pulse_trauma_load, pulse_support, sib_level,
    active_cases, caseload_standard, high_acuity_cases, trauma_exposures,
    critical_incidents, overtime_hours.  Latest submission of a week wins.
    """
    cols = ["pulse_strain", "pulse_trauma_load", "pulse_support", "sib_level"]
    if scores.empty:
        weekly_scores = pd.DataFrame(columns=["week_start", *cols])
    else:
        s = scores.sort_values("submitted_at")
        pieces = []
        for inst, keep in (("pulse", cols[:3]), ("sib", ["sib_level"])):
            part = s[s["instrument"] == inst]
            if not part.empty:
                pieces.append(part.groupby("week_start")[keep].last())
        weekly_scores = (pd.concat(pieces, axis=1).reset_index() if pieces
                         else pd.DataFrame(columns=["week_start", *cols]))
    cl_cols = ["active_cases", "high_acuity_cases", "trauma_exposures", "critical_incidents", "overtime_hours"]
    cl = caseload[["week_start", *cl_cols]] if not caseload.empty else pd.DataFrame(columns=["week_start", *cl_cols])
    out = pd.merge(weekly_scores, cl, on="week_start", how="outer")
    for c in cols:
        if c not in out.columns:
            out[c] = np.nan
    out["caseload_standard"] = standard
    out["week_start"] = pd.to_datetime(out["week_start"])
    return out[["week_start", *cols, "active_cases", "caseload_standard", *cl_cols[1:]]] \
        .sort_values("week_start").reset_index(drop=True)


def trend_table(scores: pd.DataFrame, instrument: str) -> pd.DataFrame:
    """The numbers behind :func:`trend_figure`: date, each score and its band."""

    inst = load(instrument)
    part = scores[scores["instrument"] == instrument].sort_values("submitted_at")
    out = pd.DataFrame({"date": part["submitted_at"].dt.date.to_numpy()})
    for sub in inst.subscales:
        if sub.column not in part.columns:
            continue
        vals = part[sub.column].to_numpy(dtype=float)
        out[sub.name] = np.round(vals, 1)
        if sub.bands:
            out[f"{sub.name} band"] = [band_of(v, sub) for v in vals]
    return out


def _band_regions(sub) -> list[tuple[str, float, float]]:
    """(label, low, high) per band.  A band that is a single value at the top of the
    scale (CBI "severe" = 100) gets no strip of its own — it would be too thin to
    read and its label would print over "high" — it is named in the band below."""
    lo, hi = sub.range
    regions, start = [], lo
    for b in sub.bands:
        edge = b.up_to if b.up_to is not None else (b.below if b.below is not None else hi)
        regions.append((b.label, start, min(edge, hi)))
        start = edge
    out = []
    for label, y0, y1 in regions:
        if y1 > y0:
            out.append((label, y0, y1))
        elif out:
            prev = out[-1]
            out[-1] = (f"{prev[0]} ({y0:g} = {label})", prev[1], prev[2])
    return out


def _better(sub) -> str:
    return "lower" if measures.get(sub.column).higher_is_worse else "higher"


def trend_panels(subscales) -> list[tuple[str, list]]:
    """Which subscales share a panel of :func:`trend_figure`.

    Band shading belongs to one measure's meaning, so only subscales whose bands
    mean the same share shading: banded lower-is-better scores together
    ("strain"), each banded higher-is-better score alone with its own colours
    (a high compassion satisfaction is good news), and scores without bands
    together, never shaded.
    """
    subs = list(subscales)
    lower = [s for s in subs if s.bands and _better(s) == "lower"]
    higher = [s for s in subs if s.bands and _better(s) == "higher"]
    plain = [s for s in subs if not s.bands]
    panels = ([("lower", lower)] if lower else []) + [("higher", [h]) for h in higher]
    return panels + ([("none", plain)] if plain else [])


def _names(subs) -> str:
    names = [s.name for s in subs]
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1].lower()
    return text


def trend_figure(scores: pd.DataFrame, instrument: str):
    """Line chart of one instrument's scores over time, band shading only where it applies.

    Pure: ``scores`` as from ``frames.scores`` (one helper), out a plotly Figure.
    One panel per :func:`trend_panels` group (sharing the date axis): shading is
    drawn only behind scores that have bands, coloured by how much attention a
    band deserves for *that* score (for higher-is-better scores, high is green).
    Okabe-Ito colours plus different dashes and markers per line; band names are
    written on the shading so colour is never the only cue.  The legend sits in
    a row under the title, never over the axis title.
    """


    inst = load(instrument)
    part = scores[scores["instrument"] == instrument].sort_values("submitted_at")
    subs = [s for s in inst.subscales if s.column in part.columns]
    lo, hi = (subs[0].range if subs else (0, 100))
    units = f"{lo:g}–{hi:g}"
    panels = trend_panels(subs) or [("none", [])]
    many = len(panels) > 1
    titles = []
    for kind, group in panels:
        if kind == "lower":
            titles.append(f"{_names(group)}: shaded by band")
        elif kind == "higher":
            titles.append(f"{_names(group)}: shaded by band, higher is better")
        else:
            better_high = [s.name.lower() for s in group if _better(s) == "higher"]
            note = f" (higher {better_high[0]} is better)" if better_high and len(group) > 1 else ""
            titles.append(f"{_names(group)}: no bands{note}")
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.14 if many else 0.0,
                        subplot_titles=[charts.wrap(t, 44) for t in titles] if many else None)
    k = 0
    for row, (kind, group) in enumerate(panels, start=1):
        for sub in group:
            i = [s.column for s in subs].index(sub.column)
            fig.add_trace(go.Scatter(
                x=part["submitted_at"], y=part[sub.column], name=sub.name, mode="lines+markers",
                line={"color": LINE_COLOURS[i % 4], "dash": LINE_DASHES[i % 4], "width": 2},
                marker={"symbol": LINE_SYMBOLS[i % 4], "size": 7}, legendrank=i,
                hovertemplate=f"{sub.name}: %{{y:.0f}}<br>%{{x|%d %b %Y}}<extra></extra>"), row=row, col=1)
            k += 1
        if kind in ("lower", "higher"):
            regions = _band_regions(group[0])
            n = len(regions)
            for j, (label, y0, y1) in enumerate(regions):
                concern = j if kind == "lower" else n - 1 - j
                fig.add_hrect(y0=y0, y1=y1, fillcolor=CONCERN_FILL.get(min(concern, 3)), opacity=0.12, line_width=0,
                              layer="below", annotation_text=label, annotation_position="top left",
                              annotation_font={"size": 11, "color": "#444444"}, row=row, col=1)
        fig.update_yaxes(title_text=f"Score ({units})", range=[lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo)],
                         row=row, col=1)
    if instrument == "sib":
        fig.add_hline(y=3, line_dash="dash", line_color=OKABE_ITO["grey"],
                      annotation_text="3 or more = burnout", annotation_position="top left")
    fig.update_xaxes(title_text="Date of check-in", row=len(panels), col=1)
    fig.update_layout(legend_traceorder="normal")
    title = f"{inst.title}: my scores ({units})"
    subtitle = None
    if panels[0][0] == "lower" and not many:
        subtitle = "Shading shows the bands"
    charts._layout(fig, title, height=95 + 250 * len(panels) + (30 if many else 0), subtitle=subtitle,
                   extra_top=24 if many else 0)
    for a in fig.layout.annotations:
        if a.text in [charts.wrap(t, 44) for t in titles]:
            a.font = {"size": 13}
    return fig


def caseload_figure(weekly: pd.DataFrame):
    """Two stacked panels sharing the week axis: my strain (0–100) above, my active
    cases against the role's standard below.  Pure: :func:`own_weekly` frame in.
    The standard is a dashed line named in the legend; the legend sits under the title."""


    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=("My strain (pulse, 0–100)", "My active cases per week"))
    w = weekly.sort_values("week_start")
    fig.add_trace(go.Scatter(x=w["week_start"], y=w["pulse_strain"], name="Strain (0–100)",
                             mode="lines+markers", connectgaps=False,
                             line={"color": OKABE_ITO["black"], "width": 2},
                             marker={"symbol": "circle", "size": 6}), row=1, col=1)
    fig.add_trace(go.Bar(x=w["week_start"], y=w["active_cases"], name="Active cases",
                         marker_color=OKABE_ITO["blue"]), row=2, col=1)
    if "trauma_exposures" in w.columns and w["trauma_exposures"].notna().any():
        fig.add_trace(go.Scatter(x=w["week_start"], y=w["trauma_exposures"], name="Trauma exposures",
                                 mode="lines+markers", line={"color": OKABE_ITO["sky_blue"], "dash": "dot", "width": 3},
                                 marker={"symbol": "diamond", "size": 6}), row=2, col=1)
    std = w["caseload_standard"].dropna()
    if len(std) and w["week_start"].notna().any():
        fig.add_trace(charts.standard_line(w["week_start"].dropna(), float(std.iloc[-1])), row=2, col=1)
    fig.update_yaxes(title_text="Strain (0–100)", range=[0, 102], row=1, col=1)
    fig.update_yaxes(title_text="Cases (count)", rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title_text="Week starting", row=2, col=1)
    charts._layout(fig, "My caseload next to my strain", height=95 + 470, extra_top=24)
    fig.update_annotations(selector={"xref": "paper"}, font={"size": 13})
    return fig


# --------------------------------------------------------------------------- admin: form-tool mapping

MAPPING_KEYS = ("helper_id", "submitted_at", "comment")
_SYNONYMS = {
    "helper_id": {"helper id", "helper", "staff id", "staff number", "employee id", "employee number",
                  "worker id", "respondent id", "respondent", "id", "person id"},
    "submitted_at": {"submitted at", "timestamp", "time stamp", "submitted", "submission time", "date",
                     "completed", "completion time", "completed at", "end time", "start time", "response date"},
    "comment": {"comment", "comments", "anything else", "free text", "notes", "note"},
}


def _norm(text: str) -> str:
    text = str(text).casefold().replace("_", " ")
    text = re.sub(r"^\s*(q\s*)?\d+\s*[.):\-]\s*", "", text)   # "1. ", "Q3) " numbering from form tools
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def suggest_mapping(headers: Iterable[str], instrument: str, wording: Mapping[str, str] | None = None
                    ) -> dict[str, str | None]:
    """A first guess at what each header of a form-tool export is: one of
    helper_id / submitted_at / comment / an item id of ``instrument``, or None.

    Exact names win; then common synonyms; then the organisation's loaded
    official wording (form tools use the question text as the header).
    """

    items = load(instrument).item_ids
    by_text = {_norm(t): i for i, t in (wording or {}).items() if i in items and t}
    out: dict[str, str | None] = {}
    taken: set[str] = set()
    for h in headers:
        n = _norm(h)
        target = None
        if str(h).strip() in items or str(h).strip() in MAPPING_KEYS:
            target = str(h).strip()
        elif n.replace(" ", "_") in MAPPING_KEYS:
            target = n.replace(" ", "_")
        else:
            for key, words in _SYNONYMS.items():
                if n in words:
                    target = key
                    break
        if target is None and n in by_text:
            target = by_text[n]
        if target is None and by_text:
            hits = [i for t, i in by_text.items() if len(t) > 12 and (t in n or n in t)]
            target = hits[0] if len(hits) == 1 else None
        if target in taken:
            target = None
        if target:
            taken.add(target)
        out[str(h)] = target
    # A one-item instrument (the single-item burnout rating): the one header left over is the item.
    free = [h for h, t in out.items() if t is None]
    if len(items) == 1 and items[0] not in taken and len(free) == 1:
        out[free[0]] = items[0]
    return out


def mapping_spec(instrument: str, columns: Mapping[str, str | None],
                 labels: Mapping[str, float] | None = None) -> dict:
    """Check a header -> target choice and return the spec ``ingest.load_mapping`` returns.

    Needs exactly one helper_id and one submitted_at column, at least one item,
    and no target chosen twice.
    """

    items = set(load(instrument).item_ids)
    chosen = {str(h): t for h, t in columns.items() if t}
    problems = []
    for key in ("helper_id", "submitted_at"):
        n = sum(1 for t in chosen.values() if t == key)
        if n == 0:
            problems.append(f"no column is mapped to {key}")
    seen: dict[str, str] = {}
    for h, t in chosen.items():
        if t not in items and t not in MAPPING_KEYS:
            problems.append(f"column {h!r}: {t!r} is not an item of {instrument}")
        if t in seen:
            problems.append(f"columns {seen[t]!r} and {h!r} are both mapped to {t}")
        seen.setdefault(t, h)
    if not any(t in items for t in chosen.values()):
        problems.append(f"no column is mapped to a {instrument} item")
    if problems:
        raise InputError(problems[0], problems=problems)
    spec = {"instrument": instrument, "columns": chosen}
    if labels:
        spec["labels"] = {str(k): float(v) for k, v in labels.items()}
    return spec


def mapping_yaml(spec: Mapping) -> bytes:
    """The spec as a reusable mapping file (the YAML ``ingest.load_mapping`` reads)."""
    import yaml

    return yaml.safe_dump(dict(spec), allow_unicode=True, sort_keys=False).encode("utf-8")
