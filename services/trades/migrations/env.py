from shared.migrations import run_migrations
from trades.db.models import TradesBase

run_migrations(TradesBase.metadata)
