"""Users & settings (admin): accounts and roles; organisation settings
(privacy threshold, check-in schedule, caseload standards, turnover costs and
rates, resources shown to helpers)."""
from __future__ import annotations

from typing import Mapping

import pandas as pd
import streamlit as st

from burnout import auth, checkin, leaving, privacy, risk
from burnout.domain.settings import MIN_COMMENT_GROUP, MIN_GROUP_SIZE, TEAM_KINDS, team_kind_label
from burnout.instruments import load
from burnout.store import settings as saved_settings
from burnout.store.writes import set_client_word
from burnout.checkin import escape_md
from burnout.errors import InputError
from burnout.store import frames
from burnout.ui import common
from burnout.views import weights as risk_weights

user = common.require_role("admin")
engine = common.engine()
actor = user["username"]

st.title("Users & settings")
if flash := st.session_state.pop("settings_flash", None):
    st.success(escape_md(flash))


def users_table(df: pd.DataFrame) -> pd.DataFrame:
    """The accounts in plain words: no internal ids, blanks instead of "None"."""
    out = pd.DataFrame({
        "Username": df["username"],
        "Role": df["role"].map({"helper": "Helper", "lead": "Team lead", "hr": "HR", "admin": "Admin"})
        .fillna(df["role"]),
        "Roster entry": df["helper_id"].fillna(""),
        "Team": df["team_id"].fillna(""),
        "Can sign in": [("yes" if pw else "invited") if act else "no"
                        for act, pw in zip(df["active"].astype(bool), df["has_password"].astype(bool))],
        "Demo account": df["is_demo"].map(lambda v: "yes" if bool(v) else ""),
        "Created": pd.to_datetime(df["created_at"]).dt.strftime("%d %b %Y"),
    })
    return out


def show_invite(username: str, token: str) -> None:
    """The link to hand over (shown once; only its hash is stored)."""
    hours = auth.setting(engine, "invite_hours")
    st.session_state["invite_flash"] = (username, auth.invite_link(token, common.site_url()), hours)


def saved(message: str) -> None:
    st.session_state["settings_flash"] = message
    st.rerun()


def save(values: dict, message: str) -> None:
    try:
        saved_settings.save(engine, values, actor=actor)
    except InputError as exc:
        st.error(f"Not saved: {escape_md(exc)}")
    else:
        saved(message)


COST_COL = "cost per departure, $ (optional, wins)"
REF_COL = "burnout prevalence behind that rate (0–1)"
REF_SOURCE_COL = "source of that prevalence"
OWN_COL = "your own annual turnover (0–1, optional)"


def turnover_values(cost_edit: pd.DataFrame, rate_edit: pd.DataFrame, dm, dr, own_all, rr, rr_lo, rr_hi, f_lo,
                    f_hi) -> dict:
    """The turnover form as settings values; each is checked by the Settings'
    own validator when saved (store.settings.save), nothing here."""
    own = dict(zip(rate_edit["team kind"], rate_edit[OWN_COL]))
    own["all"] = own_all
    return {"cost_multiplier": dict(zip(cost_edit["role"], cost_edit["multiplier (× salary)"])),
            "cost_per_departure": dict(zip(cost_edit["role"], cost_edit[COST_COL])),
            "default_cost_multiplier": dm,
            "base_turnover": dict(zip(rate_edit["team kind"], rate_edit["base annual turnover (0–1)"])),
            "reference_burnout_rate": dict(zip(rate_edit["team kind"], rate_edit[REF_COL])),
            "reference_burnout_source": {k: str(v or "") for k, v in zip(rate_edit["team kind"],
                                                                         rate_edit[REF_SOURCE_COL])},
            "observed_turnover": own,
            "default_base_turnover": dr, "relative_risk": rr, "relative_risk_low": rr_lo,
            "relative_risk_high": rr_hi, "cost_low_factor": f_lo, "cost_high_factor": f_hi}
