from __future__ import annotations

from gateway.openapi import merge_documents
from gateway.proxy import Route


def service_doc(title: str, path: str, schema: str) -> dict[str, object]:
    return {
        "openapi": "3.1.0",
        "info": {"title": title},
        "paths": {
            path: {
                "get": {
                    "operationId": "get_thing",
                    "tags": ["things"],
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": f"#/components/schemas/{schema}"}
                                }
                            }
                        }
                    },
                }
            },
            "/healthz": {"get": {"operationId": "healthz"}},
        },
        "components": {"schemas": {schema: {"type": "object", "title": schema}}},
    }


def test_merges_tags_and_keeps_same_named_schemas_apart() -> None:
    routes = [
        Route("/api/v1/trades", "trades", "http://t"),
        Route("/api/v1/forms", "forms", "http://f"),
    ]
    merged = merge_documents(
        {"openapi": "3.1.0", "info": {"title": "gw"}, "paths": {"/healthz": {"get": {}}}},
        {
            "trades": service_doc("Trades", "/api/v1/trades/{id}", "Thing"),
            "forms": service_doc("Forms", "/api/v1/forms/{id}", "Thing"),
        },
        routes,
        unavailable=["notifications"],
    )
    trade_op = merged["paths"]["/api/v1/trades/{id}"]["get"]
    form_op = merged["paths"]["/api/v1/forms/{id}"]["get"]
    assert trade_op["tags"] == ["trades"]
    assert form_op["tags"] == ["forms"]
    assert trade_op["operationId"] != form_op["operationId"]
    trade_ref = trade_op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert trade_ref == "#/components/schemas/trades__Thing"
    assert {"trades__Thing", "forms__Thing"} <= set(merged["components"]["schemas"])
    # Service-internal paths are not published through the gateway.
    assert merged["paths"]["/healthz"]["get"]["tags"] == ["gateway"]
    assert merged["x-unavailable-services"] == ["notifications"]
