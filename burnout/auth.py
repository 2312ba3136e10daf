"""Accounts and sessions: argon2id hashes (argon2-cffi), normalised usernames,
invites instead of admin-set passwords, sign-in throttling with an audit trail,
server-side sessions shared by every dashboard process, and the mapping of an
optional single sign-on identity (Streamlit's OIDC login) to a local account.

No secrets live in the repository: the first admin comes from
BURNOUT_ADMIN_USER / BURNOUT_ADMIN_PASSWORD or the setup screen (which needs a
one-time code printed in the server log), and demo users exist only in a
database seeded with the demo organisation.

Tokens (session, invite, sign-in grant, setup code) are 256-bit random strings;
the database keeps only their SHA-256, so a copy of the database opens nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from burnout.domain.settings import Settings
from burnout.domain.time import now as _now
from burnout.errors import InputError
from burnout.privacy import ROLES
from burnout.store.schema import auth_tokens, helpers, sessions, sign_in_throttle, teams, users
from burnout.store import settings as saved_settings
from burnout.store.writes import audit

# The throttle, lock, invite and session-age values are the organisation's
# settings (burnout.domain.settings), read fresh on each use.
AUTH_KEYS = ("session_max_hours", "invite_hours", "signin_free_failures", "signin_delay_seconds",
             "signin_max_delay_seconds", "signin_lock_failures", "signin_lock_minutes",
             "signin_client_free_failures", "signin_client_lock_failures", "signin_forget_minutes",
             "grant_seconds", "setup_code_hours")

MIN_PASSWORD = 12
MAX_PASSWORD = 256
MAX_USERNAME = 120
SESSION_COOKIE = "burnout_session"
# zxcvbn refuses inputs over 72 characters (it is slow on long ones); the first 72 decide whether a
# password is guessable anyway.
_STRENGTH_CHARS = 72

_hasher = PasswordHasher()


def setting(engine: Engine, key: str, stored: Settings | None = None):
    """The organisation's value of one of the account settings (``AUTH_KEYS``)."""
    return getattr(stored if stored is not None else saved_settings.load(engine), key)


def token_hash(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# --------------------------------------------------------------------------- names and passwords

_REFUSED_CATEGORIES = {"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp", "Zs"}


def normalise_username(name: str) -> str:
    """NFKC + case-folded username; InputError for an empty or look-alike-prone name.

    Invisible and space characters are refused rather than dropped: "demo-hr" with a
    zero-width space must not become a second account that reads the same.
    """
    text = unicodedata.normalize("NFKC", (name or "").strip())
    if not text:
        raise InputError("a username is required", column="username")
    bad = [c for c in text if unicodedata.category(c) in _REFUSED_CATEGORIES]
    if bad:
        raise InputError(f"the username contains a space or an invisible character (U+{ord(bad[0]):04X}); "
                         "use letters, digits and . - _ @", column="username")
    key = text.casefold()
    if len(key) > MAX_USERNAME:
        raise InputError(f"the username is longer than {MAX_USERNAME} characters", column="username")
    return key


def check_password(password: str, username: str = "") -> None:
    """InputError unless ``password`` is long enough and not common or guessable.

    Strength comes from zxcvbn (dictionaries of common passwords, names and
    patterns); a score below 3 of 4 is refused.
    """
    password = password or ""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password needs at least {MIN_PASSWORD} characters", column="password")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"the password can have at most {MAX_PASSWORD} characters", column="password")
    import zxcvbn  # deferred: loads large word lists, needed only when a password is set

    result = zxcvbn.zxcvbn(password[:_STRENGTH_CHARS], user_inputs=[username] if username else [])
    if result["score"] < 3:
        hint = (result.get("feedback") or {}).get("warning") or ""
        raise InputError("this password is too common or too easy to guess"
                         + (f" ({hint.rstrip('.')})" if hint else "")
                         + "; a few unrelated words together work well", column="password")


def _public(row: Mapping) -> dict:
    return {k: v for k, v in dict(row).items() if k != "password_hash"}


def _audit(engine_or_conn, actor: str, action: str, detail: str | None = None) -> None:
    if isinstance(engine_or_conn, Connection):
        audit(engine_or_conn, actor[:120], action, detail=detail)
    else:
        with engine_or_conn.begin() as conn:
            audit(conn, actor[:120], action, detail=detail)


# --------------------------------------------------------------------------- accounts

def create_user(engine: Engine, username: str, password: str | None, role: str, *,
                helper_id: str | None = None, team: str | None = None, email: str | None = None,
                is_demo: bool = False, actor: str = "admin", conn: Connection | None = None) -> int:
    """Create an account; with no password it waits for its invite (see create_invite)."""
    username = unicodedata.normalize("NFKC", (username or "").strip())
    key = normalise_username(username)
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}", column="role")
    if password is not None and not is_demo:
        check_password(password, username)
    if role == "helper" and not helper_id:
        raise InputError("a helper account must be linked to a helper id from the roster", column="helper_id")
    if role == "lead" and not team:
        raise InputError("a team lead account needs a team", column="team")
    email = (email or "").strip() or None

    def _create(c: Connection) -> int:
        if c.execute(select(users.c.user_id).where(users.c.username_norm == key)).first():
            raise InputError(f"the username {username!r} is taken (names differing only in case or width "
                             "count as the same)", column="username")
        if helper_id and not c.execute(select(helpers.c.helper_id).where(helpers.c.helper_id == helper_id)).first():
            raise InputError(f"{helper_id!r} is not in the roster", column="helper_id")
        if team and not c.execute(select(teams.c.team_id).where(teams.c.team_id == team)).first():
            raise InputError(f"{team!r} is not a team", column="team")
        now = _now()
        uid = c.execute(insert(users).values(
            username=username, username_norm=key, email=email,
            password_hash=hash_password(password) if password is not None else None,
            password_set_at=now if password is not None else None, role=role, helper_id=helper_id,
            team_id=team, is_demo=is_demo, active=True, auth_version=1, created_at=now)).inserted_primary_key[0]
        audit(c, actor, "user_created", detail=f"{username} ({role})" + ("" if password else ", invited"))
        return int(uid)

    if conn is not None:
        return _create(conn)
    with engine.begin() as c:
        return _create(c)


