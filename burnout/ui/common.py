"""Shared page plumbing: engine, current user, session expiry, role guard, demo banner,
and the row/column/problem table of an import error."""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import re
import threading
import time
from typing import Callable, Mapping
from urllib.parse import urlsplit

import pandas as pd
import streamlit as st
from streamlit import dataframe_util
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from sqlalchemy.engine import make_url
from streamlit.runtime.scriptrunner import get_script_run_ctx

from burnout import auth, leaving, materialise, release_store
from burnout.domain.settings import Settings
from burnout.domain.time import now
from burnout.export.csv import to_csv
from burnout.materialise import ORG_SCOPES, cache_key
from burnout.store import database_url, get_engine
from burnout.store import frames
from burnout.store.helper_weeks import team_scope, versions
from burnout.store.schema import DELETED_SCOPES
from burnout.store import settings as saved_settings
from burnout.store.retry import DATABASE_ERRORS
from burnout.store.writes import audit as write_audit
from burnout.ui import web
from burnout.views import team as team_views
from burnout.views.data import (OrgData, active_roster, kept_from, leaving_model_for, load_data, load_review_data,
                                org_people, store_read)
from burnout.views.review import Review, ReviewBase, refiltered, review_base, with_scenario
from burnout.views.tables import for_screen, review_plan


log = logging.getLogger("burnout.ui")

# one plain sentence each: what happened and what to do
DB_UNAVAILABLE = ("The database cannot be reached just now, so this page cannot be shown; please try again "
                  "in a minute, and tell your admin if it keeps happening.")
CHECKIN_NOT_SAVED = ("We couldn't save your check-in just now; your answers are still here, so please try "
                     "again in a minute.")


class db_errors:
    """Turn a database failure inside the block into one plain sentence on the page.

    The details (engine message, host, path, traceback) go to the server log only;
    the person reads ``message`` and the page goes on (``stop=False``), so a form
    they filled in stays on screen.  ``failed`` tells the caller it happened.

        with common.db_errors(CHECKIN_NOT_SAVED) as attempt:
            save(...)
    """

    def __init__(self, message: str = DB_UNAVAILABLE, stop: bool = False):
        self.message, self.stop, self.failed = message, stop, False

    def __enter__(self) -> "db_errors":
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None or not isinstance(exc, DATABASE_ERRORS):
            return False
        log.error("database failure shown to the user as %r", self.message, exc_info=(kind, exc, tb))
        self.failed = True
        st.error(self.message, icon=":material/cloud_off:")
        if self.stop:
            st.stop()
        return True


@st.cache_resource(show_spinner=False)
def _engine_for(url: str):
    return get_engine(url)


def engine():
    return _engine_for(database_url())


def _forget(reason: str | None = None) -> None:
    """Drop the signed-in state of this browser tab (the first-start flag stays)."""
    dead = st.session_state.get("sid")
    for key in list(st.session_state.keys()):
        if key != "_first_start_done":
            del st.session_state[key]
    if dead:
        st.session_state["dead_sid"] = dead      # the cookie may still name it until the tab reloads
    if reason:
        st.session_state["signed_out_reason"] = reason


def cookie_sid() -> str | None:
    """The hash of the session token in this browser's HttpOnly cookie, if any."""
    try:
        token = st.context.cookies.get(auth.SESSION_COOKIE)
    except Exception:  # noqa: BLE001 - no request context (bare mode, tests): no cookie
        token = None
    return auth.token_hash(token) if isinstance(token, str) and token else None


def current_user() -> dict | None:
    """The signed-in account, re-checked against the database on every rerun.

    A session (from the cookie, or started in this tab) must still exist, be neither
    idle too long nor too old, and its account must be active with the same
    password/role version; otherwise this tab is signed out. Tests may put a user
    straight into ``st.session_state["user"]``: that account is re-checked too.
    """
    eng = engine()
    sid = st.session_state.get("sid")
    if sid is None and "user" not in st.session_state:
        sid = cookie_sid()
        if sid is not None and sid == st.session_state.get("dead_sid"):
            sid = None
    if sid is not None:
        check = auth.session_user(eng, sid, now())
        if check.user is None:
            had_user = "user" in st.session_state or "sid" in st.session_state
            st.session_state["sso"] = st.session_state.get("sso") or check.via_sso
            came_from_sso = bool(st.session_state.get("sso"))
            _forget(check.reason if had_user or check.reason == "expired" else None)
            st.session_state["dead_sid"] = sid
            st.session_state["_sso_logout_due"] = came_from_sso
            return None
        st.session_state["user"], st.session_state["sid"] = check.user, sid
        st.session_state["sso"] = check.via_sso
        return check.user
    user = st.session_state.get("user")
    if user is None:
        return None
    expired = auth.session_expired(st.session_state.get("last_seen"), settings().session_minutes, now())
    fresh = None if expired else auth.recheck(eng, user)
    if fresh is None:
        came_from_sso = bool(st.session_state.get("sso"))
        _forget("expired" if expired else "ended")
        st.session_state["_sso_logout_due"] = came_from_sso
        return None
    st.session_state["user"] = fresh
    st.session_state["last_seen"] = now()
    return fresh


def redirect(url: str) -> None:
    """Send the browser to ``url`` (a full page load), the way st.login does.

    Used for the cookie routes in burnout/ui/web.py; outside a browser (AppTest) it is a no-op.
    """
    ctx = get_script_run_ctx()
    if ctx is None:
        return
    msg = ForwardMsg()
    msg.auth_redirect.url = url
    ctx.enqueue(msg)


