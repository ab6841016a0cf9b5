"""Two gateway replicas starting at the same moment against one database both come up.

Each provisions the service clients (and in dev the demo operator) at start; without coordination both
find a client missing, both insert it, and one replica dies on the unique key.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from gateway.app import create_app
from gateway.db.models import ApiClient, User
from shared.db import make_engine

from .conftest import MailSink, settings_for


async def test_replicas_starting_together_provision_each_client_once(
    database_url: str, keys_dir: Path, smtp_sink: MailSink, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    clients = {f"replica{run}x{i}": f"secret-{i}-{run}" for i in range(8)}
    operator = f"operator-{run}@demo.minato.dev"
    apps = [
        create_app(
            settings_for(
                database_url,
                keys_dir,
                smtp_sink,
                environment="dev",
                service_clients=clients,
                demo_operator_email=operator,
                demo_operator_password="a demo password for replicas",
                hash_concurrency=1,
            )
        )
        for _ in range(2)
    ]

    async def start_and_stop(app: FastAPI) -> None:
        async with LifespanManager(app):
            pass

    try:
        await asyncio.gather(*(start_and_stop(app) for app in apps))
    finally:
        engine = make_engine(database_url, application_name="gateway-tests")
        try:
            async with async_sessionmaker(engine)() as session:
                ids = [f"svc-{name}" for name in clients]
                found = (
                    await session.scalars(
                        select(ApiClient.client_id).where(ApiClient.client_id.in_(ids))
                    )
                ).all()
                users = (
                    await session.scalars(select(User.email).where(User.email == operator))
                ).all()
                await session.execute(delete(ApiClient).where(ApiClient.client_id.in_(ids)))
                await session.execute(delete(User).where(User.email == operator))
                await session.commit()
        finally:
            await engine.dispose()
    assert sorted(found) == sorted(ids)
    assert users == [operator]
