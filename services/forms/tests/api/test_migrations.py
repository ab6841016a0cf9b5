"""The migrations build exactly the schema the ORM models describe (no drift either way)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from forms.db.models import FormsBase
from shared.db import to_async_url


async def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_async_engine(to_async_url(database_url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}),
                    FormsBase.metadata,
                )
            )
    finally:
        await engine.dispose()
    assert differences == []