def _user_row(conn: Connection, username: str):
    try:
        key = normalise_username(username)
    except InputError:
        return None
    exact = unicodedata.normalize("NFKC", (username or "").strip())
    rows = conn.execute(select(users).where(or_(users.c.username_norm == key, users.c.username == exact))
                        ).mappings().all()
    # two accounts from before names were normalised ("Sam", "sam") each keep their exact name
    return next((r for r in rows if r["username"] == exact), rows[0] if rows else None)


def get_user(engine: Engine, username: str) -> dict | None:
    with engine.connect() as conn:
        row = _user_row(conn, username)
    return _public(row) if row else None


def _verify(row, password: str) -> bool:
    if row is None or not row["password_hash"]:
        _hasher.hash("timing-equaliser")  # a missing user costs as long as a wrong password
        return False
    try:
        return _hasher.verify(row["password_hash"], password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(engine: Engine, username: str, password: str) -> dict | None:
    """The active account (without the hash) when the password matches, else None.

    No throttling and no audit: the sign-in page and SSO go through sign_in().
    """
    with engine.connect() as conn:
        row = _user_row(conn, username)
    if row is None or not row["active"] or not _verify(row, password):
        return None
    if _hasher.check_needs_rehash(row["password_hash"]):
        with engine.begin() as conn:
            conn.execute(update(users).where(users.c.user_id == row["user_id"])
                         .values(password_hash=hash_password(password)))
    return _public(row)


def _bump(conn: Connection, user_id: int, **values) -> None:
    """Change an account and end every session it has (other tabs, other devices)."""
    conn.execute(update(users).where(users.c.user_id == user_id)
                 .values(auth_version=users.c.auth_version + 1, **values))
    conn.execute(delete(sessions).where(sessions.c.user_id == user_id))


def set_password(engine: Engine, username: str, password: str, actor: str = "admin") -> None:
    """Set a password directly (CLI with BURNOUT_PASSWORD); ends the account's sessions."""
    with engine.begin() as conn:
        row = _user_row(conn, username)
        if row is None:
            raise InputError(f"there is no account {username!r}", column="username")
        check_password(password, row["username"])
        _bump(conn, row["user_id"], password_hash=hash_password(password), password_set_at=_now())
        audit(conn, actor, "password_changed", detail=row["username"])


def change_own_password(engine: Engine, user_id: int, current: str, new: str) -> None:
    """A signed-in person changes their password; their other sessions end."""
    with engine.begin() as conn:
        row = conn.execute(select(users).where(users.c.user_id == user_id)).mappings().first()
        if row is None or not _verify(row, current):
            raise InputError("the current password is not right", column="current password")
        check_password(new, row["username"])
        _bump(conn, user_id, password_hash=hash_password(new), password_set_at=_now())
        audit(conn, row["username"], "password_changed", detail="by the account holder")


def _real_admins(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(users).where(
        users.c.role == "admin", users.c.active.is_(True), users.c.is_demo.is_(False))).scalar_one()


def set_active(engine: Engine, username: str, active: bool, actor: str = "admin") -> None:
    with engine.begin() as conn:
        row = _user_row(conn, username)
        if row is None:
            raise InputError(f"there is no account {username!r}", column="username")
        if (not active and row["role"] == "admin" and not row["is_demo"] and row["active"]
                and _real_admins(conn) <= 1):
            raise InputError("this is the last admin account; add another admin before disabling it")
        _bump(conn, row["user_id"], active=active)
        audit(conn, actor, "user_enabled" if active else "user_disabled", detail=row["username"])


def set_role(engine: Engine, username: str, role: str, *, helper_id: str | None = None,
             team: str | None = None, actor: str = "admin") -> None:
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}", column="role")
    with engine.begin() as conn:
        row = _user_row(conn, username)
        if row is None:
            raise InputError(f"there is no account {username!r}", column="username")
        if row["role"] == "admin" and role != "admin" and not row["is_demo"] and _real_admins(conn) <= 1:
            raise InputError("this is the last admin account; add another admin before changing its role")
        _bump(conn, row["user_id"], role=role, helper_id=helper_id, team_id=team)
        audit(conn, actor, "user_role_changed", detail=f"{row['username']}: {row['role']} -> {role}")