tab_users, tab_privacy, tab_schedule, tab_teams, tab_caseload, tab_costs, tab_resources, tab_weights = st.tabs(
    ["Users", "Privacy & sessions", "Check-in schedule", "Teams", "Caseload standards", "Turnover costs",
     "Resources", "Risk weights"])
s = saved_settings.load(engine)
roster = frames.roster(engine, s)
teams = frames.teams_frame(engine)

# ------------------------------------------------------------------ users
with tab_users:
    if invite := st.session_state.pop("invite_flash", None):
        name, link, hours = invite
        st.success(f"One-time invite link for {escape_md(name)}, valid {hours} hours. Hand it over "
                   "privately (in person, or a message only they read); they choose their own password. "
                   "It is shown only now.")
        st.code(link, language=None)
    users_df = auth.users_frame(engine)
    st.dataframe(users_table(users_df), hide_index=True, width="stretch")
    st.subheader("Add a user")
    st.caption("You create the account; the person sets their own password through a one-time invite link, "
               "so nobody else ever knows it. Helpers are linked to their roster entry; team leads to their "
               "team. Leads who also carry a caseload can be linked to their roster entry too, so they can "
               "check in. Helper accounts can also come with the roster (a `username` or `email` column).")
    with st.form("create_user", clear_on_submit=True):
        c1, c2 = st.columns(2)
        new_name = c1.text_input("Username", key="new_username")
        new_email = c2.text_input("E-mail (optional, for single sign-on)", key="new_email")
        c3, c4, c5 = st.columns(3)
        new_role = c3.selectbox("Role", privacy.ROLES, key="new_role")
        new_helper = c4.selectbox("Roster entry (helper id)", [None, *roster["helper_id"].tolist()],
                                  format_func=lambda h: "(none)" if h is None else h, key="new_helper")
        new_team = c5.selectbox("Team (for a team lead)", [None, *teams["team_id"].tolist()],
                                format_func=lambda t: "(none)" if t is None else t, key="new_team")
        if st.form_submit_button("Create user and invite link", type="primary"):
            try:
                auth.create_user(engine, new_name, None, new_role, helper_id=new_helper, team=new_team,
                                 email=new_email, actor=actor)
                token = auth.create_invite(engine, new_name, actor=actor)
            except InputError as exc:
                st.error(f"Not created: {escape_md(auth.plain_message(exc))}")
            else:
                show_invite(new_name.strip(), token)
                saved(f"User {new_name.strip()} created.")

    waiting = users_df[~users_df["has_password"].astype(bool) & users_df["active"].astype(bool)]
    if len(waiting):
        st.subheader("Invite links for everyone without a password")
        st.caption(f"{len(waiting)} account(s) have not set a password yet (for example helpers imported with "
                   "the roster). This makes a new link for each (earlier links stop working) as a CSV to hand "
                   "over; keep the file private and delete it once the links are handed out.")
        if st.button("Make invite links", key="bulk_invites"):
            st.session_state["bulk_invites"] = auth.pending_invites(engine, common.site_url(), actor=actor).to_csv(
                index=False).encode()
        if data := st.session_state.get("bulk_invites"):
            st.download_button("Download invite links (CSV)", data, file_name="invite-links.csv",
                               mime="text/csv", key="bulk_invites_csv")

    if len(users_df):
        st.subheader("Change an account")
        who = st.selectbox("Account", users_df["username"].tolist(), key="manage_user")
        row = users_df.set_index("username").loc[who]
        c1, c2 = st.columns(2)
        with c1:
            if who == actor:
                st.caption("You cannot disable your own account.")
            elif bool(row["active"]):
                if st.button("Disable this account", key="disable_user"):
                    try:
                        auth.set_active(engine, who, False, actor=actor)
                    except InputError as exc:
                        st.error(escape_md(auth.plain_message(exc)))
                    else:
                        saved(f"{who} can no longer sign in; their open sessions have ended.")
            else:
                if st.button("Enable this account", key="enable_user"):
                    auth.set_active(engine, who, True, actor=actor)
                    saved(f"{who} can sign in again.")
        with c2:
            st.caption("A reset stops the old password, ends every open session of the account and makes a new "
                       "one-time invite link, through which the person sets a new password.")
            if st.button("Reset password (new invite link)", key="reset_user", disabled=who == actor):
                token = auth.reset_account(engine, who, actor=actor)
                show_invite(who, token)
                saved(f"Password of {who} reset; their open sessions have ended.")

    st.subheader("Locked sign-ins")
    locked = auth.locked_accounts(engine)
    if locked.empty:
        st.caption("No account or client is locked after wrong passwords right now.")
    else:
        st.dataframe(locked, hide_index=True, width="stretch")
        pick = st.selectbox("Unlock", [f"{k}: {w}" for k, w in zip(locked["kind"], locked["who"])],
                            key="unlock_pick")
        if st.button("Unlock", key="unlock_btn"):
            kind, who_locked = pick.split(": ", 1)
            auth.unlock(engine, who_locked, kind, actor=actor)
            saved(f"Sign-in for {who_locked} unlocked.")

