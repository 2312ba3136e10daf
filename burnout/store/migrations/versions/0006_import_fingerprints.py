"""import fingerprints; deletion counters; sessions.draft dropped

Revision ID: 0006_import_fingerprints
Revises: 0005_import_staging

``imports.content_hash`` and ``imports.deletions_seen`` let a re-import of an
unchanged file be a comparison of two hashes instead of reading, checking and
comparing every row again (``burnout.ingest.core``).  Skipping is only right
while nothing the file was compared with has gone since, so the database
itself counts deletions: a trigger on ``submissions`` and on ``caseload_weeks``
adds one to ``data_versions('deleted:<table>')`` on every delete, whichever
code path deletes (a helper's deletion request, clearing the demo, by hand).
Rows are otherwise only added (submissions) or changed by imports (caseload).

``sessions.draft`` was never read or written: check-in drafts live in
``checkin_drafts``.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = "0006_import_fingerprints"
down_revision: Union[str, Sequence[str], None] = "0005_import_staging"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# the same names as burnout.store.schema.DELETION_COUNTED; copied so this migration
# keeps meaning what it meant when it was written
COUNTED = ("submissions", "caseload_weeks")


def _bump(table: str) -> str:
    return (f"INSERT INTO data_versions (scope, version) VALUES ('deleted:{table}', 1) "
            "ON CONFLICT (scope) DO UPDATE SET version = data_versions.version + 1")


def upgrade() -> None:
    with op.batch_alter_table("imports") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("deletions_seen", sa.Integer(), nullable=True))
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("draft")
    if op.get_bind().dialect.name == "postgresql":
        for t in COUNTED:
            # once per statement: deleting a million rows costs one counter update
            op.execute(f"CREATE FUNCTION count_deleted_{t}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                       f"BEGIN {_bump(t)}; RETURN NULL; END $$")
            op.execute(f"CREATE TRIGGER deleted_{t} AFTER DELETE OR TRUNCATE ON {t} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION count_deleted_{t}()")
    else:
        for t in COUNTED:       # SQLite has row triggers only
            op.execute(f"CREATE TRIGGER deleted_{t} AFTER DELETE ON {t} BEGIN {_bump(t)}; END")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for t in COUNTED:
        op.execute(f"DROP TRIGGER IF EXISTS deleted_{t}" + (f" ON {t}" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS count_deleted_{t}()")
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("draft", sa.Text(), nullable=True))
    with op.batch_alter_table("imports") as batch:
        batch.drop_column("deletions_seen")
        batch.drop_column("content_hash")
