"""Local accounts: argon2id hashes (argon2-cffi), roles, session expiry, and the
mapping of an optional single sign-on identity (Streamlit's OIDC login) to a local account.

No secrets live in the repository: the first admin comes from
BURNOUT_ADMIN_USER / BURNOUT_ADMIN_PASSWORD or the one-time setup screen, and
demo users exist only in a database seeded with the demo organisation.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine

from burnout.errors import InputError
from burnout.privacy import ROLES
from burnout.store.schema import helpers, teams, users
from burnout.store.writes import audit

_hasher = PasswordHasher()
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(engine: Engine, username: str, password: str, role: str, *, helper_id: str | None = None,
                team: str | None = None, is_demo: bool = False, actor: str = "admin") -> int:
    username = (username or "").strip()
    if not username:
        raise InputError("a username is required", column="username")
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}", column="role")
    if len(password or "") < MIN_PASSWORD and not is_demo:
        raise InputError(f"the password needs at least {MIN_PASSWORD} characters", column="password")
    if role == "helper" and not helper_id:
        raise InputError("a helper account must be linked to a helper id from the roster", column="helper_id")
    if role == "lead" and not team:
        raise InputError("a team lead account needs a team", column="team")
    with engine.begin() as conn:
        if conn.execute(select(users.c.user_id).where(users.c.username == username)).first():
            raise InputError(f"the username {username!r} is taken", column="username")
        if helper_id and not conn.execute(select(helpers.c.helper_id).where(helpers.c.helper_id == helper_id)).first():
            raise InputError(f"{helper_id!r} is not in the roster", column="helper_id")
        if team and not conn.execute(select(teams.c.team_id).where(teams.c.team_id == team)).first():
            raise InputError(f"{team!r} is not a team", column="team")
        uid = conn.execute(insert(users).values(
            username=username, password_hash=hash_password(password), role=role, helper_id=helper_id,
            team_id=team, is_demo=is_demo, active=True,
            created_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))).inserted_primary_key[0]
        audit(conn, actor, "user_created", detail=f"{username} ({role})")
    return int(uid)


def authenticate(engine: Engine, username: str, password: str) -> dict | None:
    """The user's record (without the hash) when the password matches, else None."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == (username or "").strip(),
                                               users.c.active.is_(True))).mappings().first()
    if row is None:
        _hasher.hash("timing-equaliser")  # a missing user costs as long as a wrong password
        return None
    try:
        _hasher.verify(row["password_hash"], password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(row["password_hash"]):
        with engine.begin() as conn:
            conn.execute(update(users).where(users.c.user_id == row["user_id"])
                         .values(password_hash=hash_password(password)))
    return {k: v for k, v in row.items() if k != "password_hash"}


def set_password(engine: Engine, username: str, password: str, actor: str = "admin") -> None:
    if len(password or "") < MIN_PASSWORD:
        raise InputError(f"the password needs at least {MIN_PASSWORD} characters", column="password")
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.username == username)
                     .values(password_hash=hash_password(password)))
        audit(conn, actor, "password_changed", detail=username)


def set_active(engine: Engine, username: str, active: bool, actor: str = "admin") -> None:
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.username == username).values(active=active))
        audit(conn, actor, "user_enabled" if active else "user_disabled", detail=username)


