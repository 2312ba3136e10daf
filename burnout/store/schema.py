"""Tables.  SQLAlchemy Core on purpose: imports write millions of item answers,
which must go in as executemany batches, not one ORM object per row.

Any change here needs an Alembic migration in ``migrations/versions``.
"""
from __future__ import annotations

from sqlalchemy import (
    Boolean, Column, Date, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, MetaData,
    String, Table, Text, UniqueConstraint,
)

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

teams = Table(
    "teams", metadata,
    Column("team_id", String(80), primary_key=True),
    Column("kind", String(40)),            # a team kind (domain.settings.TEAM_KINDS), may be unknown
    Column("client_word", String(40)),     # replaces "client" in CBI client items
)

helpers = Table(
    "helpers", metadata,
    Column("helper_id", String(80), primary_key=True),
    Column("name", String(200)),
    Column("team_id", String(80), ForeignKey("teams.team_id"), nullable=False, index=True),
    Column("role", String(120), nullable=False),
    Column("site", String(120)),
    Column("fte", Float),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("end_reason", String(200)),
    Column("annual_salary", Float),
    Column("specialties", Text),
    Column("caseload_standard", Float),    # as given in the file; NULL = use settings/team median
    # A helper's answers are theirs: a lead sees individual results only when this is on.
    Column("consent_lead_view", Boolean, nullable=False, default=False),
)

users = Table(
    "users", metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(120), nullable=False, unique=True),
    # NFKC + casefold of the username: what uniqueness and sign-in compare, so
    # "Demo-HR" cannot sit beside "demo-hr".
    Column("username_norm", String(120), nullable=False, unique=True),
    Column("email", String(254)),
    Column("password_hash", String(255)),          # NULL until the person accepts their invite
    Column("role", String(20), nullable=False),
    Column("helper_id", String(80), ForeignKey("helpers.helper_id")),
    Column("team_id", String(80), ForeignKey("teams.team_id")),
    Column("is_demo", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
    # Raised on every password reset, disable or role change: a session records the
    # version it started under and ends when they differ.
    Column("auth_version", Integer, nullable=False, default=1),
    Column("password_set_at", DateTime),
    # A single sign-on identity is bound by issuer + subject (stable), never by e-mail.
    Column("sso_issuer", String(400)),
    Column("sso_subject", String(255)),
    UniqueConstraint("sso_issuer", "sso_subject", name="uq_users_sso_identity"),
)