def sign_in_tab(user: dict, next_path: str = "/", via_sso: bool = False) -> None:
    """Signed in from the sign-in page: this tab now, the cookie after the grant exchange."""
    _forget()
    st.session_state["user"] = user
    st.session_state["last_seen"] = now()
    st.session_state["sso"] = via_sso
    st.session_state["pending_grant"] = auth.create_grant(engine(), user["user_id"], next_path, via_sso)
    st.session_state["_sso_logout_due"] = False


def sign_out() -> None:
    """End this session in the database (every tab holding its cookie) and clear the cookie.

    Runs as the button's callback. A single sign-on session also signs out of
    Streamlit's identity cookie (st.logout redirects on its own; our cookie then
    names a session that no longer exists, which reads as signed out).
    """
    sid = st.session_state.get("sid")
    user = st.session_state.get("user") or {}
    if sid:
        auth.end_session(engine(), sid)
    if user:
        with engine().begin() as conn:
            write_audit(conn, user.get("username", "anonymous"), "sign_out")
    came_from_sso = bool(st.session_state.get("sso"))
    _forget()
    if came_from_sso:
        st.logout()
    elif sid or cookie_sid():
        redirect(web.SIGN_OUT_PATH)


def site_url() -> str:
    """The address people use to reach this dashboard, for invite links."""
    try:
        url = st.context.url or ""
    except Exception:  # noqa: BLE001 - no request context (tests)
        url = ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else auth.base_url()


def client_address() -> str | None:
    """The address sign-in throttling counts per client.

    Behind a reverse proxy every request comes from the proxy; with
    BURNOUT_TRUSTED_PROXY=1 the address the proxy appended to X-Forwarded-For is used.
    """
    try:
        if os.environ.get("BURNOUT_TRUSTED_PROXY") == "1":
            forwarded = st.context.headers.get("X-Forwarded-For") or ""
            if forwarded.strip():
                return forwarded.split(",")[-1].strip()[:100]
        return st.context.ip_address
    except Exception:  # noqa: BLE001 - no request context (tests): no address
        return None


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
    user = st.session_state.get("user") or {}
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


def _cache_key(scopes) -> str:
    return cache_key(engine(), scopes)


def org_key() -> str:
    """What the organisation-wide figures (HR review) depend on: any change."""
    return _cache_key(ORG_SCOPES)


def team_key(team: str) -> str:
    """What one team's figures depend on: that team's data and roster, and a rebuild
    (a new week, changed settings); a check-in in another team leaves it as it is."""
    return _cache_key(["all", team_scope(team)])


# The last review read of each database this process made: the next read after a change
# starts from it and reads again only the teams whose counters moved (views.data.load_review_data).
_HELD: dict[str, OrgData] = {}
_HELD_LOCK = threading.Lock()


# cache_resource: every caller is handed the same frames, read-only (nothing that reads them
# changes them: tests/test_review_patch.py), instead of cache_data's pickled copy per call
# (about 0.8 CPU-s per change at 5,000 helpers); the held read is one of these entries.
@st.cache_resource(ttl=3600, max_entries=4, show_spinner="Loading the organisation's figures…")
def _org_frames(url: str, key: str) -> OrgData:
    with _HELD_LOCK:
        since = _HELD.get(url)
    data = load_review_data(engine(), with_model=False, since=since)
    if data.read_at is not None:
        with _HELD_LOCK:
            _HELD[url] = data
            before = _HELD_KEY.get(url)
            _HELD_KEY[url] = key
        if before is not None and before != key:
            # An earlier state's frames (hundreds of MB at 10,000 helpers) serve no page: a page
            # shown meanwhile keeps what it was made of, and the next read patches this one.
            # Kept until the cache evicted them, they made a week's first check-in peak at
            # 2.2-2.4 GB in the HR reviewer's process.
            _org_frames.clear(url, before)
    return data


_HELD_KEY: dict[str, str] = {}      # url -> the key of the read held in _HELD


# url -> the read this process last kept for the other processes, and what went with it
_READ_KEPT: dict[str, tuple] = {}


def _keep_read_soon(url: str, data: OrgData) -> None:
    """Keep ``data``, when read whole, for the other processes (views.data.store_read), after
    the page, with what this process has worked out from it so far: the week rows and people
    frame an audit or review works out.  Kept again when more has been worked out from it.  A
    read kept before them (as it was when it was kept on reading) left every other process to
    work them out whole: 2-3 s of a fresh process's first lead open at L."""
    if data.read_at is None or data.patched is not None:
        return
    kept = kept_from(data)
    with _HELD_LOCK:
        if _READ_KEPT.get(url) == (data.read_at, kept):
            return
        _READ_KEPT[url] = (data.read_at, kept)
    _store_soon(url, "the organisation's review read", lambda eng: store_read(eng, data))


@st.cache_resource(ttl=3600, max_entries=4, show_spinner="Checking the organisation's leaving model…")
def leaving_model(url: str, key: str, _data: OrgData) -> leaving.LeavingModel:
    """The organisation's leaving model (leaving.leaving_model: the Cox fit and its checks,
    the burnout link, the observed turnover), fitted once per ``key`` (:func:`org_key`: the
    organisation's data, the saved settings and the week, which is all it reads; ``_data``
    are that key's frames) and shared, not copied, by every review that reads it."""
    return leaving_model_for(engine(), _data)


