"""Shared page plumbing: engine, current user, session expiry, role guard, demo banner,
and the row/column/problem table of an import error."""
from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import streamlit as st

from burnout.domain.settings import Settings
from burnout.store import database_url, get_engine
from burnout.store import settings as saved_settings
from burnout.store.writes import audit as write_audit
from burnout.views.data import OrgData, load_data


@st.cache_resource(show_spinner=False)
def _engine_for(url: str):
    return get_engine(url)


def engine():
    return _engine_for(database_url())


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


def settings() -> Settings:
    """The organisation's settings in force (read on every rerun: an admin's change applies at once)."""
    return saved_settings.load(engine())


def audit(action: str, subject_helper_id: str | None = None, detail: str | None = None) -> None:
    user = current_user() or {}
    with engine().begin() as conn:
        write_audit(conn, user.get("username", "anonymous"), action, subject_helper_id, detail)


_WHERE = re.compile(r"^(?:row (?P<row>\d+))?(?:, )?"
                    r"(?:column (?P<q>['\"])(?P<col>.*?)(?P=q))?: (?P<msg>.*)$", re.S)


def problem_rows(exc) -> pd.DataFrame:
    """One row per problem (row, column, problem), sorted by row then column.

    ``exc.problems`` holds "row 8, column 'sib_1': '9' is outside the scale …"
    lines; a single error carries its row and column on the exception."""
    rows = []
    if exc.problems:
        for text in exc.problems:
            m = _WHERE.match(text)
            if m and (m["row"] or m["col"]):
                rows.append((int(m["row"]) if m["row"] else None, m["col"] or "", m["msg"].strip()))
            else:
                rows.append((None, "", text.strip()))
    else:
        msg = str(exc)
        where = ", ".join(p for p in (f"file {exc.file}" if exc.file else "",
                                      f"row {exc.row}" if exc.row is not None else "",
                                      f"column {exc.column!r}" if exc.column else "") if p)
        if where and msg.startswith(where + ": "):
            msg = msg[len(where) + 2:]
        rows.append((exc.row, exc.column or "", msg.strip()))
    df = pd.DataFrame(rows, columns=["row", "column", "problem"]).drop_duplicates()
    df["_r"] = pd.to_numeric(df["row"], errors="coerce").fillna(0)
    df = df.sort_values(["_r", "column", "problem"], kind="stable").drop(columns="_r").reset_index(drop=True)
    df["row"] = df["row"].astype("Int64")
    return df


@st.cache_data(ttl=3600, max_entries=4, show_spinner="Loading the organisation's figures…")
def org_data(url: str, stamp: str) -> OrgData:
    """Frames, risk history and leaving model for the lead and HR pages, loaded
    once per change of data (``stamp``) and shared by every page and user."""
    return load_data(engine())
