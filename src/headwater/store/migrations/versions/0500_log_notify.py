"""Lineage log notifications: every statement appending to lineage_log NOTIFYs `headwater_log`
(PostgreSQL only), so graph indexes in other server processes learn of writes without asking.

Revision ID: 0500_log_notify
Revises: 0450_saved_queries
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0500_log_notify"
down_revision: str | None = "0450_saved_queries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A statement-level trigger: one NOTIFY per appending statement (COPY included), and PostgreSQL
# folds identical notifications of one transaction into one, delivered at commit.
CHANNEL = "headwater_log"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION headwater_log_notify() RETURNS trigger AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER lineage_log_notify AFTER INSERT ON lineage_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION headwater_log_notify()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS lineage_log_notify ON lineage_log")
    op.execute("DROP FUNCTION IF EXISTS headwater_log_notify()")
