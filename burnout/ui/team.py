"""Team overview (lead): the lead's own team only.

Aggregates follow privacy.py (distinct people, groups of 5 or more, protected
against the helpers the lead can see one by one); individual rows appear only
for helpers who chose to share their results; caseload figures are operational
and shown for everyone in the team.  Every view of individual self-report is
written to the audit log.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from burnout import privacy
from burnout.checkin import escape_md
from burnout.domain.time import today
from burnout.errors import InputError
from burnout.store.notes import STATUSES, action_notes, save_action_note
from burnout.ui import common
from burnout.views.data import TREND_MEASURES
from burnout.views.tables import for_screen
from burnout.views.team import DRIVER_WORDS, WORKPLACE_DRIVERS, link_words, sharing_summary

user = common.require_role("lead")
engine = common.engine()
team = user.get("team_id")

st.title(f"Team {escape_md(team)}" if team else "Team")
if not team:
    st.warning("Your account is not linked to a team yet; your admin can link it.")
    st.stop()
st.caption("This page is about workloads and how the team is doing, so you can change what the team "
           "needs. It is not a performance view.")


if not privacy.can_view_team(user, team):
    st.error("This page is not available for your account.")
    st.stop()
url, key = str(engine.url), common.team_key(team)
measure = st.selectbox("Score shown in the trend and heatmap", list(TREND_MEASURES),
                       format_func=TREND_MEASURES.get, key="team_measure")
drawn = common.team_page(url, team, measure, key)      # built once per change in the team
built, tables = drawn.page, drawn.tables
view = built.view
min_n = view.min_n
as_of = view.as_of
st.info(f"{view.basis_label} Groups under {min_n} people are not shown. "
        + (f"Data up to the week starting {as_of:%d %b %Y}." if as_of is not None else "No data yet."))
if drawn.updating:
    common.updating_note(lambda: common.team_page_ready(url, team, measure))


def _note_form(notes: pd.DataFrame, alert_refs: list[str]) -> None:
    choices = {"new": "A new note"} | {int(r.note_id): f"Update: {str(r.you_said)[:60]}" for r in notes.itertuples()}
    pick = st.selectbox("Add or update", list(choices), format_func=choices.get, key="note_pick")
    current = notes[notes["note_id"] == pick].iloc[0] if pick != "new" else None
    links = {"": "Not linked"} | {f"driver:{d}": f"Driver: {DRIVER_WORDS[d]}" for d in WORKPLACE_DRIVERS} \
        | {f"alert:{a}": f"Alert: {a}" for a in alert_refs}
    cur_link = "" if current is None or not current.get("link_ref") else f"{current['link_kind']}:{current['link_ref']}"
    if cur_link and cur_link not in links:
        links[cur_link] = cur_link
    with st.form("action_note", clear_on_submit=pick == "new"):
        you_said = st.text_area("You said (what the team raised)",
                                value="" if current is None else current["you_said"])
        c1, c2, c3 = st.columns(3)
        owner = c1.text_input("Owner", value="" if current is None or not current.get("owner") else current["owner"])
        due_on = c2.date_input("Due by", value=None if current is None or pd.isna(current.get("due_on"))
                               else pd.Timestamp(current["due_on"]).date(), max_value=today() + dt.timedelta(days=730))
        status = c3.selectbox("Status", STATUSES, index=STATUSES.index(current["status"]) if current is not None
                              and current.get("status") in STATUSES else 0)
        link = st.selectbox("About", list(links), format_func=links.get, index=list(links).index(cur_link))
        we_did = st.text_area("We did (what changed)", value="" if current is None or not current["we_did"]
                              else current["we_did"])
        done_on = st.date_input("Done on", value=None if current is None or pd.isna(current["done_on"])
                                else pd.Timestamp(current["done_on"]).date(),
                                max_value=today() + dt.timedelta(days=365))
        if st.form_submit_button("Save note"):
            kind, _, ref = link.partition(":")
            try:
                save_action_note(engine, user, team, you_said, we_did, done_on,
                                 note_id=None if pick == "new" else int(pick), owner=owner, due_on=due_on,
                                 status=status, link_kind=kind or None, link_ref=ref or None)
                st.success("Saved.")
                st.rerun()
            except InputError as exc:
                st.error(str(exc))


def _audit_seen(helper_ids, what: str) -> None:
    """One audit row per helper, measure and session: the list, heatmap and alerts together."""
    seen = st.session_state.setdefault("_team_audited", set())
    for hid in helper_ids:
        if (hid, measure) not in seen:
            privacy.audit_view(engine, user, hid, what)
            seen.add((hid, measure))


# ------------------------------------------------------------------ worklist
st.subheader("Who may need a conversation")
st.markdown(sharing_summary(view))   # our own words and numbers only
order = st.segmented_control("Sort by", ["risk", "rise"], default="risk", key="worklist_sort",
                             format_func={"risk": "Highest risk", "rise": "Biggest recent rise"}.get) or "risk"
listed, wl = common.team_worklist(url, team, order, drawn.key) if len(view.consenting) else ((), None)
if not listed:
    st.caption("No helper shares individual results with you yet, so there is no list; the group figures "
               "below still show how the team is doing.")
else:
    _audit_seen(listed, f"team page: conversation list, weekly {measure} heatmap and band alerts")
    # the next step is what the list is for: the figures take narrow columns so it stays in view
    narrow = [c for c in wl.column_names if c.startswith(("Risk", "Change", "Caseload", "Weeks"))]
    # a narrow column cut its long header ("Change ove…"): a short one, the whole wording on hover
    short = {"Change": "Change", "Caseload": "Caseload", "Weeks": "High weeks"}
    headers = {c: next((v for k, v in short.items() if c.startswith(k)), c) for c in narrow}
    # rows taller than 4rem let Streamlit wrap text: at 1400 px the whole next step shows in two lines
    st.dataframe(wl, hide_index=True, width="stretch", row_height=72,
                 column_config={"Suggested next step": st.column_config.TextColumn(width=270),
                                "Helper": st.column_config.TextColumn(width=130),
                                "Top workplace driver": st.column_config.TextColumn(width=150),
                                **{c: st.column_config.Column(headers[c], width="small",
                                                              help=None if headers[c] == c else c)
                                   for c in narrow}})
    st.caption("A suggestion about workload and support, not a verdict: start by asking what would help.")

# ------------------------------------------------------------------ risk and trend
left, right = st.columns(2)
with left:
    st.subheader("Burnout risk across the team")
    common.chart(built.bands_chart, "team_bands", tables["bands"])
with right:
    st.subheader("Team trend")
    common.chart(built.trend_chart, "team_trend", tables["trend"])
    st.caption(f"Only weeks with {min_n} or more people who answered are drawn.")

# ------------------------------------------------------------------ heatmap
st.subheader("Week by week")
if view.heatmap_kind == "helpers":
    _audit_seen(view.consenting["helper_id"], f"team page: weekly {measure} heatmap and band alerts")
if view.heatmap_rows:
    options, n_weeks = list(built.heatmap_weeks), built.heatmap_weeks[-1]
    shown_weeks = st.segmented_control(
        "Weeks shown", options, default=built.heatmap_default, key="team_heat_weeks",
        format_func=lambda w: f"All {w} weeks" if w == n_weeks else f"Last {w}",
        help="Fewer weeks keep each cell readable on a phone; the table below holds the same weeks.") \
        or built.heatmap_default
    heat, heat_table = common.team_heatmap(url, team, measure, int(shown_weeks), drawn)
    common.chart(heat, "team_heatmap", heat_table)
st.caption(view.heatmap_note)
if view.private_note:
    st.caption(view.private_note)

# ------------------------------------------------------------------ caseload
st.subheader("Caseload pressure")
if built.scatter_chart is not None:
    common.chart(built.scatter_chart, "team_scatter", tables["scatter"])
else:
    st.caption("The scatter of caseload against burnout needs helpers who share their individual results; "
               "none do yet. Caseloads are below.")
# a table grid costs the browser more than a chart: drawn once opened, like the charts' tables
caseloads = st.expander("Caseloads in the team (operational figures, last 4 weeks)", key="team_caseload_box",
                        on_change="rerun")
if caseloads.open:
    caseloads.dataframe(tables["caseload"], hide_index=True, width="stretch")
st.download_button("Download caseloads (CSV)", drawn.caseload_csv,
                   file_name=f"caseloads_{team}.csv", mime="text/csv", key="dl_caseload")

# ------------------------------------------------------------------ alerts and drivers
left, right = st.columns(2)
with left:
    st.subheader("Alerts")
    st.caption("Alerts fire only on a real change: a band held for two weeks, or a team shift that is "
               "statistically clear over four weeks.")
    al = view.alerts
    hal = view.helper_alerts
    if al.empty and hal.empty:
        st.success("No real change to report.")
    for msg in al.get("message", []):
        st.warning(escape_md(msg))
    for msg in hal.get("message", []):
        st.info(escape_md(msg))
with right:
    st.subheader("What the team reports")
    st.caption("How people say they are: their answers, ranked by how much each adds to the team's risk.")
    if view.symptoms.empty:
        st.caption(f"Shown once {min_n} or more people in the team have a risk estimate.")
    else:
        st.dataframe(tables["symptoms"], hide_index=True, width="stretch", key="team_symptoms")

# causes apart from symptoms: what the organisation can change, each with a first step and its notes
st.subheader("What is driving it")
st.caption("Workplace factors, ranked by how much each adds to the team's risk — the same ranking as each "
           "helper's own drivers. Each has a suggested first step; record what you do in the "
           "[action notes](#action-notes) and link the note to the factor.")
notes = action_notes(engine, team)      # read once a rerun: another lead of the team may have written one
if view.causes.empty:
    st.caption("No workplace factor stands out above its normal level"
               + ("." if len(view.drivers) else f", or fewer than {min_n} people have a risk estimate."))
else:
    st.dataframe(for_screen(view.causes_table(notes)), hide_index=True, width="stretch",
                 key="team_causes")

# ------------------------------------------------------------------ participation
st.subheader("Check-in participation")
common.chart(built.participation_chart, "team_participation", tables["participation"])
st.caption("Only how many checked in — never who did or did not.")

# ------------------------------------------------------------------ action notes
st.subheader('Action notes: "you said, we did"', anchor="action-notes")
st.caption("An action has an owner, a due date and a status. Link it to a workplace driver or an alert, and "
           "once it is done the team can see whether it helped.")
follow = built.follow_up(notes)
alert_refs = [str(m)[:80] for m in view.alerts.get("message", [])]
if notes.empty:
    st.caption("No notes yet. Write down what the team raised and what was done about it.")
for _, n in notes.iterrows():
    with st.container(border=True):
        status = n.get("status") or "planned"
        head = [f"**{status.capitalize()}**"]
        if n.get("owner"):
            head.append(f"owner: {escape_md(n['owner'])}")
        if pd.notna(n.get("due_on")):
            head.append(f"due {pd.Timestamp(n['due_on']):%d %b %Y}")
        if n.get("link_ref"):
            head.append(f"about the {escape_md(link_words(n.get('link_kind'), n['link_ref']))}")
        st.caption(" · ".join(head))
        st.markdown(f"**You said** ({n['created_at']:%d %b %Y}): {escape_md(n['you_said'])}")
        if n["we_did"]:
            done = f" ({pd.Timestamp(n['done_on']):%d %b %Y})" if pd.notna(n["done_on"]) else ""
            st.markdown(f"**We did**{done}: {escape_md(n['we_did'])}")
        else:
            st.caption("Nothing recorded yet.")
        if int(n["note_id"]) in follow:
            st.markdown(f":material/compare_arrows: **Before → after:** {escape_md(follow[int(n['note_id'])])}")

# the form's dozen widgets took the browser longer to lay out than a chart, on every visit of
# every lead: built once its box is opened, which then stays open across reruns (its key)
writing = st.expander("Add or update a note", key="note_form_box", icon=":material/edit_note:", on_change="rerun")
if writing.open:
    with writing:
        _note_form(notes, alert_refs)
