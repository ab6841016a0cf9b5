"""the copy triggers plan each lookup for the table as it is now (force_custom_plan)

PL/pgSQL caches a generic plan per connection after five calls. When those calls happen while
``trade`` is tiny (a new deployment, a test database), the cached plan is a sequential scan, and it
is kept when the table grows: a bulk insert of participants then scans ``trade`` once per row
(10,000 rows took 5.3 s instead of 0.6 s; 100,000 did not finish in five minutes). A custom plan
per call costs a few microseconds of planning and always uses the primary key once the table is
large.

Revision ID: trades0008
Revises: trades0007
Create Date: 2026-12-04 20:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "trades0008"
down_revision: str | None = "trades0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = (
    "trade_participant_fill_trade_status",
    "trade_participant_fill_trade_etd",
    "trade_status_to_participants",
    "trade_etd_to_participants",
)


def upgrade() -> None:
    for name in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {name}() SET plan_cache_mode = force_custom_plan")


def downgrade() -> None:
    for name in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {name}() RESET plan_cache_mode")
