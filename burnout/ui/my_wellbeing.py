"""My wellbeing (helper): own trends, own caseload next to own scores, export of
all own data, the sharing choice, and a deletion request.  Only the helper sees this."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from burnout import checkin, privacy, selfservice
from burnout.instruments import load
from burnout.store import frames
from burnout.store.notes import action_notes
from burnout.ui import common

user = common.require_role("helper")
engine = common.engine()
helper_id = user.get("helper_id")

st.title("My wellbeing")
if not helper_id:
    st.warning("Your account is not linked to a helper in the roster yet; your admin can link it.")
    st.stop()
st.caption("Only you see this page. Everything here is your own data.")

scores = frames.scores(engine, helper_id)
caseload = frames.caseload(engine, helper_id)
me = frames.roster(engine)
me = me[me["helper_id"] == helper_id]
standard = float(me["caseload_standard"].iloc[0]) if len(me) and pd.notna(me["caseload_standard"].iloc[0]) else None

fb = checkin.feedback(engine, helper_id, scores_df=scores)
if fb["instruments"]:
    with st.container(border=True):
        st.subheader("Where you are now")
        for name, entry in fb["instruments"].items():
            st.markdown(f"**{load(name).title}** · {entry['submitted_at']:%d %b %Y}")
            for s in entry["scores"].values():
                st.markdown(f"- {checkin.escape_md(s['sentence'])}")
        if fb["severe"]:
            st.warning("Your latest answers were very hard ones. You don't have to carry this alone.",
                       icon=":material/favorite:")
            for r in checkin.crisis_resources(common.settings()):
                st.markdown(f"**{checkin.escape_md(r['title'])}**  \n{checkin.escape_md(r['detail'])}")
else:
    st.info("No check-ins yet. Your trends will appear here after your first weekly check-in.")

# ------------------------------------------------------------------ trends
st.header("My trends")
have = [n for n in checkin.ORDER if (scores["instrument"] == n).any()]
if have:
    tabs = st.tabs([load(n).title for n in have])
    for tab, name in zip(tabs, have):
        with tab:
            inst = load(name)
            if inst.label:
                st.caption(f"A {inst.label}.")
            if name == "proqol5":
                st.caption("Shading shows the ProQOL self-score bands (low ≤ 22, moderate 23–41, high ≥ 42); "
                           "for compassion satisfaction, higher is better. " + inst.credit)
            st.plotly_chart(selfservice.trend_figure(scores, name), width="stretch", key=f"trend_{name}")
            table = selfservice.trend_table(scores, name)
            with st.expander("Show as a table"):
                st.dataframe(table, hide_index=True, width="stretch")
                st.download_button("Download this table (CSV)",
                                   privacy.neutralise_formulas(table.astype(object)).to_csv(index=False)
                                   .encode("utf-8-sig"),
                                   file_name=f"my_{name}_scores.csv", mime="text/csv", key=f"dl_{name}")

# ------------------------------------------------------------------ caseload
st.header("My caseload next to my scores")
st.caption("Burnout mostly follows workload and exposure, not personal weakness. "
           "Seeing both together helps you and your lead talk about the load, not about you.")
weekly = selfservice.own_weekly(scores, caseload, standard)
if caseload.empty:
    st.info("No caseload figures have been imported for you yet.")
elif len(weekly):
    st.plotly_chart(selfservice.caseload_figure(weekly), width="stretch", key="caseload_chart")
    with st.expander("Show as a table"):
        shown = weekly.rename(columns={
            "week_start": "week starting", "pulse_strain": "strain (0–100)", "pulse_trauma_load": "trauma load (0–100)",
            "pulse_support": "support (0–100)", "sib_level": "burnout self-rating (1–5)",
            "active_cases": "active cases", "caseload_standard": "role standard",
            "high_acuity_cases": "high-acuity cases", "trauma_exposures": "trauma exposures",
            "critical_incidents": "critical incidents", "overtime_hours": "overtime hours"})
        shown["week starting"] = shown["week starting"].dt.date
        st.dataframe(shown.round(1), hide_index=True, width="stretch")

# ------------------------------------------------------------------ comments
subs = frames.submissions_frame(engine, helper_id)
notes = subs[subs["comment"].notna()][["submitted_at", "comment"]] if "comment" in subs.columns else subs.iloc[0:0]
if len(notes):
    with st.expander(f"My notes ({len(notes)})"):
        st.caption("Your notes are private: only you see them. Your team lead never does, "
                   "even when you share your individual results.")
        # st.dataframe shows text as text: nothing in a note is interpreted.
        st.dataframe(notes.rename(columns={"submitted_at": "date", "comment": "note"}).sort_values(
            "date", ascending=False), hide_index=True, width="stretch")

# ------------------------------------------------------------------ team changes
my_team = str(me["team"].iloc[0]) if len(me) and pd.notna(me["team"].iloc[0]) else None
if my_team:
    st.header("What your team changed")
    st.caption("What your team raised and what was done about it, as your team lead wrote it down "
               "(\u201cyou said, we did\u201d), written for the whole team.")
    team_notes = action_notes(engine, my_team)
    if team_notes.empty:
        st.info("Nothing written down yet.")
    for _, n in team_notes.head(10).iterrows():
        with st.container(border=True):
            st.markdown(f"**You said** ({pd.Timestamp(n['created_at']):%d %b %Y}): "
                        f"{checkin.escape_md(n['you_said'])}")
            if isinstance(n["we_did"], str) and n["we_did"].strip():
                done = f" ({pd.Timestamp(n['done_on']):%d %b %Y})" if pd.notna(n["done_on"]) else ""
                st.markdown(f"**We did**{done}: {checkin.escape_md(n['we_did'])}")
            else:
                st.caption("Nothing done yet.")
    if len(team_notes) > 10:
        st.caption(f"The 10 most recent of {len(team_notes)} notes.")

# ------------------------------------------------------------------ sharing
st.header("Who sees my results")
consent = selfservice.get_consent(engine, helper_id)
settings = common.settings()
min_group = settings.min_group_size
new_consent = st.toggle("My team lead may see my individual results", value=consent, key="consent_toggle")
if new_consent != consent:
    selfservice.set_consent(engine, helper_id, new_consent, actor=user["username"])
    consent = new_consent
    st.success("Saved. Your team lead can now see your individual results." if consent
               else "Saved. Your team lead now sees only group figures.")
st.caption(settings.group_size_note())
st.markdown(
    f"- **When this is off** (the default), your team lead sees only figures for groups of at least "
    f"{min_group} people, so your answers cannot be picked out. HR sees only organisation-wide groups.\n"
    f"- **When this is on**, your team lead can also see your own scores, their trend over time and your "
    f"risk drivers, next to your caseload, to support you and to make the case for changes to your workload. "
    f"Each time they look, it is written to an audit log, and your data download lists every such view.\n"
    f"- **Your notes stay private** either way: your team lead never sees what you write in a check-in.\n"
    f"- **Either way**, your lead sees your caseload figures, because those are work-allocation records, "
    f"and HR never sees anyone's individual results. You can change this at any time.")

# ------------------------------------------------------------------ export
st.header("My data")
st.write("Download everything stored about you: your profile, every check-in and survey with answers, "
         "scores and notes, your caseload weeks, your sharing choices over time, your deletion requests, "
         "and the log of who opened your individual results and when.")
username = user["username"]
# The file is built only when the button is pressed (and the export is audit-logged then).
st.download_button("Download all my data (CSV)",
                   lambda: selfservice.export_own_data(engine, helper_id, actor=username),
                   file_name=f"my_data_{helper_id}.csv", mime="text/csv", key="export_all",
                   on_click="ignore", icon=":material/download:")

# ------------------------------------------------------------------ deletion
st.header("Delete my answers")
pending = selfservice.open_deletion_request(engine, helper_id)
if pending:
    st.info(f"You asked for your answers to be deleted on {pending['requested_at']:%d %B %Y}. "
            "An admin will complete it; you will then see no results here.")
else:
    st.write("You can ask for all your check-in and survey answers, scores and notes to be deleted. "
             "Your caseload figures stay, because they are the organisation's records of work allocation, "
             "not your self-report. An admin completes the request.")
    confirm = st.checkbox("I understand this deletes all my answers and cannot be undone", key="delete_confirm")
    if st.button("Ask for my answers to be deleted", key="delete_request", disabled=not confirm):
        selfservice.request_deletion(engine, helper_id, actor=user["username"])
        st.success("Your request is recorded. An admin will complete it.")
        st.rerun()
