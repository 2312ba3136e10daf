"""Organisation review (HR and admin): roll-ups by team, role and site, turnover
impact with editable assumptions, what-if scenarios, PDF and XLSX exports.

Aggregates only: every table and chart comes from views.review.build_review, which
counts distinct people, hides groups under the minimum size and any figure
that would let a hidden group be worked out.  Written comments never appear.
"""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from burnout import leaving, privacy
from burnout.checkin import escape_md
from burnout.export.pdf import to_pdf
from burnout.export.xlsx import to_xlsx
from burnout.store.writes import audit
from burnout.uncertainty import COUNTS, count_span, format_parts
from burnout.ui import common
from burnout.views.data import TREND_MEASURES, WINDOWS

user = common.require_role("hr", "admin")
engine = common.engine()
settings = common.settings()

st.title("Organisation review")
st.caption("How the organisation's helpers are doing, what turnover is likely to cost in money and in "
           "clients who lose their helper, and what changing workloads could save. Group figures only.")


def _table(name: str, key: str | None = None):
    st.dataframe(page.tables[name], hide_index=True, width="stretch", key=key)


def _chart(fig, key: str, table: str | None = None):
    common.chart(fig, key, None if table is None else page.tables[table])


stamp, meanwhile = common.review_stamp(str(engine.url))
active_helpers, sites = common.roster_facts(str(engine.url), stamp)

# ------------------------------------------------------------------ assumptions (session only)
with st.sidebar:
    st.header("Review settings")
    window = st.selectbox("Answers from the last", list(WINDOWS), format_func=lambda w: f"{w} weeks", key="rv_window")
    measure = st.selectbox("Weekly measure", list(TREND_MEASURES), format_func=TREND_MEASURES.get,
                           key="rv_measure")
    heat_weeks = st.selectbox("Weeks in the heatmap", [8, 12, 26], index=1, key="rv_heat_weeks",
                              format_func=lambda w: f"last {w}")
    site_filter = st.multiselect("Only these sites (roll-ups)", sites, key="rv_sites",
                                 help="A filtered table shows only figures the full review already implies, "
                                      "so no choice of filters can single out a small group.")

with st.expander("Assumptions for the turnover estimate"):
    st.caption(f"The turnover estimate uses the organisation's saved settings (an admin changes them): "
               f"burned-out helpers are {float(settings.relative_risk):g} times as likely to leave, and every "
               f"range shown covers a relative risk from {float(settings.relative_risk_low):g} to "
               f"{float(settings.relative_risk_high):g}. They cannot be tried out here: figures under many "
               "values, or a value for one role or kind of team, would single out its people. The values in "
               "force are under \"Assumptions used\" below.")

# ------------------------------------------------------------------ what-if inputs
with st.expander("What-if scenario", expanded=True):
    c1, c2, c3 = st.columns(3)
    reduction = c1.slider("Lower burnout prevalence by (percentage points)", 0, 30, 10, key="rv_reduction")
    cap = c2.checkbox("Cap caseloads at the role standard", value=True, key="rv_cap")
    cost = c3.number_input("Intervention cost per year ($)", min_value=0.0, value=0.0, step=5_000.0,
                           format="%.0f", key="rv_cost", help="What the change would cost a year (staff, training, cover). "
                                               "Needed for the return on investment.")
scenario = {"burnout_reduction_points": float(reduction), "cap_caseload": bool(cap), "intervention_cost": float(cost)}
where = {"site": site_filter} if site_filter else {}

page = common.review_page(str(engine.url), stamp, json.dumps(scenario, sort_keys=True),
                          json.dumps(where, sort_keys=True), measure, int(window), int(heat_weeks), meanwhile)
review = page.review
figs = review.figures
as_of = review.as_of
st.info(f"{review.privacy_note} "
        + (f"Data up to the week starting {as_of:%d %b %Y}." if as_of is not None else "No data yet."))
if meanwhile:
    common.updating_note(lambda: common.review_ready(str(engine.url), stamp))

# ------------------------------------------------------------------ headline
total = review.turnover.total
c1, c2, c3, c4 = st.columns(4)
c1.metric("Active helpers", active_helpers)
shown = total["status"] == privacy.SHOWN


def _figure(col, name: str, help_text: str | None = None):
    """A headline number with its range under it, or plain words when it is hidden or
    cannot be estimated yet."""
    if not shown:
        col.metric(name, "not shown", help=help_text)
        return
    value = total.get(name_col[name])
    if value is None or pd.isna(value):
        col.metric(name, "not enough data yet", help=help_text)
        return
    key = name_col[name]
    about, rng = format_parts(value, total.get(f"{key}_low"), total.get(f"{key}_high"), money=key.endswith("cost"))
    col.metric(name, about, help=help_text)
    count = COUNTS.get(key)
    if count and total.get(f"{count}_low") is not None and not pd.isna(total.get(f"{count}_low")):
        # the range is the expected number's; next year's count also varies by chance
        rng = (f"{rng}; " if rng else "") + "next year's count likely " + count_span(
            total.get(f"{count}_low"), total.get(f"{count}_high"))
    if rng:
        col.caption(rng)


