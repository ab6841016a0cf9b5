"""pruning indexes: idle login-throttle counters and expired idempotency keys are deleted in batches

Revision ID: gateway0003
Revises: gateway0002
Create Date: 2026-11-22 08:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "gateway0003"
down_revision: str | None = "gateway0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_auth_throttle_last_failure_at", "auth_throttle", ["last_failure_at"], unique=False
    )
    op.create_index(
        "ix_idempotency_record_created_at", "idempotency_record", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_idempotency_record_created_at", table_name="idempotency_record")
    op.drop_index("ix_auth_throttle_last_failure_at", table_name="auth_throttle")