def org_data(url: str, key: str) -> OrgData:
    """Frames, risk history and leaving model for the HR review, read from the stored
    helper weeks once per change anywhere (``key``: :func:`org_key`) and shared by every
    page and user."""
    data = _org_frames(url, key)
    return dataclasses.replace(data, leaving_model=leaving_model(url, key, data))


@st.cache_data(ttl=3600, max_entries=64, show_spinner="Loading the team's figures…")
def team_data(url: str, team: str, key: str) -> OrgData:
    """One team's frames and risk (a lead's pages), read once per change in that team
    (``key``: :func:`team_key`) and shared by every session of its leads."""
    return load_data(engine(), team=team)


# The lead's page for one team: built once per change in that team (``key``: :func:`team_key`,
# so a check-in in another team leaves it warm) and shared by every session of its leads.
# cache_resource hands every rerun the same read-only objects (cache_data would unpickle a
# copy, and an unpickled figure is validated again); the entries are small and bounded.
# Tables are kept as Arrow tables, which st.dataframe sends as they are instead of
# converting a pandas frame on every rerun.

def _arrow(df: pd.DataFrame | None):
    return None if df is None else dataframe_util.convert_pandas_df_to_arrow_table(df)


@dataclasses.dataclass(frozen=True)
class TeamPage:
    """A team page ready to draw: the page (views.team.TeamPage), its tables as Arrow
    tables by name, and the caseloads as the CSV download."""
    page: team_views.TeamPage
    tables: Mapping[str, object]
    caseload_csv: bytes
    key: str = ""                  # the team_key and _page_key it was built for: its heatmap and
    page_key: str = ""             # list are of the same state
    updating: bool = False         # shown meanwhile: the organisation's figures are being made anew


@st.cache_resource(ttl=3600, max_entries=4, show_spinner=False)
def roster_facts(url: str, key: str) -> tuple[int, tuple[str, ...]]:
    """How many helpers are active and the sites they work at (the HR page's headline
    and site filter), once per change anywhere (``key``: :func:`org_key`)."""
    data = _org_frames(url, key)
    roster = active_roster(data.roster, data.as_of)
    return len(roster), tuple(sorted(roster["site"].dropna().astype(str).unique()))


@dataclasses.dataclass(frozen=True)
class ReviewPage:
    """The HR review ready to draw: the review (views.review.Review) and its tables as
    shown on screen (views.tables.for_screen), as Arrow tables by name."""
    review: Review
    tables: Mapping[str, object]


def chart(fig, key: str, table=None, label: str = "Show as a table") -> None:
    """A chart and, once its box is opened, the same figures as a table.  The table is sent
    only then (the box reruns the page when opened and stays open across reruns: its key):
    at ten thousand helpers the HR heatmap's weekly table alone was a 6 MB message, which
    held back every figure of the page in a browser by 5 s."""
    st.plotly_chart(fig, width="stretch", key=key)
    if table is not None:
        box = st.expander(label, key=f"{key}_table", on_change="rerun")
        if box.open:
            box.dataframe(table, hide_index=True, width="stretch")


def _screen(tables: Mapping[str, pd.DataFrame | None]) -> dict[str, object]:
    return {k: None if v is None else _arrow(for_screen(v)) for k, v in tables.items()}


# The review without its what-if (views.review.review_base): built once per change anywhere
# and choice of filter, measure, window and heatmap weeks, with its tables converted for the
# screen once; a what-if change only adds the scenario to it (review_page).
@st.cache_resource(ttl=3600, max_entries=8, show_spinner="Building the review…")
def _review_base(url: str, key: str, where: str, measure: str, window: int,
                 heat_weeks: int) -> tuple[ReviewBase, dict[str, object]]:
    filt = json.loads(where)
    if filt:     # a filter changes the roll-ups only: the unfiltered base's other parts are reused
        base = refiltered(_review_base(url, key, "{}", measure, window, heat_weeks)[0], filt)
    else:
        # A process's first review audits the whole organisation (a minute at 10,000 helpers)
        # unless the audit of this state is stored (release_store: the import, or another
        # process, made it): its joint plan is this review's.  The process then audits once
        # in the background, so that the next change costs only what changed.
        with _HELD_LOCK:
            first = url not in _AUDITED and url not in _WARMING
        data = org_data(url, key)
        stored = release_store.load(engine(), release_store.OPENING_MEASURE, key) if first else None
        if first:
            _seed_weeks_once(url)
        if first and stored is None:       # the column audits of an earlier state stored
            release_store.seed(engine())
        base = review_base(engine(), "org", trend_measure=measure, window_weeks=window, data=data,
                           heat_weeks=heat_weeks, plan=None if stored is None else stored.plan)
        if stored is not None and base.plan is stored.plan:
            _warm_plan_soon(url, data, window, stored.plan)
        else:            # audited here (no audit stored for this state, or another window's)
            _audited(url)
        _keep_read_soon(url, data)
    review = base.review
    sm = review.summary
    return base, _screen({k: review.section(k).display for k in ("by_team", "by_role", "by_site", "risk_bands",
                                                                   "weekly", "participation", "turnover")}
                         | {"clients": None if sm is None else sm.clients,
                            "calibration": review.calibration.display})


