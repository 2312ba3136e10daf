"""import lock and staging tables

Revision ID: 0005_import_staging
Revises: 0003_action_plans

``import_lock`` holds one row while an import writes: who started it, when, and
from which process, so a second import can wait for it or say whose import is
running, and an import killed half-way is recognised and cleaned up.

``staging_*`` receive an import in short batches; one short transaction copies
them into the real tables, so a long import no longer holds SQLite's single
write lock for its whole write phase.  On PostgreSQL they are UNLOGGED: their
content is thrown away after a crash, which is what a half-written import needs.

(When merged after 0004, ``down_revision`` becomes 0004's revision id.)
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0005_import_staging"
down_revision: Union[str, Sequence[str], None] = "0004_helper_weeks"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SCORES = ["compassion_satisfaction", "burnout", "secondary_traumatic_stress", "personal_burnout",
          "work_burnout", "client_burnout", "sib_level", "burned_out", "pulse_strain",
          "pulse_trauma_load", "pulse_support"]


def upgrade() -> None:
    op.create_table(
        "import_lock",
        sa.Column("lock", sa.String(length=20), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("files", sa.String(length=400), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("lock", name=op.f("pk_import_lock")),
    )
    op.create_table(
        "staging_submissions",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("helper_id", sa.String(length=80), nullable=False),
        sa.Column("instrument", sa.String(length=20), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_staging_submissions")),
    )
    op.create_table(
        "staging_answers",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("item_id", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("seq", "item_id", name=op.f("pk_staging_answers")),
    )
    op.create_table(
        "staging_scores",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        *[sa.Column(c, sa.Boolean() if c == "burned_out" else sa.Float(), nullable=True) for c in SCORES],
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_staging_scores")),
    )
    op.create_table(
        "staging_caseload",
        sa.Column("helper_id", sa.String(length=80), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        *[sa.Column(c, sa.Float(), nullable=True) for c in
          ("active_cases", "new_cases", "high_acuity_cases", "trauma_exposures", "critical_incidents",
           "hours_worked", "overtime_hours")],
        sa.Column("case_types", sa.Text(), nullable=True),
        sa.Column("cases_outside_specialty", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("helper_id", "week_start", name=op.f("pk_staging_caseload")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for t in ("staging_submissions", "staging_answers", "staging_scores", "staging_caseload"):
            op.execute(f"ALTER TABLE {t} SET UNLOGGED")


def downgrade() -> None:
    for t in ("staging_caseload", "staging_scores", "staging_answers", "staging_submissions", "import_lock"):
        op.drop_table(t)
