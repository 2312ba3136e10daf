"""accounts: normalised usernames, invites, server-side sessions, sign-in throttling, SSO identity

Revision ID: 0002_accounts
Revises: 0001

Existing accounts keep their password and get a normalised username (NFKC +
casefold). Two old accounts that normalise alike (e.g. "Sam" and "sam") cannot
share one key, so the later one gets its user id appended to the key; it still
signs in by its exact name and an admin can rename it.
"""
from typing import Sequence, Union
import unicodedata

from alembic import op
import sqlalchemy as sa


revision: str = "0002_accounts"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _norm(name: str) -> str:
    # the same rule as burnout.auth.normalise_username; copied so this migration
    # keeps meaning what it meant when it was written
    return unicodedata.normalize("NFKC", name or "").strip().casefold()


def upgrade() -> None:
    with op.batch_alter_table("users") as b:
        b.add_column(sa.Column("username_norm", sa.String(length=120), nullable=True))
        b.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        b.add_column(sa.Column("auth_version", sa.Integer(), nullable=False, server_default="1"))
        b.add_column(sa.Column("password_set_at", sa.DateTime(), nullable=True))
        b.add_column(sa.Column("sso_issuer", sa.String(length=400), nullable=True))
        b.add_column(sa.Column("sso_subject", sa.String(length=255), nullable=True))
        b.alter_column("password_hash", existing_type=sa.String(length=255), nullable=True)

    conn = op.get_bind()
    users = sa.table("users", sa.column("user_id", sa.Integer), sa.column("username", sa.String),
                     sa.column("username_norm", sa.String))
    seen: set[str] = set()
    for uid, name in conn.execute(sa.select(users.c.user_id, users.c.username).order_by(users.c.user_id)).all():
        key = _norm(name)
        if key in seen:
            key = f"{key}#{uid}"
        seen.add(key)
        conn.execute(sa.update(users).where(users.c.user_id == uid).values(username_norm=key))

    with op.batch_alter_table("users") as b:
        b.alter_column("username_norm", existing_type=sa.String(length=120), nullable=False)
        b.create_unique_constraint(op.f("uq_users_username_norm"), ["username_norm"])
        b.create_unique_constraint("uq_users_sso_identity", ["sso_issuer", "sso_subject"])

    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("auth_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("via_sso", sa.Boolean(), nullable=False),
        sa.Column("draft", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], name=op.f("fk_sessions_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_sessions")),
    )
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"])
    op.create_table(
        "auth_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], name=op.f("fk_auth_tokens_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_auth_tokens")),
    )
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=True),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttle")),
    )


def downgrade() -> None:
    op.drop_table("sign_in_throttle")
    op.drop_table("auth_tokens")
    op.drop_index(op.f("ix_sessions_user_id"), table_name="sessions")
    op.drop_table("sessions")
    with op.batch_alter_table("users") as b:
        b.drop_constraint("uq_users_sso_identity", type_="unique")
        b.drop_constraint(op.f("uq_users_username_norm"), type_="unique")
        b.drop_column("sso_subject")
        b.drop_column("sso_issuer")
        b.drop_column("password_set_at")
        b.drop_column("auth_version")
        b.drop_column("email")
        b.drop_column("username_norm")
