"""wake the dispatcher: NOTIFY on new webhook deliveries, mail and inbound messages

Revision ID: notifications0006
Revises: notifications0005
Create Date: 2026-12-04 20:00:00
"""

from collections.abc import Sequence

from alembic import op

from shared.outbox import drop_notify_trigger_sql, notify_trigger_sql

revision: str = "notifications0006"
down_revision: str | None = "notifications0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The dispatcher's work tables. A statement trigger NOTIFYs ``notifications_dispatch`` after inserts
# (one notification per transaction); the dispatcher LISTENs and polls as the fallback
# (``notifications.domain.delivery.DISPATCH_CHANNEL``).
CHANNEL = "notifications_dispatch"
TABLES = ("webhook_deliveries", "outgoing_emails", "inbound_messages")


def upgrade() -> None:
    for table in TABLES:
        for statement in notify_trigger_sql(table, CHANNEL):
            op.execute(statement)


def downgrade() -> None:
    for table in TABLES:
        for statement in drop_notify_trigger_sql(table):
            op.execute(statement)
