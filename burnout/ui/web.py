"""The two HTTP routes that hold the session cookie, served beside Streamlit by ``st.App``.

A Streamlit script cannot set cookies, and a JavaScript component could only set
one that scripts can read. So after a sign-in the page sends the browser to
``/_auth/session?code=…``: the code is a one-time grant (two minutes);
this route swaps it for a server-side session and sets the HttpOnly, SameSite=Lax
cookie, then redirects to the page the person asked for. ``/_auth/sign-out``
clears the cookie (the page has already ended the session in the database).

The cookie is marked Secure when the request came over HTTPS, directly or through a
reverse proxy that says so in X-Forwarded-Proto.
"""
from __future__ import annotations

import os
import sys
from contextlib import asynccontextmanager
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Route

from burnout import auth, seed
from burnout.store import database_url, get_engine, is_empty

GRANT_PATH = "/_auth/session"
SIGN_OUT_PATH = "/_auth/sign-out"


def grant_url(code: str) -> str:
    # where to return is stored with the grant, not in this URL, so it cannot be swapped
    return f"{GRANT_PATH}?{urlencode({'code': code})}"


def is_https(request: Request) -> bool:
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or proto == "https"


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"     # the grant code is in this URL
    return response


async def session_route(request: Request):
    # Browsers say where a navigation came from; a grant used from another site would
    # sign the victim into someone else's account (login CSRF), so it is refused.
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return _no_store(PlainTextResponse("Sign-in links work only from this dashboard.", status_code=403))
    engine = get_engine(database_url())
    result = await run_in_threadpool(auth.redeem_grant, engine, request.query_params.get("code", ""))
    if result is None:
        return _no_store(RedirectResponse("/", status_code=303))
    token, next_path = result
    max_age = int(float(await run_in_threadpool(auth.setting, engine, "session_max_hours")) * 3600)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(auth.SESSION_COOKIE, token, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=is_https(request))
    return _no_store(response)


async def sign_out_route(request: Request):
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request))
    return _no_store(response)


ROUTES = [Route(GRANT_PATH, session_route, methods=["GET"]),
          Route(SIGN_OUT_PATH, sign_out_route, methods=["GET"])]


def print_setup_code() -> None:
    """At start, when nobody can administer this database, print a one-time setup code.

    Only someone who can read the server log can create the first admin; a visitor
    who finds the setup screen cannot.
    """
    engine = get_engine(database_url())
    auth.ensure_env_admin(engine)
    auth.purge_expired(engine)
    demo_coming = is_empty(engine) and config_demo_enabled() and not seed.demo_was_cleared(engine)
    if demo_coming or auth.has_admin(engine):
        return
    log_setup_code(engine)


def log_setup_code(engine) -> None:
    code = auth.issue_setup_code(engine)
    if code:
        message = (f"No admin account exists yet. First-admin setup code (valid "
                   f"{auth.setting(engine, 'setup_code_hours')} hours, once): {code}")
        print(message, file=sys.stderr, flush=True)


def config_demo_enabled() -> bool:
    return os.environ.get("BURNOUT_DEMO", "1") != "0"


@asynccontextmanager
async def lifespan(_app):
    await run_in_threadpool(print_setup_code)
    yield
