from gateway.db.models import GatewayBase
from shared.migrations import run_migrations

run_migrations(GatewayBase.metadata)
