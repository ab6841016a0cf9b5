"""customs status written back from NACCS: one row per trade + procedure + number, events taken

Revision ID: forms0003
Revises: forms0002
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "forms0003"
down_revision: str | None = "forms0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute("CREATE SEQUENCE trade_naccs_status_change_seq")
    op.create_table(
        "trade_naccs_status",
        sa.Column("trade_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("procedure", sa.String(32), nullable=False),
        sa.Column("number", sa.String(35), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_rank", sa.SmallInteger(), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("examination", sa.String(1), nullable=True),
        sa.Column("permit_no", sa.String(35), nullable=True),
        sa.Column("permitted_on", sa.Date(), nullable=True),
        sa.Column("source", pg.JSONB(), nullable=False),
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "change_seq",
            sa.BigInteger(),
            server_default=sa.text("nextval('trade_naccs_status_change_seq')"),
            nullable=False,
        ),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("trade_id", "procedure", "number", name="pk_trade_naccs_status"),
    )
    op.create_table(
        "naccs_status_event",
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("trade_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("entries", sa.SmallInteger(), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_naccs_status_event"),
    )


def downgrade() -> None:
    op.drop_table("naccs_status_event")
    op.drop_table("trade_naccs_status")
    op.execute("DROP SEQUENCE trade_naccs_status_change_seq")
