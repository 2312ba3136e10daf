"""submissions.week_start: the Monday of each submission's week, stored

Revision ID: 0007_submission_weeks
Revises: 0006_import_fingerprints

The HR review and the lead's organisation audit read each helper's answers per
week (``store.frames.scores_by_week``): with the week stored, SQL filters and
groups by it on SQLite and PostgreSQL alike, without date functions that differ
between the two.  Every writer fills it (``store.writes``, ``store.staging``,
the check-in insert); rows stored before are filled here, with each engine's own
date arithmetic once.  The staging copy of submissions carries it too.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0007_submission_weeks"
down_revision: Union[str, Sequence[str], None] = "0006_import_fingerprints"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column("submissions", sa.Column("week_start", sa.Date(), nullable=True))
    op.add_column("staging_submissions", sa.Column("week_start", sa.Date(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE submissions SET week_start = date_trunc('week', submitted_at)::date")
    else:
        # 'weekday 1' moves forward to a Monday: six days back first lands on the week's own
        op.execute("UPDATE submissions SET week_start = date(submitted_at, '-6 days', 'weekday 1')")
    op.create_index("ix_submissions_week_helper", "submissions", ["week_start", "helper_id"])


def downgrade() -> None:
    op.drop_index("ix_submissions_week_helper", table_name="submissions")
    with op.batch_alter_table("staging_submissions") as batch:
        batch.drop_column("week_start")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("week_start")
