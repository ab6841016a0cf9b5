"""Two handles on the embedded server in one process: releasing one must not stop the other's."""

from __future__ import annotations

import asyncio

from shared.devstack.postgres import server_version, start_postgres
from shared.testing.plugin import REPO_ROOT


def test_releasing_one_handle_keeps_the_server_for_the_other() -> None:
    # external_url="" asks for the embedded server even when DATABASE_URL is set.
    first = start_postgres(REPO_ROOT / ".data" / "pg-test", external_url="")
    second = start_postgres(REPO_ROOT / ".data" / "pg-test", external_url="")
    assert first.embedded
    assert second.embedded
    try:
        second.release()
        assert asyncio.run(server_version(first.admin_url))
    finally:
        first.release()
