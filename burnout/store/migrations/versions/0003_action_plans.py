"""action plans and check-in drafts

Revision ID: 0003_action_plans
Revises: 0002_accounts

Action notes gain an owner, a due date, a status (planned / done / dropped) and an
optional link to a workplace driver or an alert.  Existing notes keep everything:
a note that says what was done ("we did") becomes "done", the rest "planned".

checkin_drafts keeps a check-in a helper has begun (per helper and week) so the
longer questionnaires can be finished later; a draft is never a submission.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0003_action_plans"
down_revision: Union[str, Sequence[str], None] = "0002_accounts"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("action_notes") as b:
        b.add_column(sa.Column("owner", sa.String(length=120), nullable=True))
        b.add_column(sa.Column("due_on", sa.Date(), nullable=True))
        b.add_column(sa.Column("status", sa.String(length=20), nullable=False, server_default="planned"))
        b.add_column(sa.Column("link_kind", sa.String(length=20), nullable=True))
        b.add_column(sa.Column("link_ref", sa.String(length=80), nullable=True))
    notes = sa.table("action_notes", sa.column("we_did", sa.Text), sa.column("status", sa.String))
    op.get_bind().execute(sa.update(notes).where(notes.c.we_did.is_not(None) & (notes.c.we_did != ""))
                          .values(status="done"))
    op.create_table(
        "checkin_drafts",
        sa.Column("helper_id", sa.String(length=80), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["helper_id"], ["helpers.helper_id"],
                                name=op.f("fk_checkin_drafts_helper_id_helpers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("helper_id", "week_start", name=op.f("pk_checkin_drafts")),
    )


def downgrade() -> None:
    op.drop_table("checkin_drafts")
    with op.batch_alter_table("action_notes") as b:
        b.drop_column("link_ref")
        b.drop_column("link_kind")
        b.drop_column("status")
        b.drop_column("due_on")
        b.drop_column("owner")
