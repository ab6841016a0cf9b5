"""the ETD index carries the listing keys, so an ETD window's page never reads the rows

The trade list takes a page's keys (``trade_created_at``, ``trade_id``) from the caller's
participant rows before it reads any trade. With the ETD index holding those keys too, an ETD
window is one index-only range scan and a top-N sort of the keys. Without them, PostgreSQL had to
fetch each participant row in the window, priced that above walking the organisation's whole
listing from the newest trade down to the window, and chose the walk: 23,765 rows read for the
first page of a two-week window half a year back, at a million trades (17 ms; 0.5 ms now).

Revision ID: trades0009
Revises: trades0008
Create Date: 2026-12-04 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "trades0009"
down_revision: str | None = "trades0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_trade_participant_org_etd", table_name="trade_participant")
    op.create_index(
        "ix_trade_participant_org_etd",
        "trade_participant",
        ["org_id", "trade_etd"],
        postgresql_include=["trade_created_at", "trade_id"],
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_index("ix_trade_participant_org_etd", table_name="trade_participant")
    op.create_index(
        "ix_trade_participant_org_etd",
        "trade_participant",
        ["org_id", "trade_etd"],
        postgresql_where=sa.text("status = 'active'"),
    )
