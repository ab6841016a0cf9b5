"""forms, send queue, output messages, usage ledger, master data, outbox

Revision ID: naccs_bridge0002
Revises: naccs_bridge0001
Create Date: 2026-11-22 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from shared.outbox import drop_notify_trigger_sql, notify_trigger_sql

revision: str = "naccs_bridge0002"
down_revision: str | None = "naccs_bridge0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
ID = UUID(as_uuid=True)


def upgrade() -> None:
    op.execute("CREATE SEQUENCE naccs_input_id_seq")
    op.create_table(
        "naccs_form",
        sa.Column("id", ID, nullable=False),
        sa.Column("trade_id", ID, nullable=False),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("created_by_org", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("processing", sa.String(8), nullable=False),
        sa.Column("bundle", JSONB, nullable=False),
        sa.Column("entries", JSONB, nullable=False),
        sa.Column("reference_no", sa.String(35), nullable=True),
        sa.Column("last_results", JSONB, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("permitted_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_naccs_form"),
        sa.UniqueConstraint("trade_id", "code", name="uq_naccs_form_trade_id_code"),
    )
    op.create_table(
        "naccs_send",
        sa.Column("id", ID, nullable=False),
        sa.Column("form_id", ID, nullable=False),
        sa.Column("trade_id", ID, nullable=False),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("user_subject", sa.String(128), nullable=False),
        sa.Column("naccs_user_id", sa.String(8), nullable=False),
        sa.Column("input_id_no", sa.String(10), nullable=False),
        sa.Column("handover_info", sa.String(26), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("claim_token", ID, nullable=True),
        sa.Column("claimed_at", TZ, nullable=True),
        sa.Column("reply", sa.LargeBinary, nullable=True),
        sa.Column("result", JSONB, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("sent_at", TZ, nullable=True),
        sa.Column("finished_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_naccs_send"),
        sa.ForeignKeyConstraint(
            ["form_id"], ["naccs_form.id"], name="fk_naccs_send_form_id_naccs_form",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("input_id_no", name="uq_naccs_send_input_id_no"),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'result_stored', 'failed', 'cancelled')",
            name="ck_naccs_send_status",
        ),
    )
    op.create_index(
        "ux_naccs_send_one_in_flight",
        "naccs_send",
        ["naccs_user_id"],
        unique=True,
        postgresql_where=sa.text("status = 'sending'"),
    )
    op.create_index(
        "ix_naccs_send_due",
        "naccs_send",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_index("ix_naccs_send_form_id", "naccs_send", ["form_id"])
    op.create_index(
        "ux_naccs_send_one_per_form",
        "naccs_send",
        ["form_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('queued', 'sending', 'sent')"),
    )
    op.create_table(
        "naccs_output_message",
        sa.Column("id", ID, nullable=False),
        sa.Column("source_seq", sa.BigInteger, nullable=True),
        sa.Column("naccs_user_id", sa.String(8), nullable=False),
        sa.Column("business_code", sa.String(5), nullable=False),
        sa.Column("output_info_code", sa.String(7), nullable=False),
        sa.Column("message_kind", sa.String(1), nullable=False),
        sa.Column("input_id_no", sa.String(10), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("decoded", JSONB, nullable=False),
        sa.Column("applied", sa.String(32), nullable=False),
        sa.Column("trade_id", ID, nullable=True),
        sa.Column("form_id", ID, nullable=True),
        sa.Column("received_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_naccs_output_message"),
        sa.UniqueConstraint("source_seq", name="uq_naccs_output_message_source_seq"),
    )
    op.create_index(
        "ix_naccs_output_message_trade_id", "naccs_output_message", ["trade_id"]
    )
    op.create_table(
        "naccs_usage",
        sa.Column("id", ID, nullable=False),
        sa.Column("send_id", ID, nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("user_subject", sa.String(128), nullable=False),
        sa.Column("naccs_user_id", sa.String(8), nullable=False),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_naccs_usage"),
        sa.UniqueConstraint("send_id", name="uq_naccs_usage_send_id"),
    )
    op.create_index("ix_naccs_usage_org_at", "naccs_usage", ["org_id", "occurred_at"])
    op.create_table(
        "naccs_channel_cursor",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_naccs_channel_cursor"),
    )
    op.create_table(
        "naccs_master_record",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "kind", "key", name="pk_naccs_master_record"),
    )
    op.create_table(
        "outbox_message",
        sa.Column("id", ID, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("trade_id", ID, nullable=True),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("lease_token", ID, nullable=True),
        sa.Column("leased_until", TZ, nullable=True),
        sa.Column("claimed_by", sa.Text, nullable=True),
        sa.Column("delivered_at", TZ, nullable=True),
        sa.Column("dead_at", TZ, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_message"),
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
    for statement in notify_trigger_sql():
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_notify_trigger_sql():
        op.execute(statement)
    for table in (
        "outbox_message",
        "naccs_master_record",
        "naccs_channel_cursor",
        "naccs_usage",
        "naccs_output_message",
        "naccs_send",
        "naccs_form",
    ):
        op.drop_table(table)
    op.execute("DROP SEQUENCE naccs_input_id_seq")