# ------------------------------------------------------------------ privacy
with tab_privacy:
    st.write("Group figures shown to anyone other than the helper count distinct respondents; a group "
             "smaller than the minimum is hidden. The minimum can never be set below "
             f"{MIN_GROUP_SIZE} for scores and {MIN_COMMENT_GROUP} for comments.")
    with st.form("privacy_form"):
        mg = st.number_input("Minimum group size for scores", min_value=MIN_GROUP_SIZE,
                             max_value=1000, value=s.min_group_size,
                             step=1, key="set_min_group")
        mc = st.number_input("Minimum group size for comments", min_value=MIN_COMMENT_GROUP,
                             max_value=1000, value=s.min_comment_group,
                             step=1, key="set_min_comment")
        sm = st.number_input("Sign people out after this many minutes without activity", min_value=5,
                             max_value=1440, value=s.session_minutes, step=5, key="set_session")
        if st.form_submit_button("Save", type="primary"):
            save({"min_group_size": mg, "min_comment_group": mc, "session_minutes": sm},
                 "Privacy and session settings saved.")
    st.caption(f"Defaults: {MIN_GROUP_SIZE} for scores and {MIN_COMMENT_GROUP} for comments "
               "(as Viva Glint, Qualtrics and Culture Amp use).")
    st.markdown("**Sign-in protection**")
    with st.form("signin_form"):
        c1, c2, c3 = st.columns(3)
        free = c1.number_input("Wrong passwords before waits begin", min_value=1, max_value=20,
                               value=int(s.signin_free_failures), key="set_signin_free")
        lock = c2.number_input("Wrong passwords in a row that lock an account", min_value=2, max_value=100,
                               value=int(s.signin_lock_failures), key="set_signin_lock")
        lock_min = c3.number_input("Minutes a locked account waits", min_value=1.0, max_value=1440.0,
                                   value=float(s.signin_lock_minutes), key="set_signin_lock_min")
        c1, c2 = st.columns(2)
        max_h = c1.number_input("Longest session, in hours, whatever the activity", min_value=1.0,
                                max_value=336.0, value=float(s.session_max_hours), key="set_session_max")
        invite_h = c2.number_input("Hours an invite link works", min_value=1.0, max_value=720.0,
                                   value=float(s.invite_hours), key="set_invite_hours")
        if st.form_submit_button("Save", type="primary"):
            save({"signin_free_failures": free, "signin_lock_failures": lock, "signin_lock_minutes": lock_min,
                  "session_max_hours": max_h, "invite_hours": invite_h}, "Sign-in settings saved.")

# ------------------------------------------------------------------ schedule
with tab_schedule:
    st.write("How often each questionnaire is offered in a helper's check-in, in weeks. Fewer, shorter "
             "check-ins keep people answering.")
    sched = s.checkin_schedule
    with st.form("schedule_form"):
        cols = st.columns(4)
        values = {}
        for col, name in zip(cols, checkin.ORDER):
            values[name] = col.number_input(load(name).title, min_value=1, max_value=52,
                                            value=int(sched.get(name, 1)), step=1, key=f"set_every_{name}")
        if st.form_submit_button("Save", type="primary"):
            save({"checkin_schedule": values}, "Check-in schedule saved.")