# Browser sessions, shared by every dashboard process. Only a hash of the token is kept.
sessions = Table(
    "sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False, index=True),
    Column("auth_version", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Column("via_sso", Boolean, nullable=False, default=False),
)

# One-time tokens: invites (set your own password), sign-in grants (exchanged for the
# session cookie) and first-admin setup codes. Only a hash is kept.
auth_tokens = Table(
    "auth_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),        # invite | grant | setup
    Column("user_id", Integer, ForeignKey("users.user_id", ondelete="CASCADE")),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("used_at", DateTime),
    Column("data", Text),                              # JSON: where a grant returns to
)

# Failed sign-ins per account ("user:<name>") and per client ("client:<address>").
sign_in_throttle = Table(
    "sign_in_throttle", metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_failure_at", DateTime),
    Column("locked_until", DateTime),
)

submissions = Table(
    "submissions", metadata,
    Column("submission_id", Integer, primary_key=True, autoincrement=True),
    Column("helper_id", String(80), ForeignKey("helpers.helper_id"), nullable=False),
    Column("instrument", String(20), nullable=False),
    Column("submitted_at", DateTime, nullable=False),
    Column("source", String(20), nullable=False, default="import"),  # import | checkin
    Column("comment", Text),  # free text: never shown outside the helper and consented lead
    # the Monday of submitted_at's week (domain.time.week_start), stored by every writer so
    # SQL can filter and group by week on any engine (store.frames.scores_by_week)
    Column("week_start", Date),
    UniqueConstraint("helper_id", "instrument", "submitted_at", name="uq_submissions_natural"),
)
Index("ix_submissions_helper_time", submissions.c.helper_id, submissions.c.submitted_at)
Index("ix_submissions_week_helper", submissions.c.week_start, submissions.c.helper_id)

answers = Table(
    "answers", metadata,
    Column("submission_id", Integer, ForeignKey("submissions.submission_id", ondelete="CASCADE"),
           primary_key=True),
    Column("item_id", String(20), primary_key=True),
    Column("value", Float, nullable=False),
)

# One row per scored submission (wide), recomputed whenever answers are stored,
# so every page and the CLI read the same numbers.
scores = Table(
    "scores", metadata,
    Column("submission_id", Integer, ForeignKey("submissions.submission_id", ondelete="CASCADE"),
           primary_key=True),
    Column("compassion_satisfaction", Float),
    Column("burnout", Float),
    Column("secondary_traumatic_stress", Float),
    Column("personal_burnout", Float),
    Column("work_burnout", Float),
    Column("client_burnout", Float),
    Column("sib_level", Float),
    Column("burned_out", Boolean),
    Column("pulse_strain", Float),
    Column("pulse_trauma_load", Float),
    Column("pulse_support", Float),
)

caseload_weeks = Table(
    "caseload_weeks", metadata,
    Column("helper_id", String(80), ForeignKey("helpers.helper_id"), primary_key=True),
    Column("week_start", Date, primary_key=True),
    Column("active_cases", Float),
    Column("new_cases", Float),
    Column("high_acuity_cases", Float),
    Column("trauma_exposures", Float),
    Column("critical_incidents", Float),
    Column("hours_worked", Float),
    Column("overtime_hours", Float),
    Column("case_types", Text),
    Column("cases_outside_specialty", Float),
)

settings = Table(
    "settings", metadata,
    Column("key", String(80), primary_key=True),
    Column("value", Text, nullable=False),   # JSON
)

audit_log = Table(
    "audit_log", metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("action", String(60), nullable=False),
    Column("subject_helper_id", String(80)),
    Column("detail", Text),
)

action_notes = Table(
    "action_notes", metadata,
    Column("note_id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(80), ForeignKey("teams.team_id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("author", String(120), nullable=False),
    Column("you_said", Text, nullable=False),
    Column("we_did", Text),
    Column("done_on", Date),
    # An action plan, so a team can see whether an action helped: who carries it,
    # by when, where it stands, and what it answers (a workplace driver or an alert).
    Column("owner", String(120)),
    Column("due_on", Date),
    Column("status", String(20), nullable=False, default="planned", server_default="planned"),
    Column("link_kind", String(20)),     # "driver" or "alert"
    Column("link_ref", String(80)),      # e.g. "caseload", or an alert's measure
)

# A check-in begun and not yet saved, kept per helper and week so the longer
# questionnaires can be finished later in the same week on any device.  Never a
# submission: no aggregate reads this table.
checkin_drafts = Table(
    "checkin_drafts", metadata,
    Column("helper_id", String(80), ForeignKey("helpers.helper_id", ondelete="CASCADE"), primary_key=True),
    Column("week_start", Date, primary_key=True),
    Column("answers", Text, nullable=False),      # JSON: item id -> answer label, plus the comment
    Column("updated_at", DateTime, nullable=False),
)

deletion_requests = Table(
    "deletion_requests", metadata,
    Column("request_id", Integer, primary_key=True, autoincrement=True),
    Column("helper_id", String(80), nullable=False),
    Column("requested_at", DateTime, nullable=False),
    Column("status", String(20), nullable=False, default="open"),
    Column("resolved_at", DateTime),
)

instrument_wording = Table(
    "instrument_wording", metadata,
    Column("instrument", String(20), primary_key=True),
    Column("item_id", String(20), primary_key=True),
    Column("text", Text, nullable=False),
    Column("loaded_at", DateTime, nullable=False),
)

imports = Table(
    "imports", metadata,
    Column("import_id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("file_name", String(400)),
    Column("rows_read", Integer),
    Column("rows_stored", Integer),
    Column("actor", String(120)),
    # What lets a re-import of the same file be skipped (burnout.ingest.core): the
    # file's fingerprint, and the deletion counter of its table when it was compared.
    Column("content_hash", String(64)),
    Column("deletions_seen", Integer),
)

SCORE_COLUMNS = [c.name for c in scores.columns if c.name != "submission_id"]
CASELOAD_COLUMNS = [c.name for c in caseload_weeks.columns]

# --------------------------------------------------------------------------- imports in progress
# One import at a time, and who is running it: the row exists while an import
# writes (store.staging); a second import reads it to say whose import it waits for.
import_lock = Table(
    "import_lock", metadata,
    Column("lock", String(20), primary_key=True),      # always "import": one row at most
    Column("token", String(32), nullable=False),
    Column("files", String(400), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("heartbeat_at", DateTime, nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
)

# An import writes here in short batches (check-ins keep flowing on SQLite) and one
# short transaction copies the rows into the real tables.  Only the import holding
# import_lock uses them, so no import id is needed; no reader ever looks here.
# ``seq`` numbers the import's new submissions; the copy adds the next free id.
staging_submissions = Table(
    "staging_submissions", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("helper_id", String(80), nullable=False),
    Column("instrument", String(20), nullable=False),
    Column("submitted_at", DateTime, nullable=False),
    Column("source", String(20), nullable=False),
    Column("comment", Text),
    Column("week_start", Date),
)
# No key: the copy into ``answers`` checks it (migration 0008 says why).
staging_answers = Table(
    "staging_answers", metadata,
    Column("seq", Integer, nullable=False, autoincrement=False),
    Column("item_id", String(20), nullable=False),
    Column("value", Float, nullable=False),
)
staging_scores = Table(
    "staging_scores", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    *[Column(c.name, c.type) for c in scores.columns if c.name != "submission_id"],
)
staging_caseload = Table(
    "staging_caseload", metadata,
    *[Column(c.name, c.type, primary_key=c.primary_key) for c in caseload_weeks.columns],
)

# One row per helper per week: the risk model's output (burnout.materialise), kept
# up to date when data arrive so pages read it instead of recomputing the
# organisation.  Derived data: no foreign key, a rebuild recreates every row.
# The columns are risk.OUTPUT_COLUMNS (tests/test_helper_weeks.py holds them equal).
HELPER_WEEK_COMPONENTS = ("burnout", "cbi_work", "cbi_personal", "cbi_client", "sts", "sib", "pulse_strain",
                          "low_cs", "trend", "caseload", "acuity", "trauma", "incidents", "overtime", "mismatch",
                          "missed_checkins")
helper_weeks = Table(
    "helper_weeks", metadata,
    Column("helper_id", String(80), primary_key=True),
    Column("week_start", Date, primary_key=True),
    Column("team", String(80)),
    Column("risk_score", Float),
    Column("risk_band", String(20)),
    Column("confidence", Float),
    Column("driver_1", Text),
    Column("driver_2", Text),
    Column("driver_3", Text),
    *[Column(f"c_{n}", Float) for n in HELPER_WEEK_COMPONENTS],
    Column("active_cases", Float),
    Column("caseload_ratio", Float),
    Column("weeks_over_standard", Float),
    Column("acuity_rel", Float),
    Column("mismatch_rel", Float),
)
Index("ix_helper_weeks_team_week", helper_weeks.c.team, helper_weeks.c.week_start)

# The risk of the horizon week as ``risk.latest_risk`` gives it (one row per helper
# employed that day, also those without data; its windows look back a bounded
# number of weeks), so the latest figures need no computing either.
helper_latest = Table(
    "helper_latest", metadata,
    *[Column(c.name, c.type, primary_key=c.name == "helper_id", nullable=c.name not in ("helper_id", "week_start"))
      for c in helper_weeks.columns],
)
Index("ix_helper_latest_team", helper_latest.c.team)

# What the helper-week table was built from: the week it runs up to ("horizon")
# and a fingerprint of the saved settings ("settings"); when either no longer
# holds, the table is rebuilt before it is read.
materialised_state = Table(
    "materialised_state", metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Text, nullable=False),
)

# Change counters that page caches key on: "team:<id>" (that team's figures),
# "org" (anything), "horizon" (the week the data run up to), "all" (a rebuild).
# Bumped in the transaction that writes the helper-week rows.  Also
# "deleted:<table>" for the tables of DELETION_COUNTED, bumped by a database
# trigger on every delete (migration 0006), whoever deletes.
data_versions = Table(
    "data_versions", metadata,
    Column("scope", String(120), primary_key=True),
    Column("version", Integer, nullable=False),
)

# Results prepared once when data arrive and kept for every process (burnout/store/prepared.py):
# the organisation's release audit per measure ("release_audit:<measure>", burnout/release_store.py)
# and the leaving model ("leaving_model", views.data.leaving_model_for).  One row per name: the
# latest, with the data state and code it was made for (``state``); a reader uses it only when
# that equals its own.
prepared_results = Table(
    "prepared_results", metadata,
    Column("name", String(80), primary_key=True),
    Column("state", String(64), nullable=False),
    Column("made_at", DateTime, nullable=False),
    Column("payload", LargeBinary, nullable=False),
)

# Tables whose deletes a trigger counts in data_versions("deleted:<table>").
DELETION_COUNTED = ("submissions", "caseload_weeks")


def deleted_scope(table: str) -> str:
    """The counter the trigger bumps on every delete from ``table`` (migration 0006)."""
    return f"deleted:{table}"


DELETED_SCOPES = tuple(deleted_scope(t) for t in DELETION_COUNTED)