# Built once per change anywhere and choice of the page's inputs, and shared by every HR
# session: cache_resource hands each rerun the same read-only review (cache_data
# unpickled a copy of it, figures and all, on every rerun: 60 % of a warm rerun at
# 5,000 helpers), and its tables are converted for the screen once.
def review_page(url: str, key: str, scenario: str, where: str, measure: str, window: int,
                heat_weeks: int, meanwhile: bool = False) -> ReviewPage:
    """The HR review for the page's choices, once per change anywhere (``key``: :func:`org_key`;
    ``meanwhile``: an earlier one, from :func:`review_stamp`)."""
    def again() -> None:
        figures = review_page(url, org_key(), scenario, where, measure, window, heat_weeks).review.figures
        for name in figures:        # drawn when first asked for: asked here, not by the next run
            figures[name]
    _in_use(("review_page", url, scenario, where, measure, window, heat_weeks), again)
    erased = None if meanwhile else _erasures()
    with _building():
        page = _review_page(url, key, scenario, where, measure, window, heat_weeks)
    if not meanwhile:
        whole = whole_key()
        with _HELD_LOCK:
            _SHOWN_REVIEW[url] = (whole, key, erased)
    return page


@st.cache_resource(ttl=3600, max_entries=16, show_spinner="Working out the scenario…")
def _review_page(url: str, key: str, scenario: str, where: str, measure: str, window: int,
                 heat_weeks: int) -> ReviewPage:
    base, tables = _review_base(url, key, where, measure, window, heat_weeks)
    review = with_scenario(base, json.loads(scenario))
    sm = review.summary
    return ReviewPage(review, tables | _screen({"what_if": review.section("what_if").display,
                                                "levers": None if sm is None else sm.levers,
                                                "assumptions": review.assumptions}))


@st.cache_resource(ttl=3600, max_entries=8, show_spinner="Checking what the organisation's review shows…")
def org_audit(url: str, measure: str, key: str) -> team_views.OrgAudit:
    """What the HR review releases (views.team.org_audit) for ``measure``, once per change
    anywhere (``key``: :func:`org_key`) and shared by every lead's page: a lead reads the
    HR review too, so their figures pass the organisation's audit, not their team's.
    Read from the database when stored for this state (release_store: the import stores
    it, or another process did), else computed and stored for the others."""
    stored = release_store.load(engine(), measure, key)
    if stored is not None:
        _warm_soon(url, key, measure, stored.plan)
        return stored
    with _building():
        _wait_warm(url)
        with _HELD_LOCK:
            first = url not in _AUDITED
        if first:            # the column audits of an earlier state stored: only what differs is audited
            _seed_weeks_once(url)
            release_store.seed(engine())
        data = _org_frames(url, key)
        audit = team_views.org_audit(data, measure)
        _audited(url)
        _store_soon(url, "the organisation's audit", lambda eng: release_store.save(eng, measure, key, audit))
        _keep_read_soon(url, data)
        return audit


# Storing a result for the other processes (the audit, the review's read: pickles of some
# megabytes written to the database) is no part of the page that made it: it is written
# after the page is shown.
_STORING: dict[str, threading.Thread] = {}

# Nor is it to slow that page down: storing pickles some megabytes, and pickling holds the
# interpreter, so a team page built beside it took twice as long at L (0.34 -> 0.70 s after a
# check-in in the lead's own team).  A store starts once no page is being built in this
# process (:func:`_building`), and at the latest STORE_WAIT_SECONDS after it was due; at once
# while something waits for the storing itself (:func:`_wait_warm`, which a page being built
# may call: the storing must not wait for that page).
STORE_WAIT_SECONDS = 10.0
_QUIET = threading.Condition()
_PAGES_BUILDING = [0]
_STORES_AWAITED = [0]


@contextlib.contextmanager
def _building():
    """A page (or what a page is waiting for) is being built in this process meanwhile."""
    with _QUIET:
        _PAGES_BUILDING[0] += 1
    try:
        yield
    finally:
        with _QUIET:
            _PAGES_BUILDING[0] -= 1
            _QUIET.notify_all()


def _until_quiet(due: float) -> None:
    """Wait for no page being built, until STORE_WAIT_SECONDS after ``due`` (time.monotonic()
    when the store was asked for: a store queued behind a slow one does not wait again)."""
    with _QUIET:
        _QUIET.wait_for(lambda: _PAGES_BUILDING[0] == 0 or _STORES_AWAITED[0] > 0,
                        timeout=max(0.0, due + STORE_WAIT_SECONDS - time.monotonic()))


def _store_soon(url: str, what: str, store_with: Callable[[object], object]) -> None:
    """``store_with(engine)`` on a background thread, after this process's earlier storing of ``url``."""
    eng, due = engine(), time.monotonic()
    with _HELD_LOCK:
        before = _STORING.get(url)

    def store() -> None:
        if before is not None:       # one after the other: the later state is stored last
            before.join()
        _until_quiet(due)
        try:
            store_with(eng)
        except Exception:        # only the storing is lost: another process computes it itself
            log.exception("storing %s failed", what)
    thread = threading.Thread(target=store, name="burnout-store", daemon=True)
    with _HELD_LOCK:
        _STORING[url] = thread
    thread.start()


# A process that read a stored audit holds none of what computing the next one needs (the
# organisation's frames, the plan's column audits, the weekly blocks), so the first check-in
# after it would cost a whole cold audit.  It computes the audit once in the background (the
# page is already shown), and a page that needs the next state's audit waits for that first:
# from then on a check-in costs what changed.
_WARMING: dict[str, threading.Thread] = {}
# The databases whose organisation this process has audited itself (its column audits are in
# audit_cache): a stored audit would save it nothing.
_AUDITED: set[str] = set()


