"""form documents, shared items per trade, versions, templates, attachments, outbox, idempotency keys

Revision ID: forms0002
Revises: forms0001
Create Date: 2026-11-22 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from shared.outbox import drop_notify_trigger_sql, notify_trigger_sql

revision: str = "forms0002"
down_revision: str | None = "forms0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "trade_shared_items",
        sa.Column("trade_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("values", pg.JSONB(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("trade_id", name="pk_trade_shared_items"),
    )

    op.create_table(
        "form_document",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("trade_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("form_code", sa.String(5), nullable=False),
        sa.Column("custom_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("values", pg.JSONB(), nullable=False),
        sa.Column("provenance", pg.JSONB(), nullable=False),
        sa.Column("created_by_org_id", sa.String(64), nullable=False),
        sa.Column("created_by_user_id", sa.String(128), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("sent_at", TZ),
        sa.Column("deleted_at", TZ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_form_document"),
        sa.CheckConstraint(
            "status IN ('draft', 'sent', 'acknowledged', 'cancelled')",
            name="ck_form_document_status",
        ),
    )
    op.create_index(
        "uq_form_document_trade_type_custom",
        "form_document",
        ["trade_id", "form_code", "custom_id"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_form_document_trade_listing",
        "form_document",
        ["trade_id", "created_at", "id"],
        postgresql_where=sa.text("deleted_at IS NULL"),
    )

    op.create_table(
        "form_version",
        sa.Column("form_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("version_no", sa.BigInteger(), nullable=False),
        sa.Column("change", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("values", pg.JSONB(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("actor_org_id", sa.String(64)),
        sa.Column("actor_user_id", sa.String(128)),
        sa.PrimaryKeyConstraint("form_id", "version_no", name="pk_form_version"),
        sa.ForeignKeyConstraint(
            ["form_id"], ["form_document.id"], name="fk_form_version_form_id_form_document"
        ),
    )
    # Versions are evidence of what was sent: nobody rewrites or removes them, not even the app.
    op.execute(
        """
        CREATE FUNCTION form_version_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'form_version is append-only (% refused)', TG_OP
                USING ERRCODE = 'restrict_violation';
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER form_version_is_append_only BEFORE UPDATE OR DELETE ON form_version
        FOR EACH ROW EXECUTE FUNCTION form_version_is_append_only()
        """
    )

    op.create_table(
        "form_template",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("form_code", sa.String(5), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("values", pg.JSONB(), nullable=False),
        sa.Column("source_form_id", pg.UUID(as_uuid=True)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by_user_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_form_template"),
        sa.UniqueConstraint("org_id", "form_code", "name", name="uq_form_template_org_id"),
    )
    op.create_index(
        "ix_form_template_org_listing", "form_template", ["org_id", "form_code", "name"]
    )

    op.create_table(
        "form_attachment",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("form_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by_org_id", sa.String(64), nullable=False),
        sa.Column("created_by_user_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_form_attachment"),
        sa.ForeignKeyConstraint(
            ["form_id"], ["form_document.id"], name="fk_form_attachment_form_id_form_document"
        ),
    )
    op.create_index(
        "ix_form_attachment_form_created", "form_attachment", ["form_id", "created_at", "id"]
    )
    op.create_table(
        "form_attachment_content",
        sa.Column("attachment_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("attachment_id", name="pk_form_attachment_content"),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["form_attachment.id"],
            name="fk_form_attachment_content_attachment_id_form_attachment",
            ondelete="CASCADE",
        ),
    )
    # Files are already compressed (PDF, PNG, JPEG, XLSX): do not spend CPU recompressing them.
    op.execute("ALTER TABLE form_attachment_content ALTER COLUMN content SET STORAGE EXTERNAL")

    op.create_table(
        "outbox_message",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
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
    for statement in notify_trigger_sql("outbox_message", "outbox_message"):
        op.execute(statement)

    op.create_table(
        "idempotency_key",
        sa.Column("principal", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("response_body", pg.JSONB()),
        sa.Column("response_headers", pg.JSONB()),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("principal", "key", name="pk_idempotency_key"),
    )
    op.create_index("ix_idempotency_key_expires_at", "idempotency_key", ["expires_at"])


def downgrade() -> None:
    op.drop_table("idempotency_key")
    for statement in drop_notify_trigger_sql("outbox_message"):
        op.execute(statement)
    op.drop_table("outbox_message")
    op.drop_table("form_attachment_content")
    op.drop_table("form_attachment")
    op.drop_table("form_template")
    op.execute("DROP TRIGGER IF EXISTS form_version_is_append_only ON form_version")
    op.execute("DROP FUNCTION IF EXISTS form_version_is_append_only()")
    op.drop_table("form_version")
    op.drop_table("form_document")
    op.drop_table("trade_shared_items")
