"""Sign-in page (and the one-time admin setup when no account exists)."""
from __future__ import annotations

import streamlit as st

from burnout import auth, seed
from burnout.errors import InputError
from burnout.ui import common


def render_login() -> None:
    engine = common.engine()
    st.title("Helper wellbeing")
    st.write("A weekly check-in for helping teams. It exists to fix workloads and systems, "
             "never to judge or watch the people doing the work. Your answers are yours.")
    if seed.is_demo(engine):
        st.info("Demo organisation: every person and number here is synthetic. "
                "An admin can clear it on the Data page.", icon=":material/science:")
    if st.session_state.pop("expired", False):
        st.info("You were signed out after a period of inactivity. Please sign in again.")
    if not auth.has_admin(engine) and not seed.is_demo(engine):
        _setup_admin(engine)
        return
    with st.form("login"):
        username = st.text_input("Username", key="login_user")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        user = auth.authenticate(engine, username, password)
        if user is None:
            st.error("That username and password do not match an active account.")
        else:
            st.session_state["user"] = user
            st.session_state["last_seen"] = common.now()
            st.rerun()
    if seed.is_demo(engine):
        with st.expander("Demo accounts", expanded=True):
            st.write(f"This is a demo organisation with synthetic people. Every demo account uses the "
                     f"password `{seed.DEMO_PASSWORD}`.")
            people = seed.demo_users(engine)
            what = {"admin": "imports data, manages users and settings", "hr": "organisation review",
                    "lead": "team overview", "helper": "weekly check-in and own results"}
            st.markdown("\n".join(
                f"- `{r.username}` — {r.role}: {what.get(r.role, '')}"
                + (f" (team {r.team_id})" if isinstance(r.team_id, str) else "")
                for r in people.itertuples()))


def _setup_admin(engine) -> None:
    st.subheader("First start: create the administrator account")
    with st.form("setup_admin"):
        username = st.text_input("Admin username", key="setup_user")
        password = st.text_input("Password (at least 8 characters)", type="password", key="setup_password")
        submitted = st.form_submit_button("Create admin account", type="primary")
    if submitted:
        try:
            auth.create_user(engine, username, password, "admin", actor="setup")
        except InputError as exc:
            st.error(str(exc))
        else:
            st.success("Admin account created. Sign in below.")
            st.rerun()