def users_frame(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(select(users.c.user_id, users.c.username, users.c.role, users.c.helper_id,
                                  users.c.team_id, users.c.is_demo, users.c.active, users.c.created_at)
                           .order_by(users.c.role, users.c.username), conn)


def has_admin(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(users).where(users.c.role == "admin")).scalar_one() > 0


def ensure_env_admin(engine: Engine) -> str | None:
    """Create the first admin from BURNOUT_ADMIN_USER/BURNOUT_ADMIN_PASSWORD if none exists."""
    name, pw = os.environ.get("BURNOUT_ADMIN_USER"), os.environ.get("BURNOUT_ADMIN_PASSWORD")
    if name and pw and not has_admin(engine):
        create_user(engine, name, pw, "admin", actor="environment")
        return name
    return None


def session_expired(last_seen: dt.datetime | None, minutes: int, now: dt.datetime | None = None) -> bool:
    if last_seen is None:
        return True
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return now - last_seen > dt.timedelta(minutes=minutes)


# --------------------------------------------------------------------------- messages

def plain_message(exc: InputError) -> str:
    """The message of ``exc`` without the "file …, row …, column '…':" locator.

    The locator helps with a spreadsheet; on a form with one labelled field it is jargon.
    """
    text = str(exc)
    where = ", ".join(p for p in (
        f"file {exc.file}" if exc.file else "",
        f"row {exc.row}" if exc.row is not None else "",
        f"column {exc.column!r}" if exc.column else "",
    ) if p)
    if where and text.startswith(f"{where}: "):
        text = text[len(where) + 2:]
    text = text.strip()
    return (text[:1].upper() + text[1:]) if text else text


# --------------------------------------------------------------------------- single sign-on (OIDC)
#
# Streamlit's st.login does the OIDC exchange; this module only decides whether it is
# configured and which local account a returned identity may use. SSO never creates
# accounts or grants roles: roles and team/helper links stay in the local database.

_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


def sso_providers(auth_section) -> list[str]:
    """Provider names usable with ``st.login`` from the ``[auth]`` secrets section.

    ``["default"]`` when the provider settings sit directly in ``[auth]`` (``st.login()``),
    otherwise the names of the ``[auth.<name>]`` sub-sections. Empty when SSO is not
    configured or the shared settings (redirect_uri, cookie_secret) are missing.
    """
    if not isinstance(auth_section, Mapping):
        return []
    if not all(auth_section.get(k) for k in ("redirect_uri", "cookie_secret")):
        return []
    if all(auth_section.get(k) for k in _PROVIDER_KEYS):
        return ["default"]
    return [name for name, sub in auth_section.items()
            if isinstance(sub, Mapping) and "_" not in name and name != "default"
            and all(sub.get(k) for k in _PROVIDER_KEYS)]


def sso_email(info: Mapping) -> str | None:
    """The e-mail of a signed-in SSO identity (``st.user``), or None.

    None when not signed in, when the identity carries no e-mail, or when the
    provider says the address is not verified (``email_verified`` false).
    """
    if not isinstance(info, Mapping) or info.get("is_logged_in") is not True:
        return None
    if str(info.get("email_verified", "")).strip().lower() == "false":
        return None
    email = str(info.get("email") or "").strip()
    return email or None


def user_for_sso(engine: Engine, email: str | None) -> dict | None:
    """The active local account whose username is ``email`` (case-insensitive), or None.

    An exact match wins; otherwise exactly one case-insensitive match is needed
    (two accounts differing only in case are ambiguous and refused).
    """
    email = (email or "").strip()
    if not email:
        return None
    with engine.connect() as conn:
        rows = conn.execute(select(users).where(func.lower(users.c.username) == email.lower(),
                                                users.c.active.is_(True))).mappings().all()
    exact = [r for r in rows if r["username"] == email]
    row = exact[0] if exact else (rows[0] if len(rows) == 1 else None)
    if row is None:
        return None
    return {k: v for k, v in row.items() if k != "password_hash"}


def sso_sign_in(engine: Engine, info: Mapping) -> dict | None:
    """The local account for a signed-in SSO identity, with the sign-in written to the audit log.

    None (and nothing written) when there is no verified e-mail or no active account for it.
    """
    email = sso_email(info)
    user = user_for_sso(engine, email)
    if user is None:
        return None
    provider = str(info.get("provider") or "").strip()
    with engine.begin() as conn:
        audit(conn, user["username"], "sso_sign_in",
              detail=f"{email}" + (f" via {provider}" if provider else ""))
    return user


def audit_sso_refused(engine: Engine, info: Mapping) -> None:
    """Record that a provider sign-in found no account here, so an admin can add one."""
    email = str(info.get("email") or "").strip() or "(no e-mail)"
    provider = str(info.get("provider") or "").strip()
    with engine.begin() as conn:
        audit(conn, "sso", "sso_no_account", detail=email[:200] + (f" via {provider}" if provider else ""))
