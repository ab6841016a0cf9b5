"""The app factory's promises, on a real database: the unit of work, problem responses, request ids, auth."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import text

from shared.auth import PrincipalDep
from shared.db import SessionDep
from shared.errors import Conflict
from shared.service import create_service_app
from shared.settings import ServiceSettings
from shared.testing.plugin import asgi_client
from shared.testing.tokens import TestIssuer


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=20)
    quantity: int = Field(gt=0)


def build_router() -> APIRouter:
    router = APIRouter()

    @router.post("/items", status_code=201)
    async def create_item(item: ItemIn, session: SessionDep) -> dict[str, str]:
        await session.execute(text("INSERT INTO uow_item (name) VALUES (:n)"), {"n": item.name})
        return {"name": item.name}

    @router.post("/items/then-conflict")
    async def create_then_fail(item: ItemIn, session: SessionDep) -> dict[str, str]:
        await session.execute(text("INSERT INTO uow_item (name) VALUES (:n)"), {"n": item.name})
        raise Conflict("refused after writing", errors=[{"field": "name", "message": "taken"}])

    @router.post("/items/twice")
    async def create_twice(item: ItemIn, session: SessionDep) -> dict[str, str]:
        # The unique constraint is DEFERRED: both inserts succeed, the COMMIT fails.
        for _ in range(2):
            await session.execute(text("INSERT INTO uow_item (name) VALUES (:n)"), {"n": item.name})
        return {"name": item.name}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals must not leak")

    @router.get("/whoami")
    async def whoami(principal: PrincipalDep) -> dict[str, str | None]:
        return {"subject": principal.subject, "org": principal.org_id}

    return router


@pytest.fixture
async def pg(shared_database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(shared_database_url)
    await conn.execute(
        "DROP TABLE IF EXISTS uow_item; CREATE TABLE uow_item (id serial PRIMARY KEY, name text,"
        " CONSTRAINT uq_uow_item_name UNIQUE (name) DEFERRABLE INITIALLY DEFERRED)"
    )
    yield conn
    await conn.execute("DROP TABLE IF EXISTS uow_item")
    await conn.close()


@pytest.fixture
def app(shared_database_url: str, token_issuer: TestIssuer) -> FastAPI:
    settings = ServiceSettings(service_name="probe", database_url=shared_database_url)
    return create_service_app(
        settings,
        title="probe",
        description="probe",
        routers=[build_router()],
        token_verifier=token_issuer.verifier(),
    )


@pytest.fixture
async def client(app: FastAPI, pg: asyncpg.Connection) -> AsyncIterator[httpx.AsyncClient]:
    async for c in asgi_client(app):
        yield c


async def names(pg: asyncpg.Connection) -> list[str]:
    return [r["name"] for r in await pg.fetch("SELECT name FROM uow_item ORDER BY id")]


class TestUnitOfWork:
    async def test_success_commits(self, client: httpx.AsyncClient, pg: asyncpg.Connection) -> None:
        response = await client.post("/items", json={"name": "crate", "quantity": 2})
        assert response.status_code == 201
        assert await names(pg) == ["crate"]

    async def test_error_after_write_rolls_back(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection
    ) -> None:
        response = await client.post("/items/then-conflict", json={"name": "drum", "quantity": 1})
        assert response.status_code == 409
        assert response.json()["code"] == "conflict"
        assert await names(pg) == []

    async def test_failed_commit_is_never_a_2xx(
        self, client: httpx.AsyncClient, pg: asyncpg.Connection
    ) -> None:
        response = await client.post("/items/twice", json={"name": "pallet", "quantity": 1})
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert await names(pg) == []


class TestProblems:
    async def test_validation_names_each_field(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/items", json={"name": "", "quantity": 0})
        assert response.status_code == 422
        body = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert body["code"] == "validation_error"
        assert {e["field"] for e in body["errors"]} == {"name", "quantity"}
        assert body["request_id"] == response.headers["x-request-id"]

    async def test_malformed_json_is_400(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/items", content=b'{"name": "x",', headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["code"] == "malformed_json"

    async def test_unknown_route_is_404_problem(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/no/such/thing")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"

    async def test_wrong_method_is_405_problem(self, client: httpx.AsyncClient) -> None:
        response = await client.delete("/items")
        assert response.status_code == 405
        assert response.json()["code"] == "method_not_allowed"

    async def test_unexpected_error_is_500_without_internals(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/boom")
        assert response.status_code == 500
        assert response.json()["code"] == "internal_error"
        assert "secret" not in response.text


class TestRequestId:
    async def test_caller_id_is_echoed(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        assert response.headers["x-request-id"] == "abc-123"

    async def test_unsafe_caller_id_is_replaced(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz", headers={"X-Request-ID": 'x" injected=1'})
        assert response.headers["x-request-id"] != 'x" injected=1'
        assert len(response.headers["x-request-id"]) == 32


class TestHealth:
    async def test_ready_checks_database(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["checks"] == {"database": "ok"}

    async def test_not_ready_when_database_is_unreachable(self, token_issuer: TestIssuer) -> None:
        settings = ServiceSettings(
            service_name="probe", database_url="postgresql://nobody@127.0.0.1:1/none"
        )
        app = create_service_app(
            settings, title="p", description="p", token_verifier=token_issuer.verifier()
        )
        async for client in asgi_client(app):
            response = await client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["code"] == "not_ready"


class TestAuthentication:
    async def test_valid_token(self, client: httpx.AsyncClient, token_issuer: TestIssuer) -> None:
        response = await client.get("/whoami", headers=token_issuer.auth(subject="u1", org_id="o1"))
        assert response.status_code == 200
        assert response.json() == {"subject": "u1", "org": "o1"}

    async def test_missing_token(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/whoami")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["code"] == "unauthenticated"


class TestMetrics:
    async def test_requests_are_counted_by_route_template(
        self, client: httpx.AsyncClient, token_issuer: TestIssuer
    ) -> None:
        await client.get("/whoami", headers=token_issuer.auth())
        await client.get("/no/such/path/42")
        text = (await client.get("/metrics")).text
        assert (
            'minato_http_requests_total{method="GET",route="/whoami",service="probe",status="200"}'
            in text
        )
        assert 'route="unmatched",service="probe",status="404"' in text
        assert "/no/such/path/42" not in text  # raw paths never become labels
        assert 'minato_db_pool_size{service="probe"}' in text
