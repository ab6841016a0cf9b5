"""The trades OpenAPI document: what the gateway merges into the platform's docs."""

from __future__ import annotations

from typing import Any

import httpx


async def test_document_declares_the_contract(client: httpx.AsyncClient) -> None:
    doc: dict[str, Any] = (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    public = [p for p in paths if p.startswith("/api/v1/trades")]
    internal = [p for p in paths if p.startswith("/internal/")]
    assert set(paths) - {"/healthz", "/readyz"} == set(public) | set(internal)
    assert "/internal/trades/{trade_id}/access" in internal
    assert "/internal/events" in internal

    def header_names(operation: dict[str, Any]) -> set[str]:
        return {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}

    for path, method in [
        ("/api/v1/trades", "post"),
        ("/api/v1/trades/{trade_id}/participants", "post"),
        ("/api/v1/trades/{trade_id}/tasks", "post"),
        ("/api/v1/trades/{trade_id}/threads", "post"),
        ("/api/v1/trades/{trade_id}/threads/{thread_id}/messages", "post"),
    ]:
        assert "Idempotency-Key" in header_names(paths[path][method]), path
    for path, method in [
        ("/api/v1/trades/{trade_id}", "patch"),
        ("/api/v1/trades/{trade_id}/status", "post"),
        ("/api/v1/trades/{trade_id}/tasks/{task_id}", "patch"),
    ]:
        operation = paths[path][method]
        assert "If-Match" in header_names(operation), path
        assert {"412", "428"} <= set(operation["responses"]), path
    for path_item in paths.values():
        for operation in path_item.values():
            assert operation.get("description") or operation.get("summary"), operation[
                "operationId"
            ]
