from notifications.db.models import NotificationsBase
from shared.migrations import run_migrations

run_migrations(NotificationsBase.metadata)
