"""Streamlit entry point: first start, login, navigation by role. Nothing else."""
from __future__ import annotations

import os

import streamlit as st

from burnout import auth, seed
from burnout.store import is_empty
from burnout.ui import common

st.set_page_config(page_title="Helper wellbeing", page_icon=":material/spa:", layout="wide")

UI = "burnout/ui"
PAGES = {
    "checkin": st.Page(f"{UI}/checkin.py", title="Weekly check-in", icon=":material/edit_note:", url_path="checkin"),
    "my_wellbeing": st.Page(f"{UI}/my_wellbeing.py", title="My wellbeing", icon=":material/spa:", url_path="my-wellbeing"),
    "team": st.Page(f"{UI}/team.py", title="Team", icon=":material/groups:", url_path="team"),
    "helper_detail": st.Page(f"{UI}/helper_detail.py", title="Helper detail", icon=":material/person_search:", url_path="helper"),
    "org_review": st.Page(f"{UI}/org_review.py", title="Organisation review", icon=":material/domain:", url_path="review"),
    "data_admin": st.Page(f"{UI}/data_admin.py", title="Data", icon=":material/upload_file:", url_path="data"),
    "settings_admin": st.Page(f"{UI}/settings_admin.py", title="Users & settings", icon=":material/settings:", url_path="settings"),
}
ROLE_PAGES = {
    "helper": ["checkin", "my_wellbeing"],
    "lead": ["team", "helper_detail"],
    "hr": ["org_review"],
    "admin": ["data_admin", "settings_admin", "org_review"],
}


def first_start(engine) -> None:
    """Seed the demo organisation into an empty database unless BURNOUT_DEMO=0."""
    if st.session_state.get("_first_start_done"):
        return
    auth.ensure_env_admin(engine)
    if os.environ.get("BURNOUT_DEMO", "1") != "0" and is_empty(engine) and not seed.demo_was_cleared(engine):
        with st.spinner("Setting up the demo organisation (first start only)…"):
            seed.seed_demo(engine)
    st.session_state["_first_start_done"] = True


def sign_out() -> None:
    """Forget the session; a single sign-on session also signs out of Streamlit's identity cookie.

    Runs as the button's callback, so no st.rerun() follows st.logout() (a rerun could drop
    the logout redirect before it reaches the browser).
    """
    came_from_sso = bool(st.session_state.get("sso"))
    st.session_state.clear()
    st.session_state["_first_start_done"] = True
    if came_from_sso:
        st.logout()


def pages_for(user: dict) -> list:
    keys = list(ROLE_PAGES.get(user["role"], []))
    if user["role"] != "helper" and user.get("helper_id"):
        keys = ROLE_PAGES["helper"] + keys   # a lead who also carries a caseload checks in too
    return [PAGES[k] for k in keys]


engine = common.engine()
first_start(engine)
user = common.current_user()
if user is not None and auth.session_expired(st.session_state.get("last_seen"),
                                             common.settings().session_minutes, common.now()):
    came_from_sso = bool(st.session_state.get("sso"))
    st.session_state.clear()
    st.session_state["_first_start_done"] = True
    st.session_state["expired"] = True
    if came_from_sso:
        st.logout()     # the identity cookie would otherwise sign the person straight back in
    user = None

if user is None:
    from burnout.ui.login import render_login

    st.navigation([st.Page(render_login, title="Sign in", icon=":material/login:")], position="hidden").run()
else:
    st.session_state["last_seen"] = common.now()
    with st.sidebar:
        st.caption(f"Signed in as **{user['username']}** ({user['role']})")
        if seed.is_demo(engine):
            st.info("Demo organisation: all people and numbers are synthetic.", icon=":material/science:")
        st.button("Sign out", key="sign_out", on_click=sign_out)
    st.navigation(pages_for(user)).run()
