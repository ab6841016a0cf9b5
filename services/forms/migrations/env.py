from forms.db.models import FormsBase
from shared.migrations import run_migrations

run_migrations(FormsBase.metadata)
