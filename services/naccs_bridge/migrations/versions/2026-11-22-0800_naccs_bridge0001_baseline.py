"""baseline: the naccs_bridge database exists and is under Alembic's control

Revision ID: naccs_bridge0001
Revises:
Create Date: 2026-11-22 08:00:00
"""

from collections.abc import Sequence

revision: str = "naccs_bridge0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