# The databases whose kept week blocks (release_store.seed_weeks) this process has read.
_SEEDED: set[str] = set()


def _seed_weeks_once(url: str) -> None:
    """This process's first weekly tables of ``url``'s organisation start from the week blocks
    the last import or rebuild suppressed: only the weeks changed since are suppressed here."""
    with _HELD_LOCK:
        if url in _SEEDED:
            return
        _SEEDED.add(url)
    release_store.seed_weeks(engine())


def _audited(url: str) -> None:
    with _HELD_LOCK:
        _AUDITED.add(url)


def _warm_soon(url: str, key: str, measure: str, plan) -> None:
    """A lead's page read a stored audit: its process works the audit out once in the background,
    its column audits taken from the stored plan (nothing to do when it holds a read of its
    own: it audits from that)."""
    def warm() -> None:
        _seed_weeks_once(url)
        release_store.seed(None, plan)
        data = _org_frames(url, key)
        team_views.org_audit(data, measure)
        _audited(url)        # the audits are in the cache now: the next change is not seeded again
        _keep_read_soon(url, data)
    _warm_once(url, "burnout-audit-warm", "the organisation's audit", warm, unless_held=True)


def _warm_plan_soon(url: str, data: OrgData, window: int, plan) -> None:
    """The review read a stored plan: its process works the plan out once in the background, its
    column audits taken from the stored one (what a later change's plan is worked out from,
    audit_cache), and the people frame a later change patches."""
    def warm() -> None:
        release_store.seed(None, plan)
        review_plan(org_people(data, window), data.min_n)
        _audited(url)
        _keep_read_soon(url, data)
    _warm_once(url, "burnout-plan-warm", "the organisation's review plan", warm)


def _warm_once(url: str, name: str, what: str, work: Callable[[], object], unless_held: bool = False) -> None:
    """``work()`` on a background thread ``name``, at most once per process and database
    (:data:`_WARMING`, which :func:`_wait_warm` waits for)."""
    def warm() -> None:
        try:
            work()
        except Exception:        # only the warming is lost: the next change computes it cold
            log.exception("warming %s failed", what)
    with _HELD_LOCK:
        if url in _WARMING or (unless_held and url in _HELD):
            return
        _WARMING[url] = thread = threading.Thread(target=warm, name=name, daemon=True)
    thread.start()


def _wait_warm(url: str | None = None) -> None:
    """Wait for this process's background audit of ``url`` (or of every database), and for
    the audits it is storing."""
    with _HELD_LOCK:
        threads = [t for u, t in [*_WARMING.items(), *_STORING.items()] if url is None or u == url]
    with _QUIET:
        _STORES_AWAITED[0] += 1
        _QUIET.notify_all()
    try:
        for thread in threads:
            thread.join()
    finally:
        with _QUIET:
            _STORES_AWAITED[0] -= 1


# ---------------------------------------------------------------- kept up to date when data arrive
# What this process showed lately is brought up to date right after a check-in's helper weeks
# are stored (materialise.on_refreshed), on one background thread per database, so that the
# lead or HR reviewer who reruns a page next reads it instead of waiting while it is worked
# out (at 10,000 helpers a lead's page after a check-in elsewhere took 0.8-1.1 s, the HR
# review 4.6 s).  Only what someone opened in the last IN_USE_SECONDS is kept up to date (no
# one looking, no work), and check-ins arriving meanwhile are taken together: one more pass,
# for the latest state, after a pause as long as the pass.  A page rerun meanwhile waits for the very computation (Streamlit
# computes one cache entry once), so it never waits longer than it would have without.
IN_USE_SECONDS = 15 * 60
MAX_IN_USE = 64
MAX_PAUSE_SECONDS = 30.0
# Data stored by another process (several processes on one PostgreSQL database) reach no
# listener here: while something is in use, a thread looks at the change counters this
# often and starts the same update when they moved.
POLL_SECONDS = 10.0
_IN_USE: dict[tuple, tuple[float, Callable[[], object]]] = {}
_UPDATING: dict[str, threading.Thread] = {}
_AGAIN: set[str] = set()
_SEEN: dict[str, str] = {}          # url -> the org_key its last update (or poll) started from
_STOPPED = [threading.Event()]      # set by stop_updates: the polling threads started until then end
_POLLING: dict[str, threading.Event] = {}     # url -> the _STOPPED its polling thread ends on
_updating_here = threading.local()


def _in_use(what: tuple, again: Callable[[], object]) -> None:
    """``what`` = (kind, url, its other arguments) was shown; ``again()`` shows it for the
    current state (its keys read afresh)."""
    if getattr(_updating_here, "on", False):     # the update itself is no one's use
        return
    url = what[1]
    with _HELD_LOCK:
        _IN_USE.pop(what, None)
        _IN_USE[what] = (time.monotonic(), again)
        while len(_IN_USE) > MAX_IN_USE:
            _IN_USE.pop(next(iter(_IN_USE)))
        if _POLLING.get(url) is not _STOPPED[0]:
            _POLLING[url] = _STOPPED[0]
            threading.Thread(target=_poll, args=(url, _STOPPED[0]), name="burnout-poll", daemon=True).start()


