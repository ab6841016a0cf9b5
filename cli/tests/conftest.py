from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from minato_cli.main import Context, cli

URL = "http://gateway.test"
Handler = Callable[[httpx.Request], httpx.Response]


class FakeGateway:
    """Answers by (method, path) and remembers every request: what the CLI asked the gateway."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, status: int = 200, body: Any = None) -> None:
        content_type = "application/problem+json" if status >= 400 else "application/json"
        self.routes[(method, path)] = lambda _request: httpx.Response(
            status, json=body, headers={"content-type": content_type}
        )

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return httpx.Response(404, json={"code": "not_found", "detail": "no fake route"})
        return handler(request)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    @staticmethod
    def body(request: httpx.Request) -> Any:
        return json.loads(request.content)


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    for name in ("MINATO_TOKEN", "MINATO_URL", "MINATO_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def fake() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def run(fake: FakeGateway) -> Callable[..., Result]:
    def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        obj = Context(url=URL, transport=httpx.MockTransport(fake.handle))
        return CliRunner().invoke(cli, ["--url", URL, *args], obj=obj, env=env, input=input)

    return invoke
