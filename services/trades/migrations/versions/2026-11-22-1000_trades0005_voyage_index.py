"""index of trades by voyage (vessel schedule updates match vessel case-insensitively by voyage)

Revision ID: trades0005
Revises: trades0004
Create Date: 2026-11-22 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "trades0005"
down_revision: str | None = "trades0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_trade_voyage_no", "trade", ["voyage_no"])


def downgrade() -> None:
    op.drop_index("ix_trade_voyage_no", table_name="trade")
