"""the trade's status on each participant row, and an organisation's listing index by status

A status filter on the trade list used to join every trade of that status (a sequential scan of
``trade`` at a million rows) or walk all of the organisation's trades to the end of the list.
With the status copied into ``trade_participant`` (kept equal by triggers: filled on insert,
followed on every status change), one index answers "this organisation's trades in these statuses,
newest first".

Revision ID: trades0006
Revises: trades0005
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "trades0006"
down_revision: str | None = "trades0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("trade_participant", sa.Column("trade_status", sa.String(20), nullable=True))
    op.execute(
        "UPDATE trade_participant p SET trade_status = t.status FROM trade t WHERE t.id = p.trade_id"
    )
    op.alter_column("trade_participant", "trade_status", nullable=False)
    op.execute(
        """
        CREATE FUNCTION trade_participant_fill_trade_status() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.trade_status IS NULL THEN
                SELECT status INTO NEW.trade_status FROM trade WHERE id = NEW.trade_id;
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER trade_participant_fill_trade_status
            BEFORE INSERT ON trade_participant
            FOR EACH ROW EXECUTE FUNCTION trade_participant_fill_trade_status()
        """
    )
    op.execute(
        """
        CREATE FUNCTION trade_status_to_participants() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE trade_participant SET trade_status = NEW.status WHERE trade_id = NEW.id;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER trade_status_to_participants
            AFTER UPDATE OF status ON trade
            FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
            EXECUTE FUNCTION trade_status_to_participants()
        """
    )
    op.create_index(
        "ix_trade_participant_org_status_listing",
        "trade_participant",
        ["org_id", "trade_status", sa.text("trade_created_at DESC"), sa.text("trade_id DESC")],
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_index("ix_trade_participant_org_status_listing", table_name="trade_participant")
    op.execute("DROP TRIGGER trade_status_to_participants ON trade")
    op.execute("DROP FUNCTION trade_status_to_participants()")
    op.execute("DROP TRIGGER trade_participant_fill_trade_status ON trade_participant")
    op.execute("DROP FUNCTION trade_participant_fill_trade_status()")
    op.drop_column("trade_participant", "trade_status")