# ------------------------------------------------------------------ teams
with tab_teams:
    st.write("The word each team uses for the people it serves. It replaces \"client\" in the "
             "client-related questions of the team's check-in (for example resident, family, caller).")
    words = pd.DataFrame({
        "Team": teams["team_id"],
        "Kind of team": teams["kind"].map(lambda k: team_kind_label(k) if k else ""),
        "Word for the people served": teams["client_word"].fillna("client"),
    })
    with st.form("teams_form"):
        edited_words = st.data_editor(words, hide_index=True, width="stretch", key="edit_client_words",
                                      disabled=["Team", "Kind of team"])
        if st.form_submit_button("Save", type="primary"):
            changed = [(t, w) for t, w, old in zip(edited_words["Team"], edited_words["Word for the people served"],
                                                   words["Word for the people served"]) if w != old]
            try:
                for team_id, word in changed:
                    set_client_word(engine, team_id, word, actor=actor)
            except InputError as exc:
                st.error(f"Not saved for team {escape_md(team_id)}: {escape_md(auth.plain_message(exc))}")
            else:
                saved(f"Team words saved ({len(changed)} changed).")

# ------------------------------------------------------------------ caseload standards
with tab_caseload:
    st.write("The recommended active caseload per role. A roster's own `caseload_standard` column wins; "
             "otherwise this; otherwise the team median.")
    roles = sorted(set(s.caseload_standards) | set(roster["role"].dropna().str.lower()))
    table = pd.DataFrame({"role": roles,
                          "standard (active cases)": [s.caseload_standards.get(r) for r in roles]})
    with st.form("caseload_form"):
        edited = st.data_editor(table, hide_index=True, width="stretch", num_rows="dynamic",
                                disabled=False, key="edit_caseload")
        if st.form_submit_button("Save", type="primary"):
            save({"caseload_standards": {r: v for r, v in zip(edited["role"], edited["standard (active cases)"])
                                         if isinstance(r, str) and r.strip() and pd.notna(v)}},
                 "Caseload standards saved.")
    st.markdown("**What an import accepts** (anything outside is refused with its row and column)")
    with st.form("import_limits_form"):
        c1, c2 = st.columns(2)
        most_cases = c1.number_input("Most active cases one helper may hold in a week", min_value=1,
                                     max_value=100_000, value=int(s.import_max_active_cases), key="set_max_cases")
        most_events = c2.number_input("Most trauma exposures or critical incidents in a week", min_value=1,
                                      max_value=10_000, value=int(s.import_max_events_per_week),
                                      key="set_max_events")
        c1, c2, c3 = st.columns(3)
        start = c1.date_input("No answers or caseload weeks before", value=pd.Timestamp(s.organisation_start).date(),
                              key="set_org_start")
        ahead = c2.number_input("Days ahead an answer may be dated", min_value=0, max_value=366,
                                value=int(s.import_future_days), key="set_future_days")
        lead_days = c3.number_input("Days ahead a roster date may be", min_value=0, max_value=3660,
                                    value=int(s.roster_start_lead_days), key="set_lead_days")
        if st.form_submit_button("Save", type="primary"):
            save({"import_max_active_cases": most_cases, "import_max_events_per_week": most_events,
                  "organisation_start": str(start), "import_future_days": ahead,
                  "roster_start_lead_days": lead_days}, "Import limits saved.")