def users_frame(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        df = pd.read_sql(select(users.c.user_id, users.c.username, users.c.email, users.c.role, users.c.helper_id,
                                users.c.team_id, users.c.is_demo, users.c.active, users.c.created_at,
                                users.c.password_hash.isnot(None).label("has_password"))
                         .order_by(users.c.role, users.c.username), conn)
    return df


def has_admin(engine: Engine) -> bool:
    """True while any active admin account exists (a demo admin counts while the demo is there)."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(users).where(
            users.c.role == "admin", users.c.active.is_(True))).scalar_one() > 0


def has_real_admin(engine: Engine) -> bool:
    with engine.connect() as conn:
        return _real_admins(conn) > 0


def ensure_env_admin(engine: Engine) -> str | None:
    """Create the first admin from BURNOUT_ADMIN_USER/BURNOUT_ADMIN_PASSWORD if no real admin exists."""
    name, pw = os.environ.get("BURNOUT_ADMIN_USER"), os.environ.get("BURNOUT_ADMIN_PASSWORD")
    if name and pw and not has_real_admin(engine):
        if get_user(engine, name) is not None:
            return None
        try:
            create_user(engine, name, pw, "admin", actor="environment")
        except InputError as exc:
            # a refused name or password must not stop the server: say why where the operator looks
            print(f"BURNOUT_ADMIN_USER/BURNOUT_ADMIN_PASSWORD not used: {plain_message(exc)}", file=sys.stderr)
            return None
        return name
    return None


def session_expired(last_seen: dt.datetime | None, minutes: int, now: dt.datetime | None = None) -> bool:
    if last_seen is None:
        return True
    now = now or _now()
    return now - last_seen > dt.timedelta(minutes=minutes)


# --------------------------------------------------------------------------- one-time tokens

def _issue(conn: Connection, kind: str, user_id: int | None, lifetime: dt.timedelta,
           data: dict | None = None) -> str:
    token = _new_token()
    now = _now()
    conn.execute(insert(auth_tokens).values(token_hash=token_hash(token), kind=kind, user_id=user_id,
                                            created_at=now, expires_at=now + lifetime,
                                            data=json.dumps(data) if data else None))
    return token


def _redeem(conn: Connection, kind: str, token: str, *, consume: bool = True):
    """The token's row when it is valid (right kind, unused, not expired); marks it used."""
    if not token:
        return None
    now = _now()
    row = conn.execute(select(auth_tokens).where(auth_tokens.c.token_hash == token_hash(token),
                                                 auth_tokens.c.kind == kind,
                                                 auth_tokens.c.used_at.is_(None),
                                                 auth_tokens.c.expires_at > now)).mappings().first()
    if row is None:
        return None
    if consume:
        done = conn.execute(update(auth_tokens).where(auth_tokens.c.token_hash == row["token_hash"],
                                                      auth_tokens.c.used_at.is_(None))
                            .values(used_at=now)).rowcount
        if done != 1:          # another process redeemed it first
            return None
    return row


def base_url() -> str:
    """Where invite links point: BURNOUT_BASE_URL, else a local dashboard."""
    return (os.environ.get("BURNOUT_BASE_URL") or "http://localhost:8501").rstrip("/")


def invite_link(token: str, base: str | None = None) -> str:
    return f"{(base or base_url()).rstrip('/')}/?invite={quote(token)}"


def create_invite(engine: Engine, username: str, actor: str = "admin", conn: Connection | None = None,
                  hours: float | None = None) -> str:
    """A new one-time invite for ``username`` (earlier unused invites stop working)."""
    def _do(c: Connection) -> str:
        row = _user_row(c, username)
        if row is None:
            raise InputError(f"there is no account {username!r}", column="username")
        c.execute(delete(auth_tokens).where(auth_tokens.c.user_id == row["user_id"],
                                            auth_tokens.c.kind == "invite"))
        life = hours if hours is not None else setting(engine, "invite_hours")
        token = _issue(c, "invite", row["user_id"], dt.timedelta(hours=float(life)))
        audit(c, actor, "invite_issued", detail=row["username"])
        return token

    if conn is not None:
        return _do(conn)
    with engine.begin() as c:
        return _do(c)


def reset_account(engine: Engine, username: str, actor: str = "admin") -> str:
    """Admin reset: the old password stops working, every session ends, a new invite is issued."""
    with engine.begin() as conn:
        row = _user_row(conn, username)
        if row is None:
            raise InputError(f"there is no account {username!r}", column="username")
        _bump(conn, row["user_id"], password_hash=None, password_set_at=None)
        audit(conn, actor, "password_reset", detail=row["username"])
        return create_invite(engine, row["username"], actor=actor, conn=conn)


def invite_account(engine: Engine, token: str) -> dict | None:
    """The account an invite is for, while the invite is valid."""
    with engine.connect() as conn:
        row = _redeem(conn, "invite", token, consume=False)
        if row is None:
            return None
        user = conn.execute(select(users).where(users.c.user_id == row["user_id"],
                                                users.c.active.is_(True))).mappings().first()
    return _public(user) if user else None


def accept_invite(engine: Engine, token: str, password: str) -> dict:
    """Set the invited account's own password; the invite is then spent."""
    with engine.begin() as conn:
        peek = _redeem(conn, "invite", token, consume=False)
        if peek is None:
            raise InputError("this invite link has expired or was already used; ask your admin for a new one")
        row = conn.execute(select(users).where(users.c.user_id == peek["user_id"])).mappings().first()
        if row is None or not row["active"]:
            raise InputError("this account cannot sign in; ask your admin")
        check_password(password, row["username"])
        if _redeem(conn, "invite", token) is None:
            raise InputError("this invite link has expired or was already used; ask your admin for a new one")
        _bump(conn, row["user_id"], password_hash=hash_password(password), password_set_at=_now())
        audit(conn, row["username"], "invite_accepted", detail=row["username"])
        fresh = conn.execute(select(users).where(users.c.user_id == row["user_id"])).mappings().first()
    return _public(fresh)


def pending_invites(engine: Engine, base: str | None = None, actor: str = "admin") -> pd.DataFrame:
    """New invite links for every active account that has no password yet (bulk hand-over as CSV)."""
    with engine.connect() as conn:
        rows = conn.execute(select(users.c.username, users.c.email, users.c.role, users.c.helper_id,
                                   users.c.team_id)
                            .where(users.c.password_hash.is_(None), users.c.active.is_(True),
                                   users.c.sso_subject.is_(None))
                            .order_by(users.c.username)).mappings().all()
    hours = float(setting(engine, "invite_hours"))
    expires = (_now() + dt.timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M UTC")
    out = []
    with engine.begin() as conn:
        for r in rows:
            token = create_invite(engine, r["username"], actor=actor, conn=conn, hours=hours)
            out.append({**dict(r), "invite_link": invite_link(token, base), "expires": expires})
    return pd.DataFrame(out, columns=["username", "email", "role", "helper_id", "team_id", "invite_link",
                                      "expires"])


def roster_accounts(conn: Connection, accounts: pd.DataFrame, actor: str = "import") -> list[str]:
    """Helper accounts (waiting for an invite) for roster rows with a username or e-mail.

    Rows whose helper already has an account, or whose name is taken, are left alone.
    Returns the usernames created.
    """
    created = []
    for r in accounts.itertuples(index=False):
        name = r.username if isinstance(r.username, str) and r.username.strip() else r.email
        if not isinstance(name, str) or not name.strip():
            continue
        if conn.execute(select(users.c.user_id).where(users.c.helper_id == r.helper_id)).first():
            continue
        if conn.execute(select(users.c.user_id).where(users.c.username_norm == normalise_username(name))).first():
            continue
        create_user(None, name, None, "helper", helper_id=r.helper_id,
                    email=r.email if isinstance(r.email, str) else None, actor=actor, conn=conn)
        created.append(name.strip())
    return created


# --------------------------------------------------------------------------- first admin

def issue_setup_code(engine: Engine) -> str | None:
    """A one-time code for the first-admin screen, or None when an admin exists."""
    if has_admin(engine):
        return None
    with engine.begin() as conn:
        return _issue(conn, "setup", None, dt.timedelta(hours=float(setting(engine, "setup_code_hours"))))


def setup_admin(engine: Engine, code: str, username: str, password: str) -> int:
    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(users).where(
                users.c.role == "admin", users.c.active.is_(True))).scalar_one():
            raise InputError("an admin account already exists; sign in instead")
        check_password(password, username)
        if _redeem(conn, "setup", (code or "").strip()) is None:
            raise InputError("the setup code is not right or has expired; it is printed in the server log "
                             "when the dashboard starts", column="setup code")
        return create_user(engine, username, password, "admin", actor="setup", conn=conn)


# --------------------------------------------------------------------------- sign-in throttling

@dataclass
class SignIn:
    user: dict | None
    message: str | None = None      # why not, in plain words
    wait_seconds: int = 0


def _throttle_rows(conn: Connection, keys: list[str]) -> dict:
    rows = conn.execute(select(sign_in_throttle).where(sign_in_throttle.c.key.in_(keys))).mappings().all()
    return {r["key"]: r for r in rows}


def _wait(row, s: dict, now: dt.datetime, free: int) -> tuple[float, bool]:
    """(seconds to wait, locked?) for a throttle row that allows ``free`` failures without delay."""
    if row is None:
        return 0.0, False
    if row["locked_until"] and row["locked_until"] > now:
        return (row["locked_until"] - now).total_seconds(), True
    forget = dt.timedelta(minutes=float(s["signin_forget_minutes"]))
    if not row["last_failure_at"] or now - row["last_failure_at"] > forget:
        return 0.0, False
    extra = row["failures"] - free
    if extra < 0:
        return 0.0, False
    delay = min(float(s["signin_max_delay_seconds"]), float(s["signin_delay_seconds"]) * 2 ** extra)
    ready = row["last_failure_at"] + dt.timedelta(seconds=delay)
    return max(0.0, (ready - now).total_seconds()), False


def _record_failure(conn: Connection, key: str, row, lock_after: int, s: dict, now: dt.datetime) -> bool:
    """Count one failure for ``key``; True when this failure locks it."""
    forget = dt.timedelta(minutes=float(s["signin_forget_minutes"]))
    stale = row is None or not row["last_failure_at"] or now - row["last_failure_at"] > forget
    failures = 1 if stale else row["failures"] + 1
    locked = failures >= lock_after
    values = {"failures": 0 if locked else failures, "last_failure_at": now,
              "locked_until": now + dt.timedelta(minutes=float(s["signin_lock_minutes"])) if locked else None}
    if row is None:
        conn.execute(insert(sign_in_throttle).values(key=key, **values))
    else:
        conn.execute(update(sign_in_throttle).where(sign_in_throttle.c.key == key).values(**values))
    return locked


def _wait_words(seconds: float) -> str:
    seconds = int(seconds + 0.999)
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{(seconds + 59) // 60} minutes"


def sign_in(engine: Engine, username: str, password: str, client: str | None = None,
            now: dt.datetime | None = None) -> SignIn:
    """Check a password with per-account and per-client throttling; every outcome is audited.

    While a delay or lock is running the password is not even checked, so guessing
    faster than the delays allows gains nothing.
    """
    now = now or _now()
    stored = saved_settings.load(engine)
    s = {k: getattr(stored, k) for k in AUTH_KEYS}
    typed = (username or "").strip()[:120] or "(empty)"
    try:
        key = normalise_username(username)
    except InputError:
        key = typed.casefold()
    ukey, ckey = f"user:{key}"[:300], f"client:{client}"[:300] if client else None
    keys = [k for k in (ukey, ckey) if k]
    where = f" from {client}" if client else ""
    with engine.begin() as conn:
        rows = _throttle_rows(conn, keys)
        waits = {k: _wait(rows.get(k), s, now, int(s["signin_free_failures"] if k == ukey
                                                   else s["signin_client_free_failures"])) for k in keys}
        longest = max(waits.values(), key=lambda w: w[0])
        if longest[0] > 0:
            locked = any(lk for _, lk in waits.values())
            audit(conn, typed, "sign_in_refused_locked" if locked else "sign_in_refused_wait",
                  detail=f"{_wait_words(longest[0])} left{where}")
            msg = (f"Too many wrong passwords. Sign-in is paused for {_wait_words(longest[0])}; "
                   "your admin can also unlock the account." if locked else
                   f"Too many wrong passwords in a row. Please wait {_wait_words(longest[0])} and try again.")
            return SignIn(None, msg, int(longest[0] + 0.999))
        row = _user_row(conn, username)
    ok = row is not None and row["active"] and _verify(row, password)
    with engine.begin() as conn:
        if ok:
            conn.execute(delete(sign_in_throttle).where(sign_in_throttle.c.key == ukey))
            audit(conn, row["username"], "sign_in", detail=f"password{where}")
            if _hasher.check_needs_rehash(row["password_hash"]):
                conn.execute(update(users).where(users.c.user_id == row["user_id"])
                             .values(password_hash=hash_password(password)))
            return SignIn(_public(row))
        rows = _throttle_rows(conn, keys)
        audit(conn, typed, "sign_in_failed", detail=("no such active account" if row is None or not row["active"]
                                                     else "wrong password") + where)
        if _record_failure(conn, ukey, rows.get(ukey), int(s["signin_lock_failures"]), s, now):
            audit(conn, typed, "account_locked", detail=f"{s['signin_lock_failures']} failures in a row{where}")
        if ckey and _record_failure(conn, ckey, rows.get(ckey), int(s["signin_client_lock_failures"]), s, now):
            audit(conn, typed, "client_locked", detail=f"{s['signin_client_lock_failures']} failures{where}")
    return SignIn(None, "That username and password do not match an active account.")


def locked_accounts(engine: Engine, now: dt.datetime | None = None) -> pd.DataFrame:
    """Accounts (and clients) whose sign-in is locked now, for the admin."""
    now = now or _now()
    with engine.connect() as conn:
        rows = conn.execute(select(sign_in_throttle.c.key, sign_in_throttle.c.locked_until)
                            .where(sign_in_throttle.c.locked_until > now)
                            .order_by(sign_in_throttle.c.key)).all()
    return pd.DataFrame([{"who": k.split(":", 1)[1], "kind": "account" if k.startswith("user:") else "client",
                          "locked until": until} for k, until in rows],
                        columns=["who", "kind", "locked until"])


def unlock(engine: Engine, who: str, kind: str = "account", actor: str = "admin") -> None:
    key = f"user:{normalise_username(who)}" if kind == "account" else f"client:{who}"
    with engine.begin() as conn:
        conn.execute(delete(sign_in_throttle).where(sign_in_throttle.c.key == key))
        audit(conn, actor, "sign_in_unlocked", detail=f"{kind} {who}")


# --------------------------------------------------------------------------- sessions

def create_grant(engine: Engine, user_id: int, next_path: str = "/", via_sso: bool = False) -> str:
    """A short-lived one-time code the browser exchanges for its session cookie."""
    with engine.begin() as conn:
        return _issue(conn, "grant", user_id, dt.timedelta(seconds=float(setting(engine, "grant_seconds"))),
                      {"next": next_path, "sso": bool(via_sso)})


def redeem_grant(engine: Engine, code: str) -> tuple[str, str] | None:
    """(session token, path to return to) for a valid grant; the session is stored as a hash."""
    with engine.begin() as conn:
        row = _redeem(conn, "grant", code)
        if row is None:
            return None
        user = conn.execute(select(users).where(users.c.user_id == row["user_id"],
                                                users.c.active.is_(True))).mappings().first()
        if user is None:
            return None
        data = json.loads(row["data"] or "{}")
        token = _new_token()
        now = _now()
        conn.execute(insert(sessions).values(token_hash=token_hash(token), user_id=user["user_id"],
                                             auth_version=user["auth_version"], created_at=now, last_seen=now,
                                             via_sso=bool(data.get("sso"))))
        return token, safe_next(data.get("next"))


def grant_waiting(engine: Engine, code: str) -> bool:
    """True while a grant is still unused and unexpired: its browser has not come for it yet."""
    with engine.connect() as conn:
        return _redeem(conn, "grant", code, consume=False) is not None


def start_session(engine: Engine, user_id: int, via_sso: bool = False) -> str:
    """A session token for ``user_id`` (what the grant exchange does; tests use it directly)."""
    token = redeem_grant(engine, create_grant(engine, user_id, via_sso=via_sso))
    return token[0]


def safe_next(path) -> str:
    """A same-site path to return to; anything else (other hosts, schemes) becomes "/"."""
    path = str(path or "/")
    if not path.startswith("/") or path.startswith("//") or "\\" in path or any(ord(c) < 32 for c in path):
        return "/"
    return path


@dataclass
class SessionCheck:
    user: dict | None
    reason: str | None = None       # "expired" (idle or too old) or "ended" (signed out, account changed)
    via_sso: bool = False


def session_user(engine: Engine, sid: str, now: dt.datetime | None = None) -> SessionCheck:
    """The account behind session ``sid`` (a token hash), re-checked on every call.

    Ends the session when it is idle too long or too old, or when the account was
    disabled, deleted, reset or changed role since the session started.
    """
    now = now or _now()
    with engine.connect() as conn:
        row = conn.execute(select(sessions, users.c.active, users.c.auth_version.label("current_version"))
                           .join(users, users.c.user_id == sessions.c.user_id)
                           .where(sessions.c.token_hash == sid)).mappings().first()
    if row is None:
        return SessionCheck(None, "ended")
    stored = saved_settings.load(engine)
    idle = dt.timedelta(minutes=float(stored.session_minutes))
    age = dt.timedelta(hours=float(setting(engine, "session_max_hours", stored)))
    reason = None
    if not row["active"] or row["current_version"] != row["auth_version"]:
        reason = "ended"
    elif now - row["last_seen"] > idle or now - row["created_at"] > age:
        reason = "expired"
    if reason:
        end_session(engine, sid)
        return SessionCheck(None, reason, bool(row["via_sso"]))
    if now - row["last_seen"] > dt.timedelta(seconds=30):   # fewer writes; idle time is in minutes
        with engine.begin() as conn:
            conn.execute(update(sessions).where(sessions.c.token_hash == sid).values(last_seen=now))
    with engine.connect() as conn:
        user = conn.execute(select(users).where(users.c.user_id == row["user_id"])).mappings().first()
    return SessionCheck(_public(user), None, bool(row["via_sso"]))


def recheck(engine: Engine, user: Mapping) -> dict | None:
    """The account as stored now, or None when it was deleted, disabled or reset since ``user`` was read."""
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.user_id == user.get("user_id"))).mappings().first()
    # user ids can be reused after a delete (SQLite hands out max+1), so the name must match too
    if (row is None or not row["active"] or row["auth_version"] != user.get("auth_version")
            or row["username_norm"] != user.get("username_norm")):
        return None
    return _public(row)


