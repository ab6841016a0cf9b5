from naccs_bridge.db.models import NaccsBridgeBase
from shared.migrations import run_migrations

run_migrations(NaccsBridgeBase.metadata)
