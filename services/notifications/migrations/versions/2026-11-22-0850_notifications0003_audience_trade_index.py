"""event_audience.trade_id: an organisation's events of one trade are one index range

Revision ID: notifications0003
Revises: notifications0002
Create Date: 2026-11-22 08:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "notifications0003"
down_revision: str | None = "notifications0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("event_audience", sa.Column("trade_id", sa.UUID(), nullable=True))
    op.execute(
        "UPDATE event_audience AS a SET trade_id = e.trade_id FROM events AS e"
        " WHERE e.id = a.event_id AND e.trade_id IS NOT NULL"
    )
    op.create_index(
        "ix_event_audience_org_id_trade_id_position",
        "event_audience",
        ["org_id", "trade_id", "position"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_event_audience_org_id_trade_id_position", table_name="event_audience")
    op.drop_column("event_audience", "trade_id")
