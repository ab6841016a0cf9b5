"""transactional outbox (vessel_schedule.updated to trades, written with the partner update)

Revision ID: notifications0004
Revises: notifications0003
Create Date: 2026-11-22 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from shared.outbox import drop_notify_trigger_sql, notify_trigger_sql

revision: str = "notifications0004"
down_revision: str | None = "notifications0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox_message",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("payload", pg.JSONB(), nullable=False),
        sa.Column("trade_id", pg.UUID(as_uuid=True)),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("lease_token", pg.UUID(as_uuid=True)),
        sa.Column("leased_until", TZ),
        sa.Column("claimed_by", sa.Text()),
        sa.Column("delivered_at", TZ),
        sa.Column("dead_at", TZ),
        sa.Column("last_error", sa.Text()),
        sa.CheckConstraint(
            "(lease_token IS NULL) = (leased_until IS NULL)", name="ck_outbox_message_lease_pair"
        ),
    )
    op.create_index(
        "ix_outbox_message_pending",
        "outbox_message",
        ["next_attempt_at"],
        postgresql_where=sa.text("delivered_at IS NULL AND dead_at IS NULL"),
    )
    op.create_index("ix_outbox_message_trade_id", "outbox_message", ["trade_id"])
    for statement in notify_trigger_sql("outbox_message", "outbox_message"):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_notify_trigger_sql("outbox_message"):
        op.execute(statement)
    op.drop_table("outbox_message")
