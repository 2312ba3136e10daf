"""Seed an empty database with the demo organisation, and clear it again.

The demo goes through the same import path as real files, so what a newcomer
sees is what the importer really stores.  Demo logins exist only here.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import Engine

from burnout import auth, materialise
from burnout.demo import generate
from burnout.errors import InputError
from burnout.ingest import prepare, store_prepared
from burnout.store import schema as s
from burnout.store.demo import DEMO_FLAG, demo_was_cleared, is_demo
from burnout.store.writes import audit

DEMO_PASSWORD = "demo-password"


def _lock_for_seeding(conn) -> None:
    """Hold the database's write lock for the rest of this transaction.

    Several dashboard processes may start on one empty database at once; the
    lock makes the second wait and then find the demo there, instead of
    inserting the same teams again."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEED_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        # pysqlite opens its transaction lazily at the first write, which is
        # too late: the check for an empty database must run under the lock.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


SEED_LOCK_KEY = 0x6275726E   # any constant shared by every process of this app ("burn")


def seed_demo(engine: Engine, helpers: int = 60, weeks: int = 52, seed: int = 7) -> dict:
    """Import a synthetic organisation and create demo users of every role.

    Safe to call from several processes at once: only the first stores the
    demo; the others wait for it and return the same description without
    storing anything (also when the database is not empty, or the demo was
    cleared by an admin)."""
    frames = generate(helpers=helpers, weeks=weeks, seed=seed)
    files = {k: frames[k].to_csv(index=False).encode() for k in ("roster", "surveys", "caseload")}
    prepared = prepare(roster=files["roster"], surveys=files["surveys"], caseload=files["caseload"],
                       names={k: f"demo {k}.csv" for k in files})
    roster = frames["roster"]
    active = roster[roster["end_date"].isna() | (roster["end_date"].astype(str) == "")]
    team_sizes = active.groupby("team").size().sort_values(ascending=False)
    lead_team = team_sizes.index[0]
    team_helpers = active[active["team"] == lead_team]["helper_id"].tolist()
    # About two thirds of the lead's team agree to share individual results,
    # so the demo shows both the consented and the aggregate-only views.
    consenting = team_helpers[: max(1, (2 * len(team_helpers)) // 3)]
    created = {"admin": "demo-admin", "hr": "demo-hr", "lead": "demo-lead"}
    helper_logins = [(f"demo-helper{i}", hid) for i, hid in enumerate([consenting[0], team_helpers[-1]], start=1)]
    for i, (name, _hid) in enumerate(helper_logins, start=1):
        created[f"helper{i}"] = name
    created["lead_team"] = lead_team
    with engine.begin() as conn:
        _lock_for_seeding(conn)
        has_helpers = conn.execute(select(func.count()).select_from(s.helpers)).scalar_one() > 0
        flag = conn.execute(select(s.settings.c.value).where(s.settings.c.key == DEMO_FLAG)).first()
        if has_helpers or flag is not None:
            return created
        store_prepared(conn, prepared, actor="demo")
        conn.execute(update(s.helpers).where(s.helpers.c.helper_id.in_(consenting))
                     .values(consent_lead_view=True))
        conn.execute(insert(s.settings).values(key=DEMO_FLAG, value="true"))
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        conn.execute(insert(s.action_notes), [
            # a done action tied to its driver, so the team page shows its before and after
            {"team_id": lead_team, "created_at": now - dt.timedelta(days=40), "author": "demo-lead",
             "you_said": "Caseloads stayed above the standard for most of the spring.",
             "we_did": "Paused new intakes for two weeks and moved 14 cases to the float worker.",
             "done_on": (now - dt.timedelta(days=30)).date(), "status": "done", "owner": "Team lead",
             "due_on": (now - dt.timedelta(days=28)).date(), "link_kind": "driver", "link_ref": "caseload"},
            {"team_id": lead_team, "created_at": now - dt.timedelta(days=10), "author": "demo-lead",
             "you_said": "After difficult calls there is no time to decompress.",
             "we_did": None, "done_on": None, "status": "planned", "owner": "Clinical supervisor",
             "due_on": (now + dt.timedelta(days=21)).date(), "link_kind": "driver", "link_ref": "trauma"},
        ])
        audit(conn, "demo", "demo_seeded", detail=f"{helpers} helpers x {weeks} weeks, seed {seed}")
    # Logins come after the commit (create_user has its own transaction); a
    # second starter already returned above, so each is created once.
    create_user = auth.create_user
    create_user(engine, "demo-admin", DEMO_PASSWORD, "admin", is_demo=True, actor="demo")
    create_user(engine, "demo-hr", DEMO_PASSWORD, "hr", is_demo=True, actor="demo")
    create_user(engine, "demo-lead", DEMO_PASSWORD, "lead", team=lead_team, is_demo=True, actor="demo")
    for name, hid in helper_logins:
        create_user(engine, name, DEMO_PASSWORD, "helper", helper_id=hid, is_demo=True, actor="demo")
    # the demo's stored risk is computed once now, not by the first page someone opens
    materialise.rebuild(engine)
    return created


def _admins_kept(conn) -> int:
    """Active non-demo admins that survive clearing (accounts tied to a helper or team go)."""
    return conn.execute(select(func.count()).select_from(s.users).where(
        s.users.c.role == "admin", s.users.c.active.is_(True), s.users.c.is_demo.is_(False),
        s.users.c.helper_id.is_(None), s.users.c.team_id.is_(None))).scalar_one()


def real_admin_kept(engine: Engine) -> bool:
    """True when clearing the demo would leave a real admin account."""
    with engine.connect() as conn:
        return _admins_kept(conn) > 0


def clear_all_data(engine: Engine, actor: str = "admin", new_admin: str | None = None,
                   new_admin_email: str | None = None) -> str | None:
    """Remove every helper, answer, caseload row, note and demo login (keeps real admins).

    The product is never left without an admin: when no real admin would remain,
    ``new_admin`` names the organisation's first real admin, created in the same
    transaction with a one-time invite; its token is returned for the admin who
    clears to hand over. Without one, nothing is cleared (InputError).
    """
    with engine.begin() as conn:
        token = None
        if not _admins_kept(conn):
            if not (new_admin or "").strip():
                raise InputError("clearing the demo would leave no admin account: give the username of your "
                                 "organisation's first admin", column="new admin")
            if auth.get_user(engine, new_admin) is not None:
                raise InputError(f"the username {new_admin.strip()!r} is taken by a demo account; choose another",
                                 column="new admin")
        for t in (s.scores, s.answers, s.submissions, s.caseload_weeks, s.action_notes,
                  s.deletion_requests):
            conn.execute(delete(t))
        conn.execute(delete(s.users).where(s.users.c.is_demo.is_(True) | s.users.c.helper_id.isnot(None)
                                           | s.users.c.team_id.isnot(None)))
        conn.execute(delete(s.helpers))
        conn.execute(delete(s.teams))
        conn.execute(delete(s.settings).where(s.settings.c.key == DEMO_FLAG))
        conn.execute(insert(s.settings).values(key=DEMO_FLAG, value="false"))
        audit(conn, actor, "data_cleared")
        if (new_admin or "").strip() and not _admins_kept(conn):
            auth.create_user(engine, new_admin, None, "admin", email=new_admin_email, actor=actor, conn=conn)
            token = auth.create_invite(engine, new_admin, actor=actor, conn=conn)
    return token


def demo_users(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(select(s.users.c.username, s.users.c.role, s.users.c.team_id, s.users.c.helper_id)
                           .where(s.users.c.is_demo.is_(True)).order_by(s.users.c.role), conn)