name_col = {"Expected leavers next year": "expected_leavers", "Cost due to burnout a year": "attributable_cost",
            "Clients losing their helper": "clients_affected"}
_figure(c2, "Expected leavers next year")
_figure(c3, "Cost due to burnout a year", "Turnover cost attributable to burnout (Shanafelt 2017 mixture model).")
_figure(c4, "Clients losing their helper", "Expected leavers next year x their active caseload.")
if shown and review.turnover.basis:
    st.caption(f"Probabilities of leaving: {escape_md(review.turnover.basis)}. "
               f"{escape_md(leaving.weights_text(settings))} Ranges: 95 % of simulations over "
               "the stated assumption ranges (relative risk, cost of a departure, burnout prevalence).")

# ------------------------------------------------------------------ roll-ups
st.header("Wellbeing by team, role and site")
if site_filter:
    st.caption(f"Filtered to: {', '.join(escape_md(s) for s in site_filter)}.")
tabs = st.tabs(["By team", "By role", "By site"])
for tab, key in zip(tabs, ("by_team", "by_role", "by_site")):
    with tab:
        st.caption(review.section(key).text)
        _table(key, key=f"tbl_{key}")
_chart(figs["pressure"], "rv_pressure")
st.caption("Each dot is a team shown in the table above; hidden teams are left out.")

st.header("Burnout risk bands")
_chart(figs["risk_bands"], "rv_bands", "risk_bands")

st.header("Week by week")
_chart(figs["trend"], "rv_trend")
_chart(figs["heatmap"], "rv_heatmap", "weekly")
_chart(figs["participation"], "rv_participation", "participation")
st.caption("Participation shows how many checked in, never who.")

# ------------------------------------------------------------------ turnover
st.header("Turnover impact")
st.caption(review.section("turnover").text)
left, right = st.columns(2)
with left:
    st.plotly_chart(figs["turnover"], width="stretch", key="rv_turnover")
with right:
    st.plotly_chart(figs["turnover_cost"], width="stretch", key="rv_turnover_cost")
_table("turnover", key="tbl_turnover")
sm = review.summary
if sm is not None and len(sm.clients):
    st.markdown("**People who would lose their helper, by kind of team**")
    _table("clients", key="tbl_clients_by_kind")
    if sm.clients_note:
        st.caption(sm.clients_note)
with st.expander("What losing a helper means for clients"):
    for ev in review.evidence:
        st.markdown(f"**{escape_md(ev.label)}.** {escape_md(ev.text)}")

st.header("What-if")
st.caption(review.section("what_if").text)
wi = review.turnover.what_if
if wi:
    c1, c2, c3, c4 = st.columns(4)
    for col, label, key in ((c1, "Leavers avoided a year", "leavers_avoided"), (c2, "Cost saved a year", "cost_saved"),
                            (c3, "Clients spared a change of helper", "clients_spared")):
        about, rng = format_parts(wi.get(key), wi.get(f"{key}_low"), wi.get(f"{key}_high"), money=key == "cost_saved")
        col.metric(label, about if wi.get(key) is not None else "–")
        if rng:
            col.caption(rng)
    c4.metric("Return on investment", f"{wi['roi'] * 100:.0f}%" if wi.get("roi") is not None else "add a cost")
left, right = st.columns(2)
with left:
    st.plotly_chart(figs["what_if"], width="stretch", key="rv_what_if")
with right:
    st.plotly_chart(figs["what_if_bars"], width="stretch", key="rv_what_if_bars")
_table("what_if", key="tbl_what_if")
if sm is not None and len(sm.levers):
    st.markdown("**Each lever alone, then together**")
    _table("levers", key="tbl_levers")
    if sm.best_lever:
        st.caption("Best single lever: " + sm.best_lever)
with st.expander("Assumptions used"):
    _table("assumptions", key="tbl_assumptions")
cal = review.calibration
with st.expander(cal.title):
    for line in cal.lines:
        st.markdown(line)
    _table("calibration", key="tbl_calibration")

# ------------------------------------------------------------------ exports
st.header("Export")
st.caption("The exports hold exactly what this page shows, with the same privacy rules.")


def _pdf() -> bytes:
    with engine.begin() as conn:
        audit(conn, user.get("username", "unknown"), "report_exported", detail="org review (pdf)")
    return to_pdf(review)


def _xlsx() -> bytes:
    with engine.begin() as conn:
        audit(conn, user.get("username", "unknown"), "report_exported", detail="org review (xlsx)")
    return to_xlsx(review)


stamp_date = review.generated_at.strftime("%Y%m%d")
c1, c2 = st.columns(2)
c1.download_button("Download PDF", data=_pdf, file_name=f"wellbeing_review_{stamp_date}.pdf",
                   mime="application/pdf", key="dl_pdf", on_click="ignore")
c2.download_button("Download XLSX", data=_xlsx, file_name=f"wellbeing_review_{stamp_date}.xlsx",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="dl_xlsx",
                   on_click="ignore")
