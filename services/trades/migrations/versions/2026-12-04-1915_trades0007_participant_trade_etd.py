"""the trade's ETD on each participant row, and an organisation's index by ETD

An ETD window on the trade list (``etd_from``/``etd_to``) walked the organisation's trades newest
first until it reached the window: at a million trades, tens of thousands of rows for a window half
a year back. With the ETD copied into ``trade_participant`` (filled on insert, followed on every ETD
change, e.g. a vessel schedule update), the organisation's trades in the window come from one range
scan and only those are sorted.

Revision ID: trades0007
Revises: trades0006
Create Date: 2026-12-04 19:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "trades0007"
down_revision: str | None = "trades0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("trade_participant", sa.Column("trade_etd", sa.Date(), nullable=True))
    op.execute(
        "UPDATE trade_participant p SET trade_etd = t.etd FROM trade t "
        "WHERE t.id = p.trade_id AND t.etd IS NOT NULL"
    )
    op.execute(
        """
        CREATE FUNCTION trade_participant_fill_trade_etd() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.trade_etd IS NULL THEN
                SELECT etd INTO NEW.trade_etd FROM trade WHERE id = NEW.trade_id;
            END IF;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER trade_participant_fill_trade_etd
            BEFORE INSERT ON trade_participant
            FOR EACH ROW EXECUTE FUNCTION trade_participant_fill_trade_etd()
        """
    )
    op.execute(
        """
        CREATE FUNCTION trade_etd_to_participants() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE trade_participant SET trade_etd = NEW.etd WHERE trade_id = NEW.id;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER trade_etd_to_participants
            AFTER UPDATE OF etd ON trade
            FOR EACH ROW WHEN (OLD.etd IS DISTINCT FROM NEW.etd)
            EXECUTE FUNCTION trade_etd_to_participants()
        """
    )
    op.create_index(
        "ix_trade_participant_org_etd",
        "trade_participant",
        ["org_id", "trade_etd"],
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_index("ix_trade_participant_org_etd", table_name="trade_participant")
    op.execute("DROP TRIGGER trade_etd_to_participants ON trade")
    op.execute("DROP FUNCTION trade_etd_to_participants()")
    op.execute("DROP TRIGGER trade_participant_fill_trade_etd ON trade_participant")
    op.execute("DROP FUNCTION trade_participant_fill_trade_etd()")
    op.drop_column("trade_participant", "trade_etd")
