"""Where the operator's tokens live between commands: ``MINATO_TOKEN``, or a 0600 file under
``$XDG_CONFIG_HOME/minato`` (``~/.config/minato``), one entry per gateway URL."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

TOKEN_ENV = "MINATO_TOKEN"  # noqa: S105 - the variable's name, not a secret
# Refresh this many seconds before the access token expires, so a command never starts with a token
# that dies on its way through the gateway.
EXPIRY_MARGIN_S = 30


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "minato"


def token_file() -> Path:
    return config_dir() / "tokens.json"


@dataclass
class StoredLogin:
    email: str
    access_token: str
    refresh_token: str | None
    expires_at: float  # unix time

    def fresh(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) < self.expires_at - EXPIRY_MARGIN_S


def _read_all() -> dict[str, Any]:
    path = token_file()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load(url: str) -> StoredLogin | None:
    entry = _read_all().get(url.rstrip("/"))
    if not isinstance(entry, dict):
        return None
    try:
        return StoredLogin(**entry)
    except TypeError:
        return None


def save(url: str, login: StoredLogin) -> Path:
    data = _read_all()
    data[url.rstrip("/")] = asdict(login)
    _write(data)
    return token_file()


def forget(url: str) -> bool:
    data = _read_all()
    removed = data.pop(url.rstrip("/"), None) is not None
    if removed:
        _write(data)
    return removed


def _write(data: dict[str, Any]) -> None:
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created 0600 before anything is written, so the tokens are never readable by others.
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
