"""index of an organisation's pending invitations

Revision ID: trades0004
Revises: trades0003
Create Date: 2026-11-22 09:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "trades0004"
down_revision: str | None = "trades0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_trade_participant_org_invited",
        "trade_participant",
        ["org_id", "invited_at"],
        postgresql_where=sa.text("status = 'invited'"),
    )


def downgrade() -> None:
    op.drop_index("ix_trade_participant_org_invited", table_name="trade_participant")
