"""staging_answers without a primary key

Revision ID: 0008_staging_answers_unkeyed
Revises: 0007_submission_weeks

An import writes its answers twice: into staging in short batches (check-ins keep
being saved meanwhile), then into ``answers`` in the one transaction that makes
the import visible.  The staging copy's key index was most of the first write's
cost (SQLite, 1.1 M answers: 4.1 CPU-s keyed, 2.7 unkeyed; written straight into
``answers`` 4.3), and checked nothing the copy into ``answers`` does not check
again: a repeated (submission, item) fails there, in the same all-or-nothing
transaction.  Staged rows are written in the key's order, so the copy still
appends.  The table is empty between imports; rows a killed import left behind
are cleared by the next one anyway.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0008_staging_answers_unkeyed"
down_revision: Union[str, Sequence[str], None] = "0007_submission_weeks"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _create(keyed: bool) -> None:
    op.create_table(
        "staging_answers",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("item_id", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        *([sa.PrimaryKeyConstraint("seq", "item_id", name=op.f("pk_staging_answers"))] if keyed else []),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE staging_answers SET UNLOGGED")


def upgrade() -> None:
    op.drop_table("staging_answers")
    _create(keyed=False)


def downgrade() -> None:
    op.drop_table("staging_answers")
    _create(keyed=True)