def _used_lately(url: str) -> list[Callable[[], object]]:
    """What of ``url`` was used in the last IN_USE_SECONDS, the page used last first (the
    likeliest next click waits least).  Call holding _HELD_LOCK."""
    since = time.monotonic() - IN_USE_SECONDS
    return [again for what, (at, again) in reversed(_IN_USE.items()) if what[1] == url and at >= since]


def _pages_url() -> str:
    """The database the pages read (engine()), as ``str(engine.url)`` writes it."""
    return str(make_url(database_url()))


def _poll(url: str, stopped: threading.Event) -> None:
    """Start an update of ``url``'s pages when another process changed its data; ends when
    nothing of it has been in use for IN_USE_SECONDS (the next use starts it again)."""
    try:
        while True:
            stopped.wait(POLL_SECONDS)
            with _HELD_LOCK:
                if stopped.is_set() or not _used_lately(url):
                    if _POLLING.get(url) is stopped:
                        _POLLING.pop(url)
                    return
            if url != _pages_url():
                continue
            key = org_key()         # a few indexed rows
            with _HELD_LOCK:
                seen = _SEEN.setdefault(url, key)
            if key != seen:
                _after_refresh(engine())
    except Exception:       # only the head start is lost; the next use starts polling again
        log.exception("looking for changes made by other processes failed")
        with _HELD_LOCK:
            if _POLLING.get(url) is stopped:
                _POLLING.pop(url)


def stop_updates() -> None:
    """Forget what is in use and let the updates and polling of this process end (what a new
    process starts with; tests)."""
    wait_for_updates()
    with _HELD_LOCK:
        _IN_USE.clear()
        _SEEN.clear()
        _SHOWN.clear()
        _SHOWN_REVIEW.clear()
        _READ_KEPT.clear()
        _HELD_KEY.clear()
        _WHOLE_SEEN.clear()
        _FOR_ALL.clear()
        _MEANWHILE_FOR.clear()
        _POLLING.clear()
        _STOPPED[0].set()
        _STOPPED[0] = threading.Event()


def _after_refresh(eng) -> None:
    """materialise's listener: start (or ask for one more pass of) the update of ``eng``'s
    database when something of it is in use, when every figure changed (:data:`_FOR_ALL`), or
    when this process holds its frames (:func:`_kept_for_every_process`)."""
    url = str(eng.url)
    if url != _pages_url():     # another database's data are not the pages'
        return
    whole = whole_key(eng, wait=False)      # on the refresh worker: no waiting for itself
    with _HELD_LOCK:
        seen = _WHOLE_SEEN.get(url)
        _WHOLE_SEEN[url] = whole
        if seen is not None and seen != whole:
            _FOR_ALL.add(url)
        if not _used_lately(url) and url not in _FOR_ALL and url not in _HELD:
            return
        if url in _UPDATING:
            _AGAIN.add(url)
            return
        _start_update(url)


def _start_update(url: str) -> None:
    """Start the update of ``url``'s pages.  Call holding _HELD_LOCK, ``url`` not updating:
    wait_for_updates never sees it registered and not yet alive."""
    _UPDATING[url] = thread = threading.Thread(target=_update, args=(url,), name="burnout-update", daemon=True)
    thread.start()


def _update(url: str) -> None:
    _updating_here.on = True
    try:
        while True:
            key = org_key()
            with _HELD_LOCK:
                _AGAIN.discard(url)
                _SEEN[url] = key
                todo = _used_lately(url)
                if url in _FOR_ALL:       # after the pages in use, which someone is waiting for
                    _FOR_ALL.discard(url)
                    todo.append(lambda: _for_every_process(url))
                elif url in _HELD:
                    todo.append(lambda: _kept_for_every_process(url))
            started = time.monotonic()
            for again in todo:
                try:
                    again()
                except Exception:    # only the head start is lost: the page works it out itself
                    log.exception("bringing a page up to date after new data failed")
            with _HELD_LOCK:
                if url not in _AGAIN:
                    _UPDATING.pop(url, None)
                    return
            # check-ins keep coming (a Monday morning): a pause as long as the pass, so that the
            # update has at most half of the process's time and the helpers' pages the rest
            time.sleep(min(time.monotonic() - started, MAX_PAUSE_SECONDS))
    finally:
        _updating_here.on = False
        with _HELD_LOCK:        # however it ended: the next refresh starts a new update
            if _UPDATING.get(url) is threading.current_thread():
                _UPDATING.pop(url)


# A process that holds the organisation's frames (it audited or reviewed it) also stores the
# leads' opening audit and the leaving model after a smaller change, with no page in use
# (_kept_for_every_process).
#
# A change of every figure (the week's first check-in, new settings) would make the first
# lead's and HR reviewer's open in every process work out the organisation's audit and the
# leaving model again (40 s and 30 s at ten thousand helpers): on a Monday morning, with no
# page in use when the check-in came, every first visit was cold.  The process that stores
# such a change works them out once, in the background, and stores them for every process,
# as the import does (release_store.prepare).  _WHOLE_SEEN: url -> the whole_key at this
# process's last refresh of it; a process's first refresh only notes it.
_WHOLE_SEEN: dict[str, str] = {}
_FOR_ALL: set[str] = set()


def _for_every_process(url: str) -> None:
    """The leads' opening audit, the week blocks and the HR review's leaving model for the
    current state, stored for every process (org_audit stores what it computes; the model is
    stored by views.data.leaving_model_for)."""
    key = org_key()
    # the model first, while the process holds least: its fit reads the whole risk history
    leaving_model(url, key, _org_frames(url, key))
    org_audit(url, release_store.OPENING_MEASURE, key)
    release_store.save_weeks(engine())      # the HR review's weeks, suppressed by that audit


