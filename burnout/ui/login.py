"""Sign-in page (and the one-time admin setup when no account exists).

Local accounts sign in with the form. When ``.streamlit/secrets.toml`` has an
``[auth]`` section with an OIDC provider, a single sign-on button (Streamlit's
``st.login``) sits above the form; the identity that comes back is mapped to the
local account bound to its issuer + subject, or claimed once by its verified
e-mail (``auth.sso_sign_in``).

An invite link (``/?invite=…``) opens the form where the invited person sets
their own password; with no admin yet, the first-admin setup (which needs the
one-time code from the server log) takes the place of the form.
"""
from __future__ import annotations

import logging

import streamlit as st

from burnout import auth, seed
from burnout.errors import InputError
from burnout.ui import common, web

log = logging.getLogger("burnout.ui")


SIGNED_OUT = {
    "expired": "You were signed out after a period of inactivity. Please sign in again.",
    "ended": "Your session has ended (you signed out elsewhere, or your account was changed). "
             "Please sign in again.",
}


def render_login() -> None:
    engine = common.engine()
    st.title("Helper wellbeing")
    st.write("A weekly check-in for helping teams. It exists to fix workloads and systems, "
             "never to judge or watch the people doing the work. Your answers are yours.")
    if seed.is_demo(engine):
        st.info("Demo organisation: every person and number here is synthetic. "
                "An admin can clear it on the Data page.", icon=":material/science:")
    if reason := st.session_state.pop("signed_out_reason", None):
        st.info(SIGNED_OUT.get(reason, SIGNED_OUT["ended"]))
    if message := st.session_state.pop("login_flash", None):
        st.success(message)
    invite = st.query_params.get("invite")
    if invite:
        _accept_invite(engine, invite)
        return
    if not auth.has_admin(engine) and not seed.is_demo(engine):
        _setup_admin(engine)
        return
    providers = sso_providers()
    if providers:
        _single_sign_on(engine, providers)
    with st.form("login"):
        username = st.text_input("Username", key="login_user", autocomplete="username")
        password = st.text_input("Password", type="password", key="login_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        result = auth.sign_in(engine, username, password, client=common.client_address())
        if result.user is None:
            st.error(result.message)
        else:
            common.sign_in_tab(result.user, st.session_state.get("next_path", "/"))
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


def _accept_invite(engine, token: str) -> None:
    """The invited person chooses their own password (nobody else ever knows it)."""
    account = auth.invite_account(engine, token)
    if account is None:
        st.warning("This invite link has expired or was already used; ask your admin for a new one.")
        if st.button("Go to sign-in", key="invite_back"):
            st.query_params.clear()
            st.rerun()
        return
    st.subheader(f"Welcome, {_md(account['username'])}")
    st.write(f"Choose your own password. At least {auth.MIN_PASSWORD} characters; a few unrelated words "
             "together are easy to remember and hard to guess. Nobody else, your admin included, will know it.")
    with st.form("accept_invite"):
        pw1 = st.text_input("New password", type="password", key="invite_pw1", autocomplete="new-password")
        pw2 = st.text_input("New password again", type="password", key="invite_pw2", autocomplete="new-password")
        submitted = st.form_submit_button("Set my password", type="primary")
    if submitted:
        if pw1 != pw2:
            st.error("The two passwords differ.")
            return
        try:
            auth.accept_invite(engine, token, pw1)
        except InputError as exc:
            st.error(auth.plain_message(exc))
        else:
            st.query_params.clear()
            st.session_state["login_flash"] = "Your password is set. Sign in below."
            st.rerun()


def sso_providers() -> list[str]:
    """Providers from the ``[auth]`` secrets section; empty without a secrets file or ``[auth]``."""
    try:
        if "auth" not in st.secrets:      # st.secrets raises when there is no secrets file at all
            return []
        return auth.sso_providers(st.secrets["auth"])
    except Exception:  # noqa: BLE001 - a missing or unreadable secrets file means: no SSO
        return []


def sso_identity() -> dict:
    """What the identity provider returned (``st.user``) as a plain dict; empty when unknown."""
    try:
        return dict(st.user.to_dict())
    except Exception:  # noqa: BLE001 - st.user depends on the host; no identity is the safe answer
        return {}


def sso_outcome(engine, info: dict) -> tuple[dict | None, str | None]:
    """(local account, message) for an SSO identity; both None when nobody is signed in via SSO.

    Pure of Streamlit so it can be tested without a real identity provider.
    """
    if info.get("is_logged_in") is not True:
        return None, None
    user = auth.sso_sign_in(engine, info)
    if user is not None:
        return user, None
    email = auth.sso_email(info)
    if email is None:
        return None, ("Your organisation's sign-in worked, but it did not share a verified e-mail "
                      "address, so it cannot be matched to an account here. Ask your admin for help.")
    return None, (f"Your organisation's sign-in worked, but there is no account for {email} "
                  "here yet. Ask your admin to add one.")


def _md(text: str) -> str:
    """Escape Markdown so an address like first_last@org shows as typed."""
    return "".join("\\" + c if c in "\\`*_[]<>|~$" else c for c in text)


def _single_sign_on(engine, providers: list[str]) -> None:
    info = sso_identity()
    user, message = sso_outcome(engine, info)
    if user is not None:
        common.sign_in_tab(user, st.session_state.get("next_path", "/"), via_sso=True)
        st.rerun()
    if message:
        st.warning(_md(message))
        if not st.session_state.get("_sso_refusal_logged"):
            st.session_state["_sso_refusal_logged"] = True
            auth.audit_sso_refused(engine, info)
        if st.button("Sign out of single sign-on", key="sso_logout"):
            st.session_state.pop("_sso_refusal_logged", None)
            st.logout()
            st.stop()       # no rerun: it could drop the logout redirect before it reaches the browser
    else:
        for name in providers:
            label = "Sign in with single sign-on" + ("" if len(providers) == 1 else f" ({name.title()})")
            if st.button(label, key=f"sso_login_{name}", type="primary", icon=":material/key:"):
                try:
                    if name == "default":
                        st.login()
                    else:
                        st.login(name)
                except Exception:  # noqa: BLE001 - a misconfiguration: details to the log, the form still works
                    log.exception("single sign-on could not start")
                    st.error("Single sign-on could not start just now; sign in with a local account below, or "
                             "tell your admin.")
                else:
                    st.stop()
    st.caption("Or sign in with a local account:")


def _setup_admin(engine) -> None:
    st.subheader("First start: create the administrator account")
    st.write("Nobody can administer this organisation yet. To show that you run this server, enter the "
             "one-time setup code printed in the server log when the dashboard started (or start it with "
             "BURNOUT_ADMIN_USER and BURNOUT_ADMIN_PASSWORD set).")
    with st.form("setup_admin"):
        code = st.text_input("Setup code (from the server log)", type="password", key="setup_code")
        username = st.text_input("Admin username", key="setup_user", autocomplete="username")
        password = st.text_input(f"Password (at least {auth.MIN_PASSWORD} characters)", type="password",
                                 key="setup_password", autocomplete="new-password")
        submitted = st.form_submit_button("Create admin account", type="primary")
    if submitted:
        try:
            auth.setup_admin(engine, code, username, password)
        except InputError as exc:
            st.error(auth.plain_message(exc))
        else:
            st.session_state["login_flash"] = "Admin account created. Sign in below."
            st.rerun()
    if st.button("Print a new setup code in the server log", key="new_setup_code"):
        web.log_setup_code(engine)
        st.info("A new setup code is in the server log.")
