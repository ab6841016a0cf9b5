"""Gateway settings (env prefix ``GATEWAY_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    service_name: str = "gateway"
    # service name -> base URL, e.g. {"trades": "http://127.0.0.1:8001"}
    upstreams: dict[str, str] = Field(default_factory=dict)
    # public path prefix -> service name, e.g. {"/api/v1/trades": "trades"}
    routes: dict[str, str] = Field(default_factory=dict)
    upstream_connect_timeout_s: float = Field(default=2.0, gt=0)
    upstream_read_timeout_s: float = Field(default=30.0, gt=0)
    upstream_pool_size: int = Field(default=100, ge=1)
    max_request_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    openapi_cache_s: float = Field(default=10.0, ge=0)
    # Where signing keys live (PEM). In dev and tests a key is generated when none exists.
    keys_dir: Path = Path(".data/keys")
    access_token_ttl_s: int = Field(default=600, ge=30, le=3600)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
