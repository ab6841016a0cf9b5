"""status rules: events from other services move the trade along its lifecycle

Revision ID: trades0003
Revises: trades0002
Create Date: 2026-11-22 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "trades0003"
down_revision: str | None = "trades0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    status_rule = op.create_table(
        "status_rule",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("match", pg.JSONB(), nullable=False),
        sa.Column("direction", sa.String(10)),
        sa.Column("from_statuses", pg.ARRAY(sa.String(20)), nullable=False),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_status_rule_event_type", "status_rule", ["event_type"])
    op.bulk_insert(
        status_rule,
        [
            {
                # The carrier's booking confirmation (UL050) was sent: the space is booked.
                "id": "export-booking-confirmed",
                "event_type": "form.sent",
                "match": {"form_type": "UL050"},
                "direction": "export",
                "from_statuses": ["draft"],
                "to_status": "booked",
                "enabled": True,
            },
            {
                # 輸出許可: customs released the cargo for export.
                "id": "export-permit-cleared",
                "event_type": "naccs.permit",
                "match": {"direction": "export"},
                "direction": "export",
                "from_statuses": ["draft", "booked", "documents", "customs"],
                "to_status": "cleared",
                "enabled": True,
            },
            {
                # 輸入許可: customs released the cargo for import.
                "id": "import-permit-cleared",
                "event_type": "naccs.permit",
                "match": {"direction": "import"},
                "direction": "import",
                "from_statuses": ["arrived", "documents", "customs"],
                "to_status": "cleared",
                "enabled": True,
            },
        ],
    )


def downgrade() -> None:
    op.drop_table("status_rule")
