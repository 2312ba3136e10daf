"""Optional OIDC single sign-on (Streamlit's st.login / st.user / st.logout) over local accounts.

No identity provider is reachable here, so the provider's answer is faked: AppTest's
``at.user`` is what the app reads as ``st.user`` (and ``st.logout()`` clears it), and
``st.login`` is replaced by a recorder to see which provider the button asks for.
The mapping itself is plain functions (``auth.user_for_sso``, ``auth.sso_sign_in``,
``login.sso_outcome``) tested on a database directly.
"""
from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
import streamlit
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from burnout import auth
from burnout.errors import InputError
from burnout.store import schema as s

from conftest import ROOT

SSO_BUTTON = "Sign in with single sign-on"
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "dashboard", "client_secret": "not-a-secret",
        "server_metadata_url": "https://idp.example.org/.well-known/openid-configuration"}
PASSWORD = "a-long-password"


def audit_rows(engine, action: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(s.audit_log).where(s.audit_log.c.action == action))
                .mappings()]


# --------------------------------------------------------------------------- pure parts

def test_plain_message_drops_the_column_locator():
    exc = InputError("the password needs at least 12 characters", column="password")
    assert str(exc).startswith("column 'password': ")
    assert auth.plain_message(exc) == "The password needs at least 12 characters"
    located = InputError("bad value", file="roster.csv", row=3, column="team")
    assert auth.plain_message(located) == "Bad value"
    assert auth.plain_message(InputError("no locator: kept as is")) == "No locator: kept as is"