# ------------------------------------------------------------------ costs and turnover
with tab_costs:
    st.write("Cost of one departure per role: annual salary × multiplier, or a fixed amount in dollars "
             "(\\$, the currency of the roster's salaries and of every cost in the review) when you give one "
             "(it wins). Published ranges: social work 0.3–0.7 × salary, nursing about 1 × salary.")
    st.caption("A role with fewer than the minimum group size of people in a group of a report (a shown "
               "team, or the hidden teams together) uses the multiplier for roles not listed in that report: "
               "its own figure would let someone who changes it work out those few people's expected cost. "
               "When that leaves too few people on the default somewhere, every role uses the default.")
    roles = sorted(set(s.cost_multiplier) | set(s.cost_per_departure) | set(roster["role"].dropna().str.lower()))
    costs = pd.DataFrame({"role": roles,
                          "multiplier (× salary)": [s.cost_multiplier.get(r) for r in roles],
                          COST_COL: [s.cost_per_departure.get(r) for r in roles]})
    kinds = list(TEAM_KINDS)
    ref = s.reference_burnout_rate
    ref_of = (lambda k: ref.get(k)) if isinstance(ref, Mapping) else (lambda k: ref)
    rates = pd.DataFrame({"team kind": kinds, "label": [team_kind_label(k) for k in kinds],
                          "base annual turnover (0–1)": [s.base_turnover.get(k) for k in kinds],
                          REF_COL: [ref_of(k) for k in kinds],
                          REF_SOURCE_COL: [s.reference_burnout_source.get(k, "") for k in kinds],
                          OWN_COL: [s.observed_turnover.get(k) for k in kinds]})
    with st.form("costs_form"):
        cost_edit = st.data_editor(costs, hide_index=True, width="stretch", key="edit_costs",
                                   disabled=["role"], column_config={COST_COL: st.column_config.NumberColumn(
                                       COST_COL, min_value=0, step=1000, format="dollar",
                                       help="A fixed cost of one departure in dollars; leave empty to use "
                                            "salary × multiplier.")})
        dm = st.number_input("Multiplier for roles not listed", min_value=0.0, max_value=5.0, step=0.1,
                             value=float(s.default_cost_multiplier), key="set_default_mult")
        st.markdown("**Base turnover by team kind** (all-cause leavers per year as a share of staff)")
        st.caption("A national base rate was observed at some burnout prevalence: give that prevalence and "
                   "where it comes from, so a team with more burnout than the reference gets more expected "
                   "leavers and one with less gets fewer. If you know your own turnover for a kind of team, "
                   "enter it: it replaces the national rate and the estimate says it is calibrated to it.")
        rate_edit = st.data_editor(rates, hide_index=True, width="stretch", key="edit_rates",
                                   disabled=["team kind", "label"], column_config={
                                       REF_COL: st.column_config.NumberColumn(REF_COL, min_value=0.0, max_value=1.0,
                                                                              step=0.01),
                                       OWN_COL: st.column_config.NumberColumn(OWN_COL, min_value=0.0, max_value=1.0,
                                                                              step=0.01),
                                       REF_SOURCE_COL: st.column_config.TextColumn(REF_SOURCE_COL)})
        c1, c2 = st.columns(2)
        dr = c1.number_input("Base turnover for other teams (0–1)", min_value=0.0, max_value=1.0, step=0.01,
                             value=float(s.default_base_turnover), key="set_default_rate")
        own_all = c2.number_input("Your own annual turnover, all teams (0–1, optional)", min_value=0.0,
                                  max_value=1.0, step=0.01, value=s.observed_turnover.get("all"),
                                  key="set_observed_all", help="Used for kinds of team without their own figure.")
        rr = st.number_input("How much more likely a burned-out helper is to leave (relative risk)",
                             min_value=1.0, max_value=10.0, step=0.1, value=float(s.relative_risk),
                             key="set_rr")
        st.markdown("**Ranges behind every estimate** (each figure is shown with the range these give)")
        c1, c2, c3, c4 = st.columns(4)
        rr_lo = c1.number_input("Relative risk: lowest", min_value=1.0, max_value=10.0, step=0.1,
                                value=float(s.relative_risk_low), key="set_rr_low")
        rr_hi = c2.number_input("Relative risk: highest", min_value=1.0, max_value=10.0, step=0.1,
                                value=float(s.relative_risk_high), key="set_rr_high")
        f_lo = c3.number_input("Cost of a departure: lowest (× its figure)", min_value=0.0, max_value=1.0,
                               step=0.05, value=float(s.cost_low_factor), key="set_cost_low")
        f_hi = c4.number_input("Cost of a departure: highest (× its figure)", min_value=1.0, max_value=10.0,
                               step=0.05, value=float(s.cost_high_factor), key="set_cost_high")
        st.caption("Published: relative risk 1.5–2.7 around 2.0; social-work departures cost 0.3–0.7 × salary "
                   "around 0.5 (so 0.6–1.4 × the figure). A range always includes the central value.")
        if st.form_submit_button("Save", type="primary"):
            save(turnover_values(cost_edit, rate_edit, dm, dr, own_all, rr, rr_lo, rr_hi, f_lo, f_hi),
                 "Turnover cost settings saved.")