def end_session(engine: Engine, sid: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(sessions).where(sessions.c.token_hash == sid))


def end_user_sessions(engine: Engine, username: str, actor: str = "admin") -> None:
    with engine.begin() as conn:
        row = _user_row(conn, username)
        if row is not None:
            _bump(conn, row["user_id"])
            audit(conn, actor, "sessions_ended", detail=row["username"])


def purge_expired(engine: Engine, now: dt.datetime | None = None) -> None:
    """Drop spent tokens and sessions past their absolute age (idle ones go when next seen)."""
    now = now or _now()
    age = dt.timedelta(hours=float(setting(engine, "session_max_hours")))
    with engine.begin() as conn:
        conn.execute(delete(auth_tokens).where(or_(auth_tokens.c.expires_at < now,
                                                   auth_tokens.c.used_at.isnot(None))))
        conn.execute(delete(sessions).where(sessions.c.created_at < now - age))


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
    """The verified e-mail of a signed-in SSO identity (``st.user``), or None.

    The provider must say ``email_verified`` is true: a missing claim, 0, "0" or
    "false" all mean the address may belong to someone else.
    """
    if not isinstance(info, Mapping) or info.get("is_logged_in") is not True:
        return None
    verified = info.get("email_verified")
    if not (verified is True or (isinstance(verified, str) and verified.strip().lower() == "true")):
        return None
    email = str(info.get("email") or "").strip()
    return email or None


