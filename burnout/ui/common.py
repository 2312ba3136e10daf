"""Shared page plumbing: engine, current user, session expiry, role guard, demo banner."""
from __future__ import annotations

import datetime as dt

import streamlit as st

from burnout import config


@st.cache_resource(show_spinner=False)
def _engine_for(url: str):
    from burnout.store import get_engine

    return get_engine(url)


def engine():
    return _engine_for(config.database_url())


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def current_user() -> dict | None:
    return st.session_state.get("user")


def require_role(*roles: str) -> dict:
    """Stop the page unless the logged-in user has one of ``roles``.

    Navigation already hides pages a role may not open; this guards direct URLs.
    """
    user = current_user()
    if user is None or user.get("role") not in roles and not (
            "helper" in roles and user.get("helper_id")):
        st.error("This page is not available for your account.")
        st.stop()
    return user


def settings() -> dict:
    from burnout.store import frames

    return frames.settings(engine())


def audit(action: str, subject_helper_id: str | None = None, detail: str | None = None) -> None:
    from burnout.store.writes import audit as write_audit

    user = current_user() or {}
    with engine().begin() as conn:
        write_audit(conn, user.get("username", "anonymous"), action, subject_helper_id, detail)
