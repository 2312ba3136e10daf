"""Streamlit entry point: first start, sign-in, navigation by role. Nothing else.

``streamlit run dashboard.py`` finds ``app`` below and serves this file through
``st.App``, which adds the two session-cookie routes (burnout/ui/web.py) and prints
a first-admin setup code at start when no admin exists.
"""
from __future__ import annotations

import os

import streamlit as st

from burnout import auth, seed
from burnout.checkin import escape_md
from burnout.store import is_empty
from burnout.ui import common, web
from burnout.ui.login import render_login

UI = "burnout/ui"
PAGE_SPECS = {
    "checkin": (f"{UI}/checkin.py", "Weekly check-in", ":material/edit_note:", "checkin"),
    "my_wellbeing": (f"{UI}/my_wellbeing.py", "My wellbeing", ":material/spa:", "my-wellbeing"),
    "team": (f"{UI}/team.py", "Team", ":material/groups:", "team"),
    "helper_detail": (f"{UI}/helper_detail.py", "Helper detail", ":material/person_search:", "helper"),
    "org_review": (f"{UI}/org_review.py", "Organisation review", ":material/domain:", "review"),
    "data_admin": (f"{UI}/data_admin.py", "Data", ":material/upload_file:", "data"),
    "settings_admin": (f"{UI}/settings_admin.py", "Users & settings", ":material/settings:", "settings"),
    "account": (f"{UI}/account.py", "My account", ":material/key:", "account"),
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


def pages_for(user: dict) -> list:
    keys = list(ROLE_PAGES.get(user["role"], []))
    if user["role"] != "helper" and user.get("helper_id"):
        keys = ROLE_PAGES["helper"] + keys   # a lead who also carries a caseload checks in too
    pages = [st.Page(PAGE_SPECS[k][0], title=PAGE_SPECS[k][1], icon=PAGE_SPECS[k][2], url_path=PAGE_SPECS[k][3])
             for k in keys + ["account"]]
    # Streamlit serves the default page only at "/", so a deep link or reload of its own
    # address (/checkin from a reminder e-mail) would say "Page not found".  A hidden
    # home page takes "/" and passes on to the first page, which keeps its address.
    home = st.Page(lambda: st.switch_page(pages[0]), title=pages[0].title, url_path="home", default=True,
                   visibility="hidden")
    return [home, *pages]


def sign_in_pages() -> list:
    """The sign-in page under every page's address, so a deep link (/checkin from a
    reminder e-mail, a reload) shows the sign-in and returns there afterwards,
    instead of "Page not found"."""
    pages = [st.Page(render_login, title="Sign in", icon=":material/login:", default=True)]
    pages += [st.Page(render_login, title="Sign in", icon=":material/login:", url_path=spec[3])
              for spec in PAGE_SPECS.values()]
    return pages


def main() -> None:
    st.set_page_config(page_title="Helper wellbeing", page_icon=":material/spa:", layout="wide")
    # A database that is missing, read-only or stopped reads as one plain sentence on
    # every page (details in the server log); the next rerun tries again, so the
    # dashboard recovers by itself once the database is back.
    with common.db_errors(stop=True):
        _run()


def _run() -> None:
    engine = common.engine()
    first_start(engine)
    user = common.current_user()
    if user is None and st.session_state.pop("_sso_logout_due", False):
        st.logout()     # the identity cookie would otherwise sign the person straight back in
    if user is None:
        nav = st.navigation(sign_in_pages(), position="hidden")
        st.session_state["next_path"] = "/" + (nav.url_path or "")
        nav.run()
        return
    with st.sidebar:
        st.caption(f"Signed in as **{escape_md(user['username'])}** ({escape_md(user['role'])})")
        if seed.is_demo(engine):
            st.info("Demo organisation: all people and numbers are synthetic.", icon=":material/science:")
        st.button("Sign out", key="sign_out", on_click=common.sign_out)
    page = st.navigation(pages_for(user))
    if page.url_path:       # not the home page at "/", which only passes on: the page it opens hands over
        _hand_over_grant(engine)
    page.run()


def _hand_over_grant(engine) -> None:
    """Just signed in: send the browser to swap the grant for its HttpOnly session cookie
    and come back to the page it asked for (a full load, so the cookie is in place).

    Sent before the page runs (after st.stop nothing more can be sent), and again by every
    later run until the grant is used: Streamlit drops a run's unsent messages when
    another run replaces it, as the home page's switch_page right after a sign-in did, and
    a lost hand-over left the tab signed in without a cookie, so a reload asked for the
    password again."""
    code = st.session_state.get("pending_grant")
    if code is None:
        return
    if auth.grant_waiting(engine, code):
        common.redirect(web.grant_url(code))
    else:
        del st.session_state["pending_grant"]     # used (this tab's browser has its cookie) or expired


if __name__ == "__main__":      # run by Streamlit (also by AppTest) as the app script
    main()
else:                           # imported by the server `streamlit run` starts for `app`
    app = st.App(__file__, routes=web.ROUTES, lifespan=web.lifespan)
