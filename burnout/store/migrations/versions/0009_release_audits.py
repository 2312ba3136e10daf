"""release_audits: the organisation's release audit, kept once computed

Revision ID: 0009_release_audits
Revises: 0008_staging_answers_unkeyed

A lead's page must respect what the HR review shows (views.team.OrgAudit), and
that audit covers the whole organisation: about 60 CPU-s at 10,000 helpers,
paid by every process's first lead open after a start or a change.  It is kept
here (one row per measure, the latest) with the data state it was made for, so
the import and the first process that computes it pay, and every other open
reads about 2.5 MB (burnout/release_store.py).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0009_release_audits"
down_revision: Union[str, Sequence[str], None] = "0008_staging_answers_unkeyed"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "release_audits",
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("measure", name=op.f("pk_release_audits")),
    )


def downgrade() -> None:
    op.drop_table("release_audits")
