from naccs_standin.db import StandinBase
from shared.migrations import run_migrations

run_migrations(StandinBase.metadata)
