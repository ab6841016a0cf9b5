"""One OpenAPI document for the whole platform: the gateway's own paths plus every service's.

Each service's document is fetched from the service, filtered to the paths the gateway routes to it,
tagged by service, and its component schemas are renamed ``<service>__<Name>`` (with every ``$ref``
rewritten) so two services' models of the same name cannot collide. A service that is down is listed
in ``x-unavailable-services`` instead of failing the whole document.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from gateway.proxy import Route

SCHEMA_REF = "#/components/schemas/"


def _rewrite_refs(node: Any, rename: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(SCHEMA_REF):
                name = value[len(SCHEMA_REF) :]
                out[key] = SCHEMA_REF + rename.get(name, name)
            else:
                out[key] = _rewrite_refs(value, rename)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, rename) for item in node]
    return node


def merge_documents(
    gateway_doc: dict[str, Any],
    service_docs: dict[str, dict[str, Any]],
    routes: list[Route],
    unavailable: list[str],
) -> dict[str, Any]:
    merged = dict(gateway_doc)
    paths: dict[str, Any] = {
        path: _tag_operations(item, "gateway")
        for path, item in gateway_doc.get("paths", {}).items()
    }
    schemas: dict[str, Any] = dict(gateway_doc.get("components", {}).get("schemas", {}))
    tags: list[dict[str, str]] = [{"name": "gateway", "description": "Identity, tokens, health"}]
    for service, doc in sorted(service_docs.items()):
        own_prefixes = [r.prefix for r in routes if r.service == service]
        upstream_schemas = doc.get("components", {}).get("schemas", {})
        rename = {name: f"{service}__{name}" for name in upstream_schemas}
        for name, schema in upstream_schemas.items():
            schemas[rename[name]] = _rewrite_refs(schema, rename)
        for path, item in doc.get("paths", {}).items():
            if not any(path == p or path.startswith(p + "/") for p in own_prefixes):
                continue  # health endpoints and anything the gateway does not expose
            paths[path] = _tag_operations(_rewrite_refs(item, rename), service)
        tags.append({"name": service, "description": doc.get("info", {}).get("title", service)})
    merged["paths"] = paths
    merged["tags"] = tags
    merged.setdefault("components", {})
    merged["components"] = {**merged["components"], "schemas": schemas}
    if unavailable:
        merged["x-unavailable-services"] = sorted(unavailable)
    return merged


def _tag_operations(path_item: dict[str, Any], service: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for method, operation in path_item.items():
        if isinstance(operation, dict) and method in {
            "get",
            "put",
            "post",
            "delete",
            "patch",
            "head",
            "options",
        }:
            original = [t for t in operation.get("tags", []) if t != service]
            operation = {**operation, "tags": [service], "x-service": service}
            if original:
                operation["x-original-tags"] = original
            op_id = operation.get("operationId")
            if op_id and service != "gateway":
                operation["operationId"] = f"{service}__{op_id}"
        out[method] = operation
    return out


class OpenAPIMerger:
    def __init__(
        self, upstreams: dict[str, list[str]], routes: list[Route], cache_s: float
    ) -> None:
        # Service -> its replicas' URLs; any one of them serves the document.
        self.upstreams = upstreams
        self.routes = routes
        self.cache_s = cache_s
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def document(self, gateway_doc: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            now = time.monotonic()
            if self._cached and now - self._cached[0] < self.cache_s:
                return self._cached[1]
            docs, unavailable = await self._fetch_all()
            merged = merge_documents(gateway_doc, docs, self.routes, unavailable)
            # A partial document is not cached, so a service that comes up appears at once.
            if not unavailable:
                self._cached = (now, merged)
            return merged

    async def _fetch_all(self) -> tuple[dict[str, dict[str, Any]], list[str]]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(3.0)) as client:

            async def fetch(name: str, urls: list[str]) -> tuple[str, dict[str, Any] | None]:
                for base in urls:
                    try:
                        response = await client.get(base.rstrip("/") + "/openapi.json")
                        response.raise_for_status()
                        body = response.json()
                    except (httpx.HTTPError, ValueError):
                        continue
                    if isinstance(body, dict):
                        return name, body
                return name, None

            results = await asyncio.gather(
                *(fetch(name, urls) for name, urls in self.upstreams.items())
            )
        docs = {name: doc for name, doc in results if doc is not None}
        unavailable = [name for name, doc in results if doc is None]
        return docs, unavailable
