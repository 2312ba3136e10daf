"""Helper detail (lead): one helper of the lead's own team who chose to share
their individual results.  Helpers who keep their results private are not
listed at all.  Every view is written to the audit log."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from burnout import charts, privacy
from burnout.checkin import escape_md
from burnout.domain import measures
from burnout.ui import common
from burnout.views.helper import helper_view
from burnout.views.team import sharing_sentence, team_roster, worklist

user = common.require_role("lead")
engine = common.engine()
team = user.get("team_id")

st.title("Helper detail")
if not team:
    st.warning("Your account is not linked to a team yet; your admin can link it.")
    st.stop()


def how_much(share) -> str:
    """Plain words for the share of the risk inputs that were known."""
    if share is None or pd.isna(share):
        return "not known"
    share = float(share)
    if share >= 0.95:
        return "All"
    if share >= 0.7:
        return "Most"
    if share >= 0.4:
        return "About half"
    return "A little"


data = common.team_data(str(engine.url), team, common.team_key(team))
troster = team_roster(data, team)
sharing = privacy.visible_individuals(user, troster)
note = sharing_sentence(len(sharing), len(troster), data.min_n, covered="This page")
visible = sharing[sharing["helper_id"] != user.get("helper_id")]   # your own results are on My wellbeing
# the same order as the team page's "Who may need a conversation": highest risk first, then
# the biggest recent rise; helpers without a risk score yet come last
order = {hid: i for i, hid in enumerate(worklist(data, team, sort="risk")["helper_id"])}
visible = visible.assign(_order=visible["helper_id"].map(order).fillna(len(order))) \
    .sort_values(["_order", "name"], kind="stable")

st.caption("Individual results appear here only for helpers in your team who chose to share them with you. "
           "They can change that choice at any time. Each view is recorded in the audit log, and the helper "
           "can see that log. You see their scores, trend, risk drivers and caseload; the notes they write in "
           "a check-in stay private to them.")
if visible.empty:
    st.info("No helper in your team shares individual results with you at the moment. "
            "The Team page shows the team's figures.")
    st.caption(note)
    st.stop()

labels: dict[str, str] = {}
for hid, name in zip(visible["helper_id"], visible["name"]):
    label, k = str(name), 2
    while label in labels:                     # two helpers with the same name
        label, k = f"{name} ({k})", k + 1
    labels[label] = hid
choice = labels[st.selectbox("Helper", list(labels), key="detail_helper",
                             help="Listed by risk, highest first, then by the biggest recent rise.")]
st.caption(note)
try:
    view = helper_view(engine, user, choice, data=data)
except PermissionError:
    st.error("This helper's individual results are not shared with you.")
    st.stop()
if st.session_state.get("_detail_audited") != choice:
    privacy.audit_view(engine, user, choice, "helper detail: scores, risk, drivers and caseload")
    st.session_state["_detail_audited"] = choice

st.header(escape_md(view.name))
st.caption(f"{escape_md(view.role)} · team {escape_md(view.team)}")

latest = view.latest
c1, c2, c3 = st.columns(3)
if len(latest) and pd.notna(latest.iloc[0]["risk_score"]):
    r = latest.iloc[0]
    c1.metric("Burnout risk (0-100)", f"{r['risk_score']:.0f}", help="Weighted from recent scores, their trend "
              "and workload; see the drivers for what adds most.")
    c2.metric("Risk band", str(r["risk_band"]))
    c3.metric("Information we have", how_much(r["confidence"]),
              help="How much of the information the risk estimate usually uses was there. It is based on this "
                   "helper's answers (the weekly check-in from the last 4 weeks, longer questionnaires from "
                   "up to 26 weeks) and their caseload figures. With less information, read the score as rougher.")
else:
    c1.metric("Burnout risk (0-100)", "not enough data")

st.subheader("What adds most to the risk")
if view.drivers:
    for d in view.drivers:
        st.markdown(f"- {escape_md(d)}")
    st.caption("Drivers come from recent answers and workload figures. A conversation about caseload, "
               "support and recovery time is a good place to start.")
else:
    st.caption("No factor stands out at the moment.")

st.subheader("Scores over time")
weekly = view.weekly
shown = view.measures
if shown:
    tabs = st.tabs([measures.label(m).split(" (")[0] for m in shown])
    for tab, m in zip(tabs, shown):
        with tab:
            st.plotly_chart(charts.individual_trend(weekly, m, measures.label(m)),
                            width="stretch", key=f"detail_{m}")
            with st.expander("Show as a table"):
                t = weekly[["week_start", m]].dropna()
                st.dataframe(t.assign(week_start=t["week_start"].dt.strftime("%Y-%m-%d"), **{m: t[m].round(1)})
                             .rename(columns={"week_start": "Week starting", m: measures.label(m)}),
                             hide_index=True, width="stretch")
else:
    st.caption("No answers yet.")

st.subheader("Caseload")
cl = view.caseload
st.plotly_chart(charts.caseload_trend(cl, view.caseload_standard, "Active cases per week"),
                width="stretch", key="detail_caseload")
with st.expander("Show as a table"):
    cols = ["week_start", "active_cases", "new_cases", "high_acuity_cases", "trauma_exposures",
            "critical_incidents", "hours_worked", "overtime_hours"]
    t = cl[[c for c in cols if c in cl]]
    st.dataframe(t.assign(week_start=t["week_start"].dt.strftime("%Y-%m-%d"))
                 .rename(columns=lambda c: c.replace("_", " ").capitalize()), hide_index=True, width="stretch")
