"""materialised helper-weeks and change counters

Revision ID: 0004_helper_weeks
Revises: 0003_action_plans

helper_weeks holds the risk model's output per helper and week (burnout.materialise),
helper_latest the latest week's as risk.latest_risk gives it,
so pages read it instead of recomputing the organisation; materialised_state says
what it was built from; data_versions are the change counters page caches key on.
All three are derived: an existing database starts with them empty and the first
read rebuilds the helper weeks from the stored answers and caseload.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0004_helper_weeks"
down_revision: Union[str, Sequence[str], None] = "0003_action_plans"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COMPONENTS = ("burnout", "cbi_work", "cbi_personal", "cbi_client", "sts", "sib", "pulse_strain", "low_cs",
              "trend", "caseload", "acuity", "trauma", "incidents", "overtime", "mismatch", "missed_checkins")


def _row_columns() -> list:
    return [
        sa.Column("helper_id", sa.String(length=80), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("team", sa.String(length=80), nullable=True),
        sa.Column("risk_score", sa.Float(), nullable=True),
        sa.Column("risk_band", sa.String(length=20), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("driver_1", sa.Text(), nullable=True),
        sa.Column("driver_2", sa.Text(), nullable=True),
        sa.Column("driver_3", sa.Text(), nullable=True),
        *[sa.Column(f"c_{n}", sa.Float(), nullable=True) for n in COMPONENTS],
        sa.Column("active_cases", sa.Float(), nullable=True),
        sa.Column("caseload_ratio", sa.Float(), nullable=True),
        sa.Column("weeks_over_standard", sa.Float(), nullable=True),
        sa.Column("acuity_rel", sa.Float(), nullable=True),
        sa.Column("mismatch_rel", sa.Float(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "helper_weeks",
        *_row_columns(),
        sa.PrimaryKeyConstraint("helper_id", "week_start", name=op.f("pk_helper_weeks")),
    )
    op.create_index("ix_helper_weeks_team_week", "helper_weeks", ["team", "week_start"])
    op.create_table(
        "helper_latest",
        *_row_columns(),
        sa.PrimaryKeyConstraint("helper_id", name=op.f("pk_helper_latest")),
    )
    op.create_index("ix_helper_latest_team", "helper_latest", ["team"])
    op.create_table(
        "materialised_state",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_materialised_state")),
    )
    op.create_table(
        "data_versions",
        sa.Column("scope", sa.String(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_data_versions")),
    )


def downgrade() -> None:
    op.drop_table("data_versions")
    op.drop_table("materialised_state")
    op.drop_index("ix_helper_latest_team", table_name="helper_latest")
    op.drop_table("helper_latest")
    op.drop_index("ix_helper_weeks_team_week", table_name="helper_weeks")
    op.drop_table("helper_weeks")
