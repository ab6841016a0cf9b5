from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.devstack.postgres import PostgresHandle, drop_database, ensure_database
from shared.testing.plugin import TEST_DATABASE_PREFIX


@pytest.fixture(scope="session")
def shared_database_url(postgres_server: PostgresHandle) -> Iterator[str]:
    """A database with no migrations, for the shared package's own tests (they make their tables)."""
    name = f"{TEST_DATABASE_PREFIX}_shared"
    ensure_database(postgres_server.admin_url, name, recreate=True)
    yield postgres_server.url_for(name)
    drop_database(postgres_server.admin_url, name)
