"""Accounts and sessions as an IT security review tries them: names, passwords,
invites, throttling, server-side sessions, re-checks on every rerun, the first
admin, the demo, the CLI and the upgrade of an existing database."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import insert, select
from streamlit.testing.v1 import AppTest

from burnout import auth, checkin, ingest, seed
from burnout.domain.settings import Settings
from burnout.store import settings as saved_settings
from burnout.errors import InputError
from burnout.store import get_engine, make_engine
from burnout.store import schema as s
from burnout.store.engine import alembic_config

from conftest import ROOT, run_cli

PW = "tidal-crane-orbit-42"


def actions(engine, action: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(s.audit_log).where(s.audit_log.c.action == action)
                                              .order_by(s.audit_log.c.audit_id)).mappings()]


def invited(engine, name: str, role: str = "hr", **kw) -> str:
    auth.create_user(engine, name, None, role, **kw)
    token = auth.create_invite(engine, name)
    auth.accept_invite(engine, token, PW)
    return name


# --------------------------------------------------------------------------- 4. names and passwords

@pytest.mark.parametrize("password", ["password", "12345678", " " * 8, " " * 12, "passwordpassword",
                                      "123456789012", "qwertyuiopas", "demo-password", "x" * 11])
def test_weak_passwords_are_refused(engine, password):
    with pytest.raises(InputError, match="password"):
        auth.create_user(engine, "ana", password, "hr")


def test_long_passwords_up_to_256_are_accepted(engine):
    long = "-".join(f"{w}{i}" for i, w in enumerate(["river", "otter", "lantern", "maple", "quartz"] * 8))[:240]
    auth.create_user(engine, "ana", long, "hr")
    assert auth.authenticate(engine, "ana", long)["username"] == "ana"
    with pytest.raises(InputError, match="at most 256"):
        auth.check_password(long + "-x" * 10)


@pytest.mark.parametrize("lookalike", ["DEMO-HR", "Demo-HR", "ｄｅｍｏ-ｈｒ", " demo-hr "])
def test_look_alike_usernames_are_the_same_account(engine, lookalike):
    auth.create_user(engine, "demo-hr", PW, "hr")
    with pytest.raises(InputError, match="taken"):
        auth.create_user(engine, lookalike, PW, "hr")
    assert auth.authenticate(engine, lookalike, PW)["username"] == "demo-hr"   # sign-in uses the same key


@pytest.mark.parametrize("bad", ["demo-hr\u200b", "demo\u200dhr", "demo hr", "demo\u00a0hr", "demo\thr",
                                 "\u2066demo\u2069", ""])
def test_invisible_characters_and_spaces_are_refused(engine, bad):
    with pytest.raises(InputError, match="username"):
        auth.create_user(engine, bad, PW, "hr")


# --------------------------------------------------------------------------- 5. invites

def test_invite_sets_own_password_once_and_expires(engine):
    auth.create_user(engine, "ana", None, "hr")
    assert auth.authenticate(engine, "ana", "") is None                        # no password yet
    token = auth.create_invite(engine, "ana")
    assert auth.invite_account(engine, token)["username"] == "ana"
    with pytest.raises(InputError, match="too common"):
        auth.accept_invite(engine, token, "password1234")
    auth.accept_invite(engine, token, PW)
    assert auth.authenticate(engine, "ana", PW)["role"] == "hr"
    with pytest.raises(InputError, match="expired or was already used"):
        auth.accept_invite(engine, token, "another-pass-phrase-9")
    # a new invite replaces an older one; an expired one does not work
    first = auth.create_invite(engine, "ana")
    second = auth.create_invite(engine, "ana")
    assert auth.invite_account(engine, first) is None and auth.invite_account(engine, second)
    with engine.connect() as conn:                                          # only hashes are stored
        stored = set(conn.execute(select(s.auth_tokens.c.token_hash)).scalars())
    assert second not in stored and auth.token_hash(second) in stored
    stale = auth.create_invite(engine, "ana", hours=-1)
    assert auth.invite_account(engine, stale) is None


def test_reset_issues_a_new_link_and_ends_sessions(engine):
    invited(engine, "ana")
    sid = auth.token_hash(auth.start_session(engine, auth.get_user(engine, "ana")["user_id"]))
    assert auth.session_user(engine, sid).user["username"] == "ana"
    token = auth.reset_account(engine, "ana")
    assert auth.authenticate(engine, "ana", PW) is None
    assert auth.session_user(engine, sid).user is None
    auth.accept_invite(engine, token, "granite-meadow-kettle")
    assert auth.authenticate(engine, "ana", "granite-meadow-kettle")


def test_change_own_password_needs_the_current_one(engine):
    invited(engine, "ana")
    uid = auth.get_user(engine, "ana")["user_id"]
    with pytest.raises(InputError, match="current password"):
        auth.change_own_password(engine, uid, "wrong-one-entirely", "granite-meadow-kettle")
    auth.change_own_password(engine, uid, PW, "granite-meadow-kettle")
    assert auth.authenticate(engine, "ana", "granite-meadow-kettle")


def test_roster_with_username_and_email_creates_invited_helper_accounts(engine, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("helper_id,name,team,role,site,fte,start_date,username,email\n"
                      "H1,Ana,T1,nurse,S,1,2024-01-01,ana.k,ana@example.org\n"
                      "H2,Ben,T1,nurse,S,1,2024-01-01,,ben@example.org\n"
                      "H3,Cy,T1,nurse,S,1,2024-01-01,,\n")
    summary = ingest.import_files(engine, roster=roster)
    assert summary.counts["accounts"] == {"new": 2}
    users = auth.users_frame(engine).set_index("username")
    assert users.loc["ana.k", "helper_id"] == "H1" and users.loc["ben@example.org", "helper_id"] == "H2"
    assert not users["has_password"].any()
    links = auth.pending_invites(engine, "https://wellbeing.example.org")
    assert sorted(links["username"]) == ["ana.k", "ben@example.org"]
    assert all(link.startswith("https://wellbeing.example.org/?invite=") for link in links["invite_link"])
    token = links.set_index("username").loc["ana.k", "invite_link"].split("invite=")[1]
    assert auth.accept_invite(engine, token, PW)["helper_id"] == "H1"
    again = ingest.import_files(engine, roster=roster)                        # re-import: nothing new
    assert again.counts["accounts"] == {"new": 0}
    bad = tmp_path / "bad.csv"
    bad.write_text("helper_id,name,team,role,site,fte,start_date,username\nH4,D,T1,nurse,S,1,2024-01-01,d\u200bx\n")
    with pytest.raises(InputError, match="invisible"):
        ingest.import_files(engine, roster=bad)


# --------------------------------------------------------------------------- 3. throttling

def test_wrong_passwords_slow_down_then_lock_and_everything_is_audited(engine):
    invited(engine, "ana")
    t0 = dt.datetime(2026, 11, 2, 9, 0)
    limits = Settings().to_dict()
    t = t0
    for _ in range(limits["signin_free_failures"]):
        r = auth.sign_in(engine, "ana", "wrong", client="10.0.0.1", now=t)
        assert r.user is None and r.wait_seconds == 0
    r = auth.sign_in(engine, "ana", "wrong", client="10.0.0.1", now=t)    # 4th: counted, delay starts
    r = auth.sign_in(engine, "ana", PW, client="10.0.0.1", now=t)         # right password, but too fast
    assert r.user is None and r.wait_seconds > 0 and "wait" in r.message
    # 30 wrong passwords in a row, each as soon as allowed: the account locks
    for _ in range(30):
        r = auth.sign_in(engine, "ana", "wrong", client="10.0.0.1", now=t)
        if "paused" in (r.message or ""):
            break
        t += dt.timedelta(seconds=r.wait_seconds)
    assert "paused" in r.message
    r = auth.sign_in(engine, "ana", PW, client="10.0.0.2", now=t)          # right password, other client
    assert r.user is None and "paused" in r.message
    locked = auth.locked_accounts(engine, now=t)
    assert "ana" in set(locked["who"])
    auth.unlock(engine, "ana", actor="admin")
    r = auth.sign_in(engine, "ana", PW, client="10.0.0.2", now=t)
    assert r.user["username"] == "ana"
    assert len(actions(engine, "sign_in_failed")) == limits["signin_lock_failures"]
    assert actions(engine, "account_locked") and actions(engine, "sign_in_refused_wait")
    assert actions(engine, "sign_in_refused_locked") and actions(engine, "sign_in_unlocked")
    [ok] = actions(engine, "sign_in")
    assert ok["actor"] == "ana" and "10.0.0.2" in ok["detail"]


def test_lock_ends_by_itself_and_settings_override_the_defaults(engine):
    invited(engine, "ana")
    saved_settings.save(engine, {"signin_lock_failures": 2, "signin_free_failures": 5}, actor="admin")
    t = dt.datetime(2026, 11, 2, 9, 0)
    auth.sign_in(engine, "ana", "wrong", now=t)
    auth.sign_in(engine, "ana", "wrong", now=t)
    assert "paused" in auth.sign_in(engine, "ana", PW, now=t).message
    later = t + dt.timedelta(minutes=Settings().signin_lock_minutes, seconds=1)
    assert auth.sign_in(engine, "ana", PW, now=later).user


def test_one_client_trying_many_accounts_is_locked(engine):
    saved_settings.save(engine, {"signin_client_lock_failures": 5}, actor="admin")
    t = dt.datetime(2026, 11, 2, 9, 0)
    for i in range(5):
        auth.sign_in(engine, f"user{i}", "wrong", client="203.0.113.9", now=t)
    r = auth.sign_in(engine, "someone", "wrong", client="203.0.113.9", now=t)
    assert "paused" in r.message
    assert auth.sign_in(engine, "someone", "wrong", client="198.51.100.1", now=t).wait_seconds == 0
    assert actions(engine, "client_locked")


# --------------------------------------------------------------------------- 1, 2. sessions

def test_sessions_expire_on_idle_and_absolute_age_and_store_only_a_hash(engine):
    invited(engine, "ana")
    uid = auth.get_user(engine, "ana")["user_id"]
    token = auth.start_session(engine, uid)
    sid = auth.token_hash(token)
    with engine.connect() as conn:
        assert conn.execute(select(s.sessions.c.token_hash)).scalars().all() == [sid]
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert auth.session_user(engine, sid, now + dt.timedelta(minutes=59)).user
    assert auth.session_user(engine, sid, now + dt.timedelta(minutes=59 + 61)).reason == "expired"
    assert auth.session_user(engine, sid, now).user is None                      # ended for good
    sid = auth.token_hash(auth.start_session(engine, uid))
    t = now
    for _ in range(14):                                                          # active all along
        t += dt.timedelta(minutes=55)
        last = auth.session_user(engine, sid, t)
    assert last.reason == "expired"                                              # 12 h absolute age


@pytest.mark.parametrize("change", ["disable", "reset", "role", "delete", "password"])
def test_every_open_session_ends_when_the_account_changes(engine, change):
    invited(engine, "ana", role="admin")
    invited(engine, "other.admin", role="admin")
    uid = auth.get_user(engine, "ana")["user_id"]
    sids = [auth.token_hash(auth.start_session(engine, uid)) for _ in range(2)]    # phone and desktop
    if change == "disable":
        auth.set_active(engine, "ana", False)
    elif change == "reset":
        auth.reset_account(engine, "ana")
    elif change == "role":
        auth.set_role(engine, "ana", "hr")
    elif change == "password":
        auth.set_password(engine, "ana", "granite-meadow-kettle")
    else:
        with engine.begin() as conn:
            conn.execute(s.users.delete().where(s.users.c.user_id == uid))
    for sid in sids:
        assert auth.session_user(engine, sid).user is None


def test_grant_is_one_time_short_lived_and_returns_only_to_this_site(engine):
    invited(engine, "ana")
    uid = auth.get_user(engine, "ana")["user_id"]
    code = auth.create_grant(engine, uid, "/checkin")
    token, back = auth.redeem_grant(engine, code)
    assert back == "/checkin" and auth.session_user(engine, auth.token_hash(token)).user
    assert auth.redeem_grant(engine, code) is None                               # spent
    for evil in ("https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"):
        assert auth.redeem_grant(engine, auth.create_grant(engine, uid, evil))[1] == "/"


@pytest.mark.filterwarnings("ignore:Using `httpx`")
def test_the_routes_set_an_httponly_cookie_and_clear_it(engine, sqlite_url, monkeypatch):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from burnout.ui import web

    monkeypatch.setenv("BURNOUT_DATABASE_URL", sqlite_url)
    invited(engine, "ana")
    uid = auth.get_user(engine, "ana")["user_id"]
    client = TestClient(Starlette(routes=web.ROUTES), base_url="http://testserver")
    r = client.get(web.grant_url(auth.create_grant(engine, uid, "/my-wellbeing")), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/my-wellbeing"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    token = r.cookies[auth.SESSION_COOKIE]
    assert auth.session_user(engine, auth.token_hash(token)).user["username"] == "ana"
    # behind an HTTPS proxy the cookie is Secure
    r = client.get(web.grant_url(auth.create_grant(engine, uid)), headers={"X-Forwarded-Proto": "https"},
                   follow_redirects=False)
    assert "Secure" in r.headers["set-cookie"]
    # a grant sent from another site (login CSRF) is refused
    r = client.get(web.grant_url(auth.create_grant(engine, uid)), headers={"Sec-Fetch-Site": "cross-site"},
                   follow_redirects=False)
    assert r.status_code == 403
    r = client.get(web.SIGN_OUT_PATH, follow_redirects=False)
    assert r.status_code == 303 and 'burnout_session=""' in r.headers["set-cookie"]


# --------------------------------------------------------------------------- the pages (AppTest)

def dashboard_at() -> AppTest:
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=30)


@pytest.fixture
def demo_copy(writable_db):
    return writable_db["engine"]


def sign_in(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="login_user").input(username)
    at.text_input(key="login_password").input(password)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_cookie_hand_over_is_sent_until_the_browser_uses_it(demo_copy, monkeypatch):
    """A sign-in's run is replaced by the home page's switch_page, and Streamlit drops the
    replaced run's unsent messages: the hand-over to the cookie route is sent again by
    every finished run until its grant is used (in CI a lost one left a phone signed in
    without a cookie for 120 s)."""
    from burnout.ui import common, web

    sent: list[str] = []
    monkeypatch.setattr(common, "redirect", sent.append)
    at = sign_in(dashboard_at().run(), "demo-helper1", seed.DEMO_PASSWORD)
    code = at.session_state["pending_grant"]
    assert sent == [web.grant_url(code)] and auth.grant_waiting(demo_copy, code)
    at.run()                                            # the browser has not come for it yet
    assert sent == [web.grant_url(code)] * 2
    assert auth.redeem_grant(demo_copy, code)           # the browser swapped it for its cookie
    assert not auth.grant_waiting(demo_copy, code)
    at.run()
    assert len(sent) == 2 and "pending_grant" not in at.session_state


def test_open_session_loses_access_at_its_next_interaction(demo_copy):
    at = sign_in(dashboard_at().run(), "demo-hr", seed.DEMO_PASSWORD)
    assert at.title[0].value == "Organisation review"
    auth.set_active(demo_copy, "demo-hr", False)
    at.run()
    assert at.title[0].value == "Helper wellbeing" and "Sign in" in [b.label for b in at.button]
    assert any("session has ended" in i.value for i in at.info)


def test_wrong_passwords_on_the_sign_in_page_pause_it(demo_copy):
    at = dashboard_at().run()
    for _ in range(Settings().signin_free_failures + 1):
        sign_in(at, "demo-lead", "not-the-password")
    sign_in(at, "demo-lead", seed.DEMO_PASSWORD)
    assert "wait" in at.error[0].value and "user" not in at.session_state
    # the attempts after the free ones were refused without checking the password
    assert len(actions(demo_copy, "sign_in_failed")) == Settings().signin_free_failures
    assert len(actions(demo_copy, "sign_in_refused_wait")) == 2
    # (the shared demo database may hold other tests' sign-ins: only demo-lead's count here)
    assert not [a for a in actions(demo_copy, "sign_in") if a["actor"] == "demo-lead"]


def test_invite_link_page_sets_the_password(demo_copy):
    auth.create_user(demo_copy, "new.lead", None, "hr")
    token = auth.create_invite(demo_copy, "new.lead")
    at = dashboard_at()
    at.query_params["invite"] = token
    at.run()
    at.text_input(key="invite_pw1").input(PW)
    at.text_input(key="invite_pw2").input(PW)
    next(b for b in at.button if b.label == "Set my password").click().run()
    assert not at.exception
    assert "password is set" in at.success[0].value
    sign_in(at, "New.Lead", PW)
    assert at.title[0].value == "Organisation review"


def tab_with_session(sid: str) -> AppTest:
    """A browser tab whose cookie names session ``sid`` (what a reload is)."""
    at = dashboard_at()
    at.session_state["sid"] = sid
    return at.run()


def test_unsaved_checkin_answers_survive_a_reload(demo_copy):
    account = auth.get_user(demo_copy, "demo-helper2")
    uid, hid = account["user_id"], account["helper_id"]
    sid = auth.token_hash(auth.start_session(demo_copy, uid))
    at = tab_with_session(sid)
    assert at.title[0].value == "Weekly check-in"
    again = [b for b in at.button if b.label == "Check in again"]
    if again:
        again[0].click().run()
    at.radio(key="q_pulse_1").set_value("Often").run()
    at.text_area(key="checkin_comment").input("half a thought").run()
    reloaded = tab_with_session(sid)
    if again:
        next(b for b in reloaded.button if b.label == "Check in again").click().run()
    assert reloaded.radio(key="q_pulse_1").value == "Often"
    assert reloaded.text_area(key="checkin_comment").value == "half a thought"
    # once saved, the draft is gone
    for i in range(2, 7):
        reloaded.radio(key=f"q_pulse_{i}").set_value("Sometimes")
    reloaded.radio(key="q_sib_1").set_value("Occasionally stressed, not burned out").run()
    next(b for b in reloaded.button if b.label == "Save my check-in").click().run()
    assert any("check-in is saved" in x.value for x in reloaded.success)
    assert checkin.load_partial(demo_copy, hid) == {}


def test_sign_out_ends_the_session_for_every_tab(demo_copy):
    uid = auth.get_user(demo_copy, "demo-lead")["user_id"]
    sid = auth.token_hash(auth.start_session(demo_copy, uid))
    phone, desktop = tab_with_session(sid), tab_with_session(sid)
    assert phone.title[0].value.startswith("Team") and desktop.title[0].value.startswith("Team")
    phone.button(key="sign_out").click().run()
    assert "Sign in" in [b.label for b in phone.button]
    desktop.run()                                                          # its next interaction
    assert "Sign in" in [b.label for b in desktop.button]
    assert [r["actor"] for r in actions(demo_copy, "sign_out")] == ["demo-lead"]


# --------------------------------------------------------------------------- 6. setup and demo

def test_clearing_the_demo_never_leaves_the_product_without_an_admin(demo_copy):
    with pytest.raises(InputError, match="no admin"):
        seed.clear_all_data(demo_copy)
    assert seed.is_demo(demo_copy)                                         # nothing cleared
    token = seed.clear_all_data(demo_copy, new_admin="ops.admin")
    assert not seed.is_demo(demo_copy) and auth.has_real_admin(demo_copy)
    assert set(auth.users_frame(demo_copy)["username"]) == {"ops.admin"}
    auth.accept_invite(demo_copy, token, PW)
    # the sign-in page now shows the form, not the setup screen
    at = dashboard_at().run()
    assert "Sign in" in [b.label for b in at.button] and not [t for t in at.text_input if t.key == "setup_code"]


def test_the_last_admin_cannot_be_disabled_or_demoted(engine):
    invited(engine, "boss", role="admin")
    with pytest.raises(InputError, match="last admin"):
        auth.set_active(engine, "boss", False)
    with pytest.raises(InputError, match="last admin"):
        auth.set_role(engine, "boss", "hr")


def test_cli_import_into_the_demo_exits_2(demo_copy, demo_files, monkeypatch):
    url = str(demo_copy.url)
    r = run_cli("import", "--roster", str(demo_files["roster"]), env={"BURNOUT_DATABASE_URL": url})
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "demo organisation" in r.stderr
    assert seed.is_demo(demo_copy)


def test_cli_create_user_without_password_prints_an_invite(tmp_path):
    env = {"BURNOUT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "BURNOUT_PASSWORD": ""}
    r = run_cli("create-user", "--username", "ops", "--role", "admin", env=env)
    assert r.returncode == 0, r.stderr
    assert "/?invite=" in r.stdout
    for name in ("OPS", "o\u200bps"):
        r = run_cli("create-user", "--username", name, "--role", "admin", env=env)
        assert r.returncode == 2 and r.stderr.count("\n") == 1
    r = run_cli("create-user", "--username", "ana", "--role", "hr", env={**env, "BURNOUT_PASSWORD": "password"})
    assert r.returncode == 2 and "password" in r.stderr
    r = run_cli("create-user", "--username", "ana", "--role", "hr", env={**env, "BURNOUT_PASSWORD": PW})
    assert r.returncode == 0 and "created" in r.stdout


# --------------------------------------------------------------------------- upgrade of an existing database

def test_upgrade_keeps_existing_accounts_working(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = make_engine(url)
    cfg = alembic_config(url)
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    now = dt.datetime(2026, 1, 1)
    with eng.begin() as conn:
        old_users = sa.table("users", *[sa.column(c) for c in ("username", "password_hash", "role", "is_demo",
                                                              "active", "created_at")])
        conn.execute(insert(old_users), [
            {"username": "Sam", "password_hash": auth.hash_password("old-short"), "role": "admin",
             "is_demo": False, "active": True, "created_at": now},
            {"username": "sam", "password_hash": auth.hash_password("other-old"), "role": "hr",
             "is_demo": False, "active": True, "created_at": now},
        ])
    eng.dispose()
    eng = get_engine(url)                                                  # migrates to head
    users = auth.users_frame(eng)
    assert set(users["username"]) == {"Sam", "sam"}
    assert auth.authenticate(eng, "Sam", "old-short")["role"] == "admin"  # old passwords keep working
    with eng.connect() as conn:
        keys = dict(conn.execute(select(s.users.c.username, s.users.c.username_norm)).all())
    assert keys["Sam"] == "sam" and keys["sam"].startswith("sam#")
    assert auth.authenticate(eng, "sam", "other-old")["role"] == "hr"     # the exact name still signs in


@pytest.mark.postgres
def test_postgresql_sessions_are_shared_between_processes(pg_url):
    from burnout.store.engine import make_engine as fresh_engine

    first = get_engine(pg_url)
    invited(first, "ana")
    token = auth.start_session(first, auth.get_user(first, "ana")["user_id"])
    second = fresh_engine(pg_url)                 # another dashboard process behind the load balancer
    assert auth.session_user(second, auth.token_hash(token)).user["username"] == "ana"
    auth.end_session(first, auth.token_hash(token))
    assert auth.session_user(second, auth.token_hash(token)).user is None
