"""state: received and output telegrams, export cargo, declarations, CY movements, number counters

Revision ID: naccs_standin0001
Revises:
Create Date: 2026-11-22 08:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "naccs_standin0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "received_telegram",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("route", sa.String(8), nullable=False),
        sa.Column("user_id", sa.String(8), nullable=False),
        sa.Column("business_code", sa.String(5), nullable=False),
        sa.Column("input_id_no", sa.String(10), nullable=False),
        sa.Column("handover_info", sa.String(26), nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("result_codes", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_received_telegram"),
    )
    op.create_index(
        "ix_received_telegram_user_input", "received_telegram", ["user_id", "input_id_no"]
    )
    op.create_table(
        "output_telegram",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("available_at", TZ, nullable=False),
        sa.Column("delivery", sa.String(8), nullable=False),
        sa.Column("user_id", sa.String(8), nullable=False),
        sa.Column("business_code", sa.String(5), nullable=False),
        sa.Column("output_info_code", sa.String(7), nullable=False),
        sa.Column("message_kind", sa.String(1), nullable=False),
        sa.Column("input_id_no", sa.String(10), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("received_id", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_output_telegram"),
    )
    op.create_index("ix_output_telegram_user_input", "output_telegram", ["user_id", "input_id_no"])
    op.create_index("ix_output_telegram_outbox", "output_telegram", ["delivery", "seq"])
    op.create_table(
        "export_cargo",
        sa.Column("control_no", sa.String(35), nullable=False),
        sa.Column("user_id", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("items", JSONB, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("control_no", name="pk_export_cargo"),
    )
    op.create_table(
        "declaration",
        sa.Column("declaration_no", sa.String(11), nullable=False),
        sa.Column("direction", sa.String(6), nullable=False),
        sa.Column("user_id", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("export_control_no", sa.String(35), nullable=True),
        sa.Column("examination", sa.String(1), nullable=True),
        sa.Column("items", JSONB, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("declared_at", TZ, nullable=True),
        sa.Column("declared_input_id_no", sa.String(10), nullable=True),
        sa.Column("declared_handover", sa.String(26), nullable=True),
        sa.Column("permit_due_at", TZ, nullable=True),
        sa.Column("permitted_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("declaration_no", name="pk_declaration"),
    )
    op.create_index(
        "ix_declaration_due",
        "declaration",
        ["permit_due_at"],
        postgresql_where=sa.text("status = 'declared'"),
    )
    op.create_table(
        "container_movement",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("container_no", sa.String(12), nullable=False),
        sa.Column("movement", sa.String(3), nullable=False),
        sa.Column("place", sa.String(5), nullable=True),
        sa.Column("moved_on", sa.String(12), nullable=False),
        sa.Column("user_id", sa.String(8), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_container_movement"),
    )
    op.create_index(
        "ix_container_movement_container", "container_movement", ["container_no", "id"]
    )
    op.create_table(
        "number_counter",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_number_counter"),
    )


def downgrade() -> None:
    for table in (
        "number_counter",
        "container_movement",
        "declaration",
        "export_cargo",
        "output_telegram",
        "received_telegram",
    ):
        op.drop_table(table)
