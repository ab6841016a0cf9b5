from __future__ import annotations

import pytest

from shared.devstack.postgres import PostgresHandle, ensure_database


@pytest.fixture(scope="session")
def shared_database_url(postgres_server: PostgresHandle) -> str:
    """A database with no migrations, for the shared package's own tests (they make their tables)."""
    ensure_database(postgres_server.admin_url, "minato_test_shared", recreate=True)
    return postgres_server.url_for("minato_test_shared")