def _kept_for_every_process(url: str) -> None:
    """The leads' opening audit and the HR review's leaving model for the current state,
    stored for every process (org_audit and views.data.leaving_model_for store what they
    compute), by a process holding the organisation's frames.  From them the audit costs what
    changed (about a second after a check-in at L), where a fresh process's first lead open
    would work it out from the kept read (4-5 s).  The model is read from this process's fits
    unless what it is fitted on moved (a check-in dated in a completed week, a leaver on the
    roster): then it is fitted here, where the next HR open in every process fitted it (30 s)."""
    key = org_key()
    org_audit(url, release_store.OPENING_MEASURE, key)
    leaving_model(url, key, _org_frames(url, key))


def wait_for_updates(url: str | None = None) -> None:
    """Wait until what this process keeps up to date after new data is (benchmarks, tests)."""
    while True:
        with _HELD_LOCK:
            threads = [t for u, t in _UPDATING.items() if (url is None or u == url) and t.is_alive()]
        if not threads:
            break
        for thread in threads:
            thread.join()
    _wait_warm(url)


materialise.on_refreshed(_after_refresh)


@st.cache_resource(ttl=3600, max_entries=512, show_spinner=False)
def _team_verdicts(url: str, team: str, measure: str, key: str) -> str:
    return hashlib.sha256(repr(org_audit(url, measure, key).verdicts(team)).encode()).hexdigest()


def _page_key(url: str, team: str, measure: str, key: str) -> str:
    """``key`` (:func:`team_key`) and the organisation's verdicts on this team: a change
    elsewhere that flips what may be shown here rebuilds the page, any other leaves it."""
    return f"{key}|{_team_verdicts(url, team, measure, org_key())}"


@st.cache_resource(ttl=3600, max_entries=256, show_spinner=False)
def _team_page(url: str, team: str, measure: str, key: str, page_key: str) -> TeamPage:
    # built against the audit of the moment; page_key holds its verdicts on this team
    page = team_views.team_page(team_data(url, team, key), team, measure, org=org_audit(url, measure, org_key()))
    tables = {"bands": page.bands_table, "trend": page.trend_table, "scatter": page.scatter_table,
              "participation": page.participation_table, "symptoms": page.symptoms_table,
              "caseload": page.view.caseload}
    return TeamPage(page, {k: _arrow(v) for k, v in tables.items()}, to_csv(page.view.caseload),
                    key=key, page_key=page_key)


def team_page(url: str, team: str, measure: str, key: str) -> TeamPage:
    """``team``'s page for ``measure`` (views.team.team_page); the page checks the viewer
    may see the team before asking.  While a change of every figure is being worked out,
    the page this process showed before, marked ``updating`` (:func:`_shown_meanwhile`)."""
    _in_use(("team_page", url, team, measure), lambda: team_page(url, team, measure, team_key(team)))
    whole = whole_key()
    meanwhile = _shown_meanwhile(url, team, measure, whole, key)
    if meanwhile is not None:
        return meanwhile
    erased = _erasures()
    with _building():
        drawn = _team_page(url, team, measure, key, _page_key(url, team, measure, key))
    with _HELD_LOCK:
        _SHOWN.pop((url, team, measure), None)
        _SHOWN[(url, team, measure)] = (whole, erased, drawn)
        while len(_SHOWN) > MAX_IN_USE:
            _SHOWN.pop(next(iter(_SHOWN)))
    return drawn


@st.cache_resource(ttl=3600, max_entries=256, show_spinner=False)
def _team_heatmap(url: str, team: str, measure: str, weeks: int, key: str, page_key: str, _drawn: TeamPage):
    fig, table = team_views.team_heatmap(_drawn.page.view, weeks)
    return fig, _arrow(table)


def team_heatmap(url: str, team: str, measure: str, weeks: int, drawn: TeamPage):
    """The heatmap of the last ``weeks`` weeks of the page ``drawn`` (:func:`team_page`) and its table."""
    _in_use(("team_heatmap", url, team, measure, weeks),
            lambda: team_heatmap(url, team, measure, weeks, team_page(url, team, measure, team_key(team))))
    return _team_heatmap(url, team, measure, weeks, drawn.key, drawn.page_key, drawn)


# ---------------------------------------------------------------- the page shown before, meanwhile
# A change of every figure (the week's first check-in moves every team's week; an import, a
# rebuild, changed settings) makes the organisation's audit anew: at ten thousand helpers the
# next lead's page waited 40 s for it.  A lead whose page this process showed before is shown
# that page meanwhile (the team's leads had it already: nothing new is released), saying so,
# and the page shows the new one by itself when it is ready (ui/team.py).  After a check-in in
# another team (in a week under way) a lead's rerun shows the page from before, unmarked, while
# the update checks the verdicts on the team again (about a second): the team's own figures are
# those of now.  A check-in in the lead's own team is waited for.  The HR review, whose update
# takes seconds, shows the review made last, marked (review_stamp).  Never shown meanwhile: a page
# made before someone's data were erased, or one showing a helper who has since stopped
# sharing their results or left the team (:func:`_shareable`).
_SHOWN: dict[tuple, tuple[str, tuple, TeamPage]] = {}   # (url, team, measure) -> (whole_key, _erasures(), page)
_MEANWHILE_FOR: dict[str, str] = {}                # url -> the whole_key a page started an update for