def _identity(info: Mapping) -> tuple[str, str] | None:
    iss, sub = str(info.get("iss") or "").strip(), str(info.get("sub") or "").strip()
    return (iss, sub) if iss and sub else None


def user_for_sso(engine: Engine, info: Mapping) -> dict | None:
    """The active local account for a signed-in identity, or None.

    An identity is bound by issuer + subject. The first time, it claims the
    admin-created account whose username or e-mail is the identity's verified
    e-mail (and which no other identity has claimed); from then on only the
    issuer + subject count, so an e-mail changed at the provider moves nothing.
    """
    ident = _identity(info) if isinstance(info, Mapping) and info.get("is_logged_in") is True else None
    if ident is None:
        return None
    iss, sub = ident
    with engine.begin() as conn:
        row = conn.execute(select(users).where(users.c.sso_issuer == iss, users.c.sso_subject == sub)
                           ).mappings().first()
        if row is not None:
            return _public(row) if row["active"] else None
        email = sso_email(info)
        if email is None:
            return None
        try:
            key = normalise_username(email)
        except InputError:
            return None
        rows = conn.execute(select(users).where(or_(users.c.username_norm == key,
                                                    func.lower(users.c.email) == email.casefold()),
                                                users.c.sso_subject.is_(None),
                                                users.c.is_demo.is_(False))).mappings().all()
        if len(rows) != 1 or not rows[0]["active"]:
            return None     # none, or ambiguous: refused rather than guessed
        row = rows[0]
        conn.execute(update(users).where(users.c.user_id == row["user_id"])
                     .values(sso_issuer=iss, sso_subject=sub))
        audit(conn, row["username"], "sso_linked", detail=f"{email} ({iss})"[:400])
        row = conn.execute(select(users).where(users.c.user_id == row["user_id"])).mappings().first()
    return _public(row)


def sso_sign_in(engine: Engine, info: Mapping) -> dict | None:
    """The local account for a signed-in SSO identity, with the sign-in written to the audit log."""
    user = user_for_sso(engine, info)
    if user is None:
        return None
    provider = str(info.get("provider") or "").strip()
    with engine.begin() as conn:
        audit(conn, user["username"], "sso_sign_in",
              detail=f"{info.get('email') or ''}" + (f" via {provider}" if provider else ""))
    return user


def audit_sso_refused(engine: Engine, info: Mapping) -> None:
    """Record that a provider sign-in found no account here, so an admin can add one."""
    email = str(info.get("email") or "").strip() or "(no e-mail)"
    provider = str(info.get("provider") or "").strip()
    with engine.begin() as conn:
        audit(conn, "sso", "sso_no_account", detail=email[:200] + (f" via {provider}" if provider else ""))
