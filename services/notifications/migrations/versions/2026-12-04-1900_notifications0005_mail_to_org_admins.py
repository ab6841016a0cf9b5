"""mail addressed to an organisation's administrators, expanded to addresses when sent

Revision ID: notifications0005
Revises: notifications0004
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "notifications0005"
down_revision: str | None = "notifications0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outgoing_emails", sa.Column("to_org_admins", sa.String(200)))
    op.alter_column("outgoing_emails", "to_address", nullable=True)
    op.create_check_constraint(
        op.f("ck_outgoing_emails_one_recipient"),
        "outgoing_emails",
        "(to_address IS NULL) <> (to_org_admins IS NULL)",
    )
    op.create_unique_constraint(
        op.f("uq_outgoing_emails_event_id_org_admins"),
        "outgoing_emails",
        ["event_id", "to_org_admins"],
    )


def downgrade() -> None:
    op.execute("DELETE FROM outgoing_emails WHERE to_org_admins IS NOT NULL")
    op.drop_constraint(op.f("uq_outgoing_emails_event_id_org_admins"), "outgoing_emails")
    op.drop_constraint(op.f("ck_outgoing_emails_one_recipient"), "outgoing_emails")
    op.alter_column("outgoing_emails", "to_address", nullable=False)
    op.drop_column("outgoing_emails", "to_org_admins")