def whole_key(eng=None, wait: bool = True) -> str:
    """What only a change of every figure moves: materialise's "all" counter, the saved
    settings and the calendar week (each team's :func:`team_key` holds it)."""
    return cache_key(eng or engine(), ["all"], wait=wait)


def _meanwhile(url: str, before: str | None, whole: str) -> bool:
    """Whether a page last shown when every figure was at ``before`` (a :func:`whole_key`) is
    shown again meanwhile: every figure has changed since (``whole``) and an update is making
    the new ones, started here when none runs.  An update that ended without making them
    (it failed) is not waited for again: the page works them out itself."""
    if getattr(_updating_here, "on", False) or before is None or before == whole:
        return False      # the update itself makes the new page; nothing shown, or nothing changed
    with _HELD_LOCK:
        if url not in _UPDATING:
            if _MEANWHILE_FOR.get(url) == whole:
                return False
            _MEANWHILE_FOR[url] = whole
            _start_update(url)
    return True


def _ready(url: str, shown_at: str | None) -> bool:
    """Whether a rerun of a page shown meanwhile would show the new one (or work it out itself)."""
    whole = whole_key()
    with _HELD_LOCK:
        return url not in _UPDATING or shown_at == whole


def _erasures() -> tuple:
    """The counters of deletions from the tables of answers and caseloads (a helper's data
    erased, whoever deleted them): a page made before one is not shown again."""
    return versions(engine(), DELETED_SCOPES)


def _shareable(team: str, drawn: TeamPage) -> bool:
    """Whether everyone ``drawn`` shows one by one still shares their results with the
    team's leads (none withdrew their consent or left the team since)."""
    shown = set(drawn.page.view.consenting["helper_id"].astype(str))
    return shown <= frames.sharing_with_lead(engine(), team)


def _shown_meanwhile(url: str, team: str, measure: str, whole: str, key: str) -> TeamPage | None:
    """The page shown before, while an update makes the one for now: marked ``updating`` after a
    change of every figure; as it is after check-ins in other teams only (``key``, the team's
    :func:`team_key`, unchanged), whose update checks the organisation's verdicts on this team
    again (about a second at ten thousand helpers) and rarely changes a figure of it."""
    with _HELD_LOCK:
        before = _SHOWN.get((url, team, measure))
        elsewhere = (before is not None and before[0] == whole and before[2].key == key and url in _UPDATING
                     and not getattr(_updating_here, "on", False))
    if before is None or (before[0] == whole and not elsewhere):
        return None
    if before[1] != _erasures() or not _shareable(team, before[2]):
        return None
    if elsewhere:
        return before[2]
    if not _meanwhile(url, before[0], whole):
        return None
    return dataclasses.replace(before[2], updating=True)


def team_page_ready(url: str, team: str, measure: str) -> bool:
    with _HELD_LOCK:
        before = _SHOWN.get((url, team, measure))
    return _ready(url, None if before is None else before[0])


# The HR review: the whole_key, org_key and _erasures() of the review this process showed last,
# by database (group figures only: no one's consent is in them, an erasure is).
_SHOWN_REVIEW: dict[str, tuple[str, str, tuple]] = {}


def review_stamp(url: str) -> tuple[str, bool]:
    """The org_key the HR review is shown for: the current one, or that of the review this
    process made last (and True) while the update makes a newer one: a change of every figure
    (:func:`_meanwhile`), or check-ins the update is adding.  The HR review's update takes
    seconds at ten thousand helpers (a lead's page under one, which is waited for): on a busy
    morning every click of the reviewer's waited for it."""
    whole = whole_key()
    with _HELD_LOCK:
        before = _SHOWN_REVIEW.get(url)
    if before is not None and before[2] != _erasures():
        before = None
    if before is not None and _meanwhile(url, before[0], whole):
        return before[1], True
    key = org_key()
    if before is not None and before[0] == whole and before[1] != key and not getattr(_updating_here, "on", False):
        with _HELD_LOCK:
            if url in _UPDATING:
                return before[1], True
    return key, False


def review_ready(url: str, stamp: str) -> bool:
    """Whether a rerun of the review shown meanwhile for ``stamp`` would show a newer one."""
    with _HELD_LOCK:
        before = _SHOWN_REVIEW.get(url)
        return url not in _UPDATING or (before is not None and before[1] != stamp)


MEANWHILE_NOTE = ("New data have arrived and the figures are being brought up to date (at a large "
                  "organisation this can take a minute). Until then this page shows the figures from "
                  "before; it updates by itself.")


def updating_note(ready: Callable[[], bool]) -> None:
    """Say that the page shows the figures from before, and rerun it when ``ready()``."""
    st.info(MEANWHILE_NOTE, icon=":material/update:")
    _rerun_when(ready)


@st.fragment(run_every=3)
def _rerun_when(ready: Callable[[], bool]) -> None:
    if ready():
        st.rerun(scope="app")


@st.cache_resource(ttl=3600, max_entries=128, show_spinner=False)
def team_worklist(url: str, team: str, sort: str, key: str) -> tuple[tuple[str, ...], object]:
    """Who may need a conversation (views.team.worklist): the helper ids listed, and the
    list as shown."""
    wl = team_views.worklist(team_data(url, team, key), team, sort=sort)
    return tuple(wl["helper_id"]), _arrow(for_screen(wl.drop(columns=["helper_id", "driver"])))
