"""trades, containers, participants, timeline, tasks, messages, outbox, idempotency keys

Revision ID: trades0002
Revises: trades0001
Create Date: 2026-11-22 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from shared.outbox import drop_notify_trigger_sql, notify_trigger_sql

revision: str = "trades0002"
down_revision: str | None = "trades0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCH_EXPRESSION = (
    "to_tsvector('simple', translate(coalesce(trade_no, '') || ' ' || coalesce(bl_no, '') || ' ' || "
    "coalesce(booking_no, '') || ' ' || coalesce(owner_reference, '') || ' ' || "
    "coalesce(vessel_name, '') || ' ' || coalesce(vessel_call_sign, '') || ' ' || "
    "coalesce(voyage_no, '') || ' ' || coalesce(container_numbers, ''), '-/.', '   '))"
)

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute("CREATE SEQUENCE trade_number_seq")
    op.create_table(
        "trade",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("trade_no", sa.String(20), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("owner_org_id", sa.String(64), nullable=False),
        sa.Column("owner_reference", sa.String(35)),
        sa.Column("bl_no", sa.String(35)),
        sa.Column("booking_no", sa.String(35)),
        sa.Column("carrier_scac", sa.String(4)),
        sa.Column("vessel_call_sign", sa.String(9)),
        sa.Column("vessel_name", sa.String(35)),
        sa.Column("voyage_no", sa.String(17)),
        sa.Column("place_of_receipt", sa.String(5)),
        sa.Column("port_of_loading", sa.String(5)),
        sa.Column("port_of_discharge", sa.String(5)),
        sa.Column("place_of_delivery", sa.String(5)),
        sa.Column("etd", sa.Date()),
        sa.Column("eta", sa.Date()),
        sa.Column("container_numbers", sa.Text()),
        sa.Column("search_vector", pg.TSVECTOR(), sa.Computed(SEARCH_EXPRESSION, persisted=True)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("created_by_user_id", sa.String(128), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("direction IN ('export', 'import')", name="ck_trade_direction"),
        sa.UniqueConstraint("trade_no", name="uq_trade_trade_no"),
    )
    op.create_index("ix_trade_bl_no", "trade", ["bl_no"])
    op.create_index("ix_trade_booking", "trade", ["carrier_scac", "booking_no"])
    op.create_index(
        "uq_trade_owner_reference",
        "trade",
        ["owner_org_id", "owner_reference"],
        unique=True,
        postgresql_where=sa.text("owner_reference IS NOT NULL"),
    )
    op.create_index("ix_trade_vessel_voyage", "trade", ["vessel_call_sign", "voyage_no"])
    op.create_index(
        "ix_trade_search_vector", "trade", ["search_vector"], postgresql_using="gin"
    )

    op.create_table(
        "trade_container",
        sa.Column(
            "trade_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("trade.id", ondelete="CASCADE", name="fk_trade_container_trade_id_trade"),
            primary_key=True,
        ),
        sa.Column("container_no", sa.String(11), primary_key=True),
        sa.Column("size_type", sa.String(4)),
        sa.Column("seal_no", sa.String(15)),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_index("ix_trade_container_container_no", "trade_container", ["container_no"])

    op.create_table(
        "trade_participant",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "trade_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey(
                "trade.id", ondelete="CASCADE", name="fk_trade_participant_trade_id_trade"
            ),
            nullable=False,
        ),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("is_owner", sa.Boolean(), nullable=False),
        sa.Column("sponsor_org_id", sa.String(64)),
        sa.Column("invited_by_user_id", sa.String(128)),
        sa.Column("trade_created_at", TZ, nullable=False),
        sa.Column("invited_at", TZ, nullable=False),
        sa.Column("accepted_at", TZ),
        sa.Column("ended_at", TZ),
        sa.UniqueConstraint("trade_id", "org_id", name="uq_trade_participant_trade_id"),
        sa.CheckConstraint(
            "status IN ('invited', 'active', 'declined', 'left', 'removed')",
            name="ck_trade_participant_status",
        ),
        sa.CheckConstraint("NOT (is_owner AND hidden)", name="ck_trade_participant_owner_not_hidden"),
    )
    op.create_index(
        "ix_trade_participant_org_listing",
        "trade_participant",
        ["org_id", sa.text("trade_created_at DESC"), sa.text("trade_id DESC")],
        postgresql_where=sa.text("status = 'active'"),
    )

    op.create_table(
        "timeline_entry",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "trade_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("trade.id", name="fk_timeline_entry_trade_id_trade"),
            nullable=False,
        ),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("actor_user_id", sa.String(128)),
        sa.Column("actor_org_id", sa.String(64)),
        sa.Column("subject_org_id", sa.String(64)),
        sa.Column("before", pg.JSONB()),
        sa.Column("after", pg.JSONB()),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.UniqueConstraint("source", "event_id", name="uq_timeline_entry_source"),
    )
    op.create_index(
        "ix_timeline_entry_trade_occurred", "timeline_entry", ["trade_id", "occurred_at", "id"]
    )
    # The history is append-only for every client of the database, not only for this code.
    op.execute(
        """
        CREATE FUNCTION timeline_entry_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'timeline_entry is append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER timeline_entry_is_append_only BEFORE UPDATE OR DELETE ON timeline_entry
        FOR EACH ROW EXECUTE FUNCTION timeline_entry_is_append_only()
        """
    )

    task_rule = op.create_table(
        "task_rule",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("match", pg.JSONB(), nullable=False),
        sa.Column("direction", sa.String(10)),
        sa.Column("assignee_role", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("due_in_hours", sa.Integer()),
        sa.Column("enabled", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_task_rule_event_type", "task_rule", ["event_type"])
    op.bulk_insert(
        task_rule,
        [
            {
                "id": "export-si-received-register-ecr",
                "event_type": "form.sent",
                "match": {"form_type": "UL040"},
                "direction": "export",
                "assignee_role": "forwarder",
                "title": "Register ECR (export cargo information) in NACCS",
                "description": "The shipping instructions (S/I, UL040) arrived: register the export"
                " cargo with ECR so the booking and vanning can proceed.",
                "due_in_hours": 24,
                "enabled": True,
            },
            {
                "id": "export-permit-arrange-cy-delivery",
                "event_type": "naccs.permit",
                "match": {"direction": "export"},
                "direction": "export",
                "assignee_role": "forwarder",
                "title": "Arrange delivery of the container to the CY",
                "description": "The export permit (輸出許可) was issued: book the trucker and send"
                " the container receiving slip (UL090) to the terminal before the CY cut.",
                "due_in_hours": 24,
                "enabled": True,
            },
            {
                "id": "import-permit-arrange-delivery",
                "event_type": "naccs.permit",
                "match": {"direction": "import"},
                "direction": "import",
                "assignee_role": "forwarder",
                "title": "Arrange pick-up from the CY and delivery to the consignee",
                "description": "The import permit (輸入許可) was issued: book the trucker and the"
                " delivery order before free time runs out.",
                "due_in_hours": 24,
                "enabled": True,
            },
        ],
    )

    op.create_table(
        "task",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "trade_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("trade.id", name="fk_task_trade_id_trade"),
            nullable=False,
        ),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("assignee_org_id", sa.String(64), nullable=False),
        sa.Column("assignee_user_id", sa.String(128)),
        sa.Column("due_at", TZ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by_org_id", sa.String(64)),
        sa.Column("created_by_user_id", sa.String(128)),
        sa.Column(
            "rule_id",
            sa.String(64),
            sa.ForeignKey("task_rule.id", name="fk_task_rule_id_task_rule"),
        ),
        sa.Column("source_event_id", sa.String(64)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("completed_at", TZ),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'done', 'cancelled')", name="ck_task_status"
        ),
    )
    op.create_index("ix_task_trade_created", "task", ["trade_id", "created_at", "id"])
    op.create_index(
        "ix_task_assignee_open",
        "task",
        ["assignee_org_id", "due_at"],
        postgresql_where=sa.text("status IN ('open', 'in_progress')"),
    )
    op.create_index(
        "uq_task_rule_event",
        "task",
        ["rule_id", "source_event_id"],
        unique=True,
        postgresql_where=sa.text("rule_id IS NOT NULL"),
    )

    op.create_table(
        "task_comment",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "task_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("task.id", name="fk_task_comment_task_id_task"),
            nullable=False,
        ),
        sa.Column("author_org_id", sa.String(64), nullable=False),
        sa.Column("author_user_id", sa.String(128), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_task_comment_task_id", "task_comment", ["task_id"])

    op.create_table(
        "message_thread",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "trade_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("trade.id", name="fk_message_thread_trade_id_trade"),
            nullable=False,
        ),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("member_org_ids", pg.ARRAY(sa.String(64))),
        sa.Column("created_by_org_id", sa.String(64), nullable=False),
        sa.Column("created_by_user_id", sa.String(128), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_message_at", TZ, nullable=False),
    )
    op.create_index(
        "ix_message_thread_trade_last", "message_thread", ["trade_id", "last_message_at"]
    )
    op.create_table(
        "message",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "thread_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("message_thread.id", name="fk_message_thread_id_message_thread"),
            nullable=False,
        ),
        sa.Column(
            "trade_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("trade.id", name="fk_message_trade_id_trade"),
            nullable=False,
        ),
        sa.Column("author_org_id", sa.String(64), nullable=False),
        sa.Column("author_user_id", sa.String(128), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("mentions", pg.JSONB(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_message_thread_created", "message", ["thread_id", "created_at", "id"])
    op.create_table(
        "message_read",
        sa.Column(
            "thread_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("message_thread.id", name="fk_message_read_thread_id_message_thread"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.String(128), primary_key=True),
        sa.Column("read_at", TZ, nullable=False),
    )

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
        sa.CheckConstraint("(lease_token IS NULL) = (leased_until IS NULL)", name="ck_outbox_message_lease_pair"),
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
    op.drop_table("message_read")
    op.drop_table("message")
    op.drop_table("message_thread")
    op.drop_table("task_comment")
    op.drop_table("task")
    op.drop_table("task_rule")
    op.execute("DROP TRIGGER timeline_entry_is_append_only ON timeline_entry")
    op.execute("DROP FUNCTION timeline_entry_is_append_only()")
    op.drop_table("timeline_entry")
    op.drop_table("trade_participant")
    op.drop_table("trade_container")
    op.drop_table("trade")
    op.execute("DROP SEQUENCE trade_number_seq")
