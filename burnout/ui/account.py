"""My account (every role): change your own password; sign out of every device."""
from __future__ import annotations

import streamlit as st

from burnout import auth
from burnout.checkin import escape_md
from burnout.errors import InputError
from burnout.ui import common

user = common.current_user()
if user is None:
    st.error("This page is not available for your account.")
    st.stop()
engine = common.engine()

st.title("My account")
if flash := st.session_state.pop("account_flash", None):
    st.success(flash)
st.write(f"Signed in as **{escape_md(user['username'])}**.")

st.subheader("Change my password")
if user.get("sso_subject"):
    st.caption("You sign in through your organisation's single sign-on; a password here is only needed "
               "if your admin asks you to use one.")
with st.form("change_password", clear_on_submit=True):
    current = st.text_input("Current password", type="password", key="pw_current", autocomplete="current-password")
    new1 = st.text_input(f"New password (at least {auth.MIN_PASSWORD} characters)", type="password",
                         key="pw_new1", autocomplete="new-password")
    new2 = st.text_input("New password again", type="password", key="pw_new2", autocomplete="new-password")
    submitted = st.form_submit_button("Change password", type="primary")
if submitted:
    if new1 != new2:
        st.error("The two new passwords differ.")
    else:
        try:
            auth.change_own_password(engine, user["user_id"], current, new1)
        except InputError as exc:
            st.error(auth.plain_message(exc))
        else:
            # every session of this account ended with the change, this one too: sign in again
            common.sign_out()
            st.session_state["login_flash"] = "Your password is changed. Please sign in with the new one."
            st.rerun()

st.subheader("Signed in somewhere else?")
st.write("This ends every session of your account, on every device, this one included.")
if st.button("Sign out everywhere", key="sign_out_everywhere"):
    auth.end_user_sessions(engine, user["username"], actor=user["username"])
    common.sign_out()
    st.rerun()
