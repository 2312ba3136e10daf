"""prepared_results: results prepared when data arrive, kept for every process

Revision ID: 0009_prepared_results
Revises: 0008_staging_answers_unkeyed

Two results cover the whole organisation and were computed by every process on
its first page after a start or a change: the release audit a lead's page must
respect (views.team.OrgAudit, about 60 CPU-s at 10,000 helpers) and the leaving
model (about 35 CPU-s there, most of it reading the risk history).  They are
kept here, one row per name, with the data state and code they were made for
(burnout/store/prepared.py): the import prepares the audit, the first process
that fits the model stores it, and every other first open reads a few MB.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0009_prepared_results"
down_revision: Union[str, Sequence[str], None] = "0008_staging_answers_unkeyed"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "prepared_results",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_prepared_results")),
    )


def downgrade() -> None:
    op.drop_table("prepared_results")