def test_sso_providers_read_from_the_auth_section():
    assert auth.sso_providers(AUTH) == ["default"]
    shared = {k: AUTH[k] for k in ("redirect_uri", "cookie_secret")}
    provider = {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    assert auth.sso_providers({**shared, "microsoft": provider, "okta": provider}) == ["microsoft", "okta"]
    assert auth.sso_providers({**shared, "bad_name": provider, "partial": {"client_id": "x"}}) == []
    assert auth.sso_providers({k: v for k, v in AUTH.items() if k != "cookie_secret"}) == []
    assert auth.sso_providers(None) == [] and auth.sso_providers("auth") == []


def test_sso_email_needs_email_verified_true():
    assert auth.sso_email({"email": "a@b.org", "email_verified": True}) is None       # not signed in
    assert auth.sso_email({"is_logged_in": False, "email": "a@b.org", "email_verified": True}) is None
    assert auth.sso_email({"is_logged_in": True, "email_verified": True}) is None      # no e-mail claim
    assert auth.sso_email({"is_logged_in": True, "email": " a@b.org ", "email_verified": True}) == "a@b.org"
    assert auth.sso_email({"is_logged_in": True, "email": "a@b.org", "email_verified": "true"}) == "a@b.org"
    # anything but a clear yes is a no: missing, 0, "0", "false", False, "yes?"
    for verified in (None, 0, "0", "false", False, "", "1", 1):
        info = {"is_logged_in": True, "email": "a@b.org"}
        if verified is not None:
            info["email_verified"] = verified
        assert auth.sso_email(info) is None, verified


def ident(email: str, sub: str = "sub-1", iss: str = "https://idp.example.org", verified=True, **extra) -> dict:
    return {"is_logged_in": True, "email": email, "email_verified": verified, "iss": iss, "sub": sub, **extra}


# --------------------------------------------------------------------------- mapping to local accounts

def test_first_sign_in_claims_the_account_then_issuer_and_subject_decide(engine):
    auth.create_user(engine, "Ana.Lead@Example.org", None, "hr")
    user = auth.user_for_sso(engine, ident("ana.lead@example.org", sub="ana-123"))
    assert user["username"] == "Ana.Lead@Example.org" and user["role"] == "hr"
    assert "password_hash" not in user
    assert user["sso_subject"] == "ana-123" and user["sso_issuer"] == "https://idp.example.org"
    # the provider lets Ana change her e-mail: the link stays with her subject
    assert auth.user_for_sso(engine, ident("ana.new@example.org", sub="ana-123"))["username"] == "Ana.Lead@Example.org"
    # someone else who now shows Ana's old address gets nothing
    assert auth.user_for_sso(engine, ident("ana.lead@example.org", sub="mallory-9")) is None
    # same subject at another issuer is another person
    assert auth.user_for_sso(engine, ident("ana.lead@example.org", sub="ana-123", iss="https://other.example")) is None
    # unverified e-mail, no subject, not signed in: refused
    assert auth.user_for_sso(engine, ident("x@example.org", verified=False)) is None
    assert auth.user_for_sso(engine, {"is_logged_in": True, "email": "x@example.org", "email_verified": True}) is None
    auth.set_active(engine, "Ana.Lead@Example.org", False)
    assert auth.user_for_sso(engine, ident("ana.lead@example.org", sub="ana-123")) is None
    [row] = audit_rows(engine, "sso_linked")
    assert row["actor"] == "Ana.Lead@Example.org"


def test_sso_claims_by_the_accounts_e_mail_and_never_a_demo_account(engine):
    auth.create_user(engine, "sam", None, "admin", email="Sam@Example.org")
    assert auth.user_for_sso(engine, ident("sam@example.org", sub="s-1"))["username"] == "sam"
    auth.create_user(engine, "demo.person@example.org", "demo-password", "hr", is_demo=True)
    assert auth.user_for_sso(engine, ident("demo.person@example.org", sub="d-1")) is None


def test_sso_sign_in_audits_and_never_creates_accounts(engine):
    from burnout.ui.login import sso_outcome

    auth.create_user(engine, "hana@example.org", PASSWORD, "hr")
    before = len(auth.users_frame(engine))
    user, message = sso_outcome(engine, ident("Hana@Example.org", provider="default"))
    assert user["username"] == "hana@example.org" and message is None
    [row] = audit_rows(engine, "sso_sign_in")
    assert row["actor"] == "hana@example.org" and "Hana@Example.org via default" == row["detail"]

    user, message = sso_outcome(engine, ident("new.person@example.org", sub="new-1"))
    assert user is None
    assert message == ("Your organisation's sign-in worked, but there is no account for "
                       "new.person@example.org here yet. Ask your admin to add one.")
    user, message = sso_outcome(engine, ident("x@example.org", sub="x-1", verified=False))
    assert user is None and "verified e-mail" in message
    assert sso_outcome(engine, {"email": "hana@example.org"}) == (None, None)   # not signed in
    assert len(auth.users_frame(engine)) == before                              # nothing created
    assert len(audit_rows(engine, "sso_sign_in")) == 1


# --------------------------------------------------------------------------- the dashboard (AppTest)

@pytest.fixture
def sso_db(demo_db, tmp_path, monkeypatch):
    """A private copy of the demo database with one account whose username is an e-mail."""
    from burnout.store import get_engine

    path = tmp_path / "sso.db"
    src, dst = sqlite3.connect(demo_db["path"]), sqlite3.connect(path)
    src.backup(dst)
    src.close(), dst.close()
    url = f"sqlite:///{path}"
    monkeypatch.setenv("BURNOUT_DATABASE_URL", url)
    eng = get_engine(url)
    auth.create_user(eng, "hana.hr@example.org", PASSWORD, "hr")
    return {"url": url, "engine": eng}


def dashboard(secrets: dict | None = None, user: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=30)
    if user is not None:
        if not hasattr(at, "user"):
            pytest.skip("this Streamlit's AppTest cannot fake st.user")
        at.user = user
    if secrets:
        at.secrets["auth"] = secrets
    return at


def labels(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def test_no_sso_button_without_auth_secrets(demo_db):
    at = dashboard()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Sign in" in labels(at)
    assert not any(SSO_BUTTON in x for x in labels(at))


def test_sso_button_above_the_local_form_when_configured(demo_db, monkeypatch):
    asked = []
    monkeypatch.setattr(streamlit, "login", lambda provider=None: asked.append(provider))
    at = dashboard(AUTH)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert labels(at).index(SSO_BUTTON) < labels(at).index("Sign in")
    assert any("local account" in c.value for c in at.caption)
    at.button(key="sso_login_default").click().run()
    assert asked == [None]                                      # st.login() for the default provider


def test_named_providers_each_get_a_button(demo_db, monkeypatch):
    asked = []
    monkeypatch.setattr(streamlit, "login", lambda provider=None: asked.append(provider))
    provider = {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    at = dashboard({"redirect_uri": AUTH["redirect_uri"], "cookie_secret": AUTH["cookie_secret"],
                    "microsoft": provider, "okta": provider})
    at.run()
    assert f"{SSO_BUTTON} (Microsoft)" in labels(at) and f"{SSO_BUTTON} (Okta)" in labels(at)
    at.button(key="sso_login_okta").click().run()
    assert asked == ["okta"]


def test_sso_identity_maps_to_the_local_account_and_signs_out_of_both(sso_db):
    at = dashboard(AUTH, ident("Hana.HR@example.org", sub="hana-1", name="Hana", provider="default"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Organisation review"                # hr's page, role from the database
    assert at.session_state["user"]["username"] == "hana.hr@example.org" and at.session_state["sso"]
    assert [r["actor"] for r in audit_rows(sso_db["engine"], "sso_sign_in")] == ["hana.hr@example.org"]
    at.button(key="sign_out").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.user == {"is_logged_in": False}                        # st.logout() was called
    assert "user" not in at.session_state and SSO_BUTTON in labels(at)


def test_local_sign_out_does_not_call_logout(sso_db):
    from burnout.ui.common import now

    at = dashboard(AUTH, {"is_logged_in": False})
    at.session_state["user"] = auth.authenticate(sso_db["engine"], "hana.hr@example.org", PASSWORD)
    at.session_state["last_seen"] = now()
    at.run()
    assert at.title[0].value == "Organisation review"
    at.button(key="sign_out").click().run()
    assert "user" not in at.session_state and "Sign in" in labels(at)
    assert audit_rows(sso_db["engine"], "sso_sign_in") == []


def test_unknown_sso_email_gets_a_plain_message_and_a_sign_out(sso_db):
    at = dashboard(AUTH, ident("new_person@example.org", sub="np-1"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "user" not in at.session_state
    [warning] = at.warning
    assert warning.value == ("Your organisation's sign-in worked, but there is no account for "
                             "new\\_person@example.org here yet. Ask your admin to add one.")
    assert SSO_BUTTON not in labels(at) and "Sign in" in labels(at)   # a local account still works
    assert [r["detail"] for r in audit_rows(sso_db["engine"], "sso_no_account")] == ["new_person@example.org"]
    at.run()
    assert len(audit_rows(sso_db["engine"], "sso_no_account")) == 1  # once per session, not per rerun
    at.button(key="sso_logout").click().run()
    assert at.user == {"is_logged_in": False}
    at.run()
    assert SSO_BUTTON in labels(at) and not at.warning


def test_inactive_account_is_refused_by_sso(sso_db):
    auth.set_active(sso_db["engine"], "hana.hr@example.org", False)
    at = dashboard(AUTH, ident("hana.hr@example.org", sub="hana-1"))
    at.run()
    assert "user" not in at.session_state and "no account for" in at.warning[0].value


def test_expired_sso_session_also_signs_out_of_the_identity_cookie(sso_db):
    from burnout.ui.common import now

    at = dashboard(AUTH, ident("hana.hr@example.org", sub="hana-1"))
    at.session_state["user"] = auth.user_for_sso(sso_db["engine"], ident("hana.hr@example.org", sub="hana-1"))
    at.session_state["sso"] = True
    at.session_state["last_seen"] = now() - dt.timedelta(days=2)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.user == {"is_logged_in": False}                        # not signed straight back in
    assert "user" not in at.session_state
    assert any("inactivity" in i.value for i in at.info)


# --------------------------------------------------------------------------- first-start setup screen

def test_setup_screen_needs_the_code_from_the_server_log(tmp_path, monkeypatch, capsys):
    from burnout.store import get_engine
    from burnout.ui import web

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("BURNOUT_DATABASE_URL", url)
    monkeypatch.setenv("BURNOUT_DEMO", "0")
    monkeypatch.delenv("BURNOUT_ADMIN_USER", raising=False)
    monkeypatch.delenv("BURNOUT_ADMIN_PASSWORD", raising=False)
    web.print_setup_code()                       # what the server does at start
    code = capsys.readouterr().err.strip().rsplit(" ", 1)[1]
    at = dashboard(AUTH)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert SSO_BUTTON not in labels(at)                              # nobody to map to yet
    at.text_input(key="setup_code").input("guessed-code")
    at.text_input(key="setup_user").input("admin")
    at.text_input(key="setup_password").input("short")
    next(b for b in at.button if b.label == "Create admin account").click().run()
    assert [e.value for e in at.error] == ["The password needs at least 12 characters"]
    at.text_input(key="setup_password").input(PASSWORD)
    next(b for b in at.button if b.label == "Create admin account").click().run()
    assert "setup code is not right" in at.error[0].value          # a visitor without the log cannot
    assert not auth.has_admin(get_engine(url))
    at.text_input(key="setup_code").input(code)
    next(b for b in at.button if b.label == "Create admin account").click().run()
    assert [x.value for x in at.success] == ["Admin account created. Sign in below."]
    assert SSO_BUTTON in labels(at) and "Sign in" in labels(at)
    # the code is spent
    with pytest.raises(InputError):
        auth.setup_admin(get_engine(url), code, "second", PASSWORD)