# ------------------------------------------------------------------ resources
with tab_resources:
    st.write("What helpers see after a check-in. Put your own EAP number, supervision arrangements and local "
             "crisis lines here. Text is shown exactly as typed.")
    with st.form("resources_form"):
        st.markdown("**Everyday resources**")
        res = st.data_editor(pd.DataFrame(checkin.resources(s)), hide_index=True, width="stretch",
                             num_rows="dynamic", key="edit_resources")
        st.markdown("**Crisis path** (shown when answers are severe)")
        crisis = st.data_editor(pd.DataFrame(checkin.crisis_resources(s)), hide_index=True, width="stretch",
                                num_rows="dynamic", key="edit_crisis")
        if st.form_submit_button("Save", type="primary"):
            save({"resources": res.to_dict("records"), "crisis_resources": crisis.to_dict("records")},
                 "Resources saved.")

# ------------------------------------------------------------------ risk weights
with tab_weights:
    st.write("The risk score adds up answers and workplace factors with weights. By default they are the "
             "national ones. With at least 20 helpers who left in your own records, the weights can be "
             "fitted to who actually left here: no weight can go below zero, so more strain never lowers the "
             "score, and answers and workplace factors keep their shares. Every risk and leaving figure is "
             "then labelled \"fitted on your organisation\".")
    st.info(escape_md(leaving.weights_text(s)))
    if s.risk_weights_fit is not None:
        st.caption(escape_md(leaving.FittedWeights(dict(s.risk_weights), leaving.WEIGHTS_FITTED, "",
                                                   auc_national=s.risk_weights_fit.get("auc_national"),
                                                   auc_fitted=s.risk_weights_fit.get("auc_fitted")).auc_text()))
    if st.button("Fit the weights on our own leavers", key="fit_weights"):
        st.session_state["weights_fit"] = risk_weights.fit(engine)
    fitted = st.session_state.get("weights_fit")
    if fitted is not None:
        st.write(escape_md(fitted.reason))
        if fitted.auc_text():
            st.write(escape_md(fitted.auc_text()))
        now_w = dict(risk.DEFAULT_WEIGHTS) | dict(s.risk_weights or {})
        st.dataframe(pd.DataFrame({"Part of the score": [risk.COMPONENT_LABELS[n] for n in risk.NAMES],
                                   "Weight now": [round(now_w[n], 3) for n in risk.NAMES],
                                   "Fitted weight" if fitted.fitted else "National weight":
                                       [round(float(fitted.weights[n]), 3) for n in risk.NAMES]}),
                     hide_index=True, width="stretch")
        if fitted.fitted and st.button("Use the fitted weights", key="save_weights", type="primary"):
            st.session_state.pop("weights_fit", None)
            try:
                risk_weights.save_fitted(engine, fitted, actor)
            except InputError as exc:
                st.error(f"Not saved: {escape_md(exc)}")
            else:
                saved(f"Risk weights fitted on your organisation saved ({fitted.leavers} own leavers). "
                      "Every risk figure is recomputed with them.")
    if s.risk_weights is not None and st.button("Go back to the national weights", key="revert_weights"):
        st.session_state.pop("weights_fit", None)
        risk_weights.revert(engine, actor)
        saved("Risk weights set back to the national defaults. Every risk figure is recomputed with them.")
