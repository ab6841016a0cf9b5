"""Settings base for every service: pydantic-settings, one env prefix per service, a guard against dev secrets."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that exist only so a fresh clone runs; a deployed environment must set its own.
DEV_SECRET_MARKER = "dev-only-"  # noqa: S105 - a marker, not a secret


class Environment(StrEnum):
    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class ServiceSettings(BaseSettings):
    """Common settings. Each service subclasses this with its own ``env_prefix``."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    service_name: str = "minato"
    environment: Environment = Environment.DEV
    log_level: str = "INFO"
    log_json: bool = True
    access_log: bool = True
    database_url: str | None = None
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)

    # Token verification (offline, against the gateway's JWKS).
    jwt_issuer: str = "minato-gateway"
    jwt_audience: str = "minato"
    jwks_url: str | None = None

    # Peers that run as several processes: a first replica's URL (as given in ``trades_url``,
    # ``jwks_url``, ...) -> every replica's URL; calls are spread over them (``shared.http``). For
    # bare metal, compose and dev; in Kubernetes a Service already balances, leave it empty.
    peer_replicas: dict[str, list[str]] = Field(default_factory=dict)

    # Traces go to this OTLP/HTTP collector (base URL, e.g. http://otel-collector:4318); unset, the
    # standard OTEL_EXPORTER_OTLP_ENDPOINT is used, and without either tracing is off.
    otlp_endpoint: str | None = None

    @model_validator(mode="after")
    def _refuse_dev_secrets_outside_dev(self) -> Self:
        if self.environment is Environment.PROD:
            for name, value in self:
                where = _dev_secret_in(value, name)
                if where:
                    raise ValueError(
                        f"{where} still has its development default; set it for {self.environment}"
                    )
        return self

    @property
    def is_dev(self) -> bool:
        return self.environment is not Environment.PROD


def _dev_secret_in(value: object, path: str) -> str | None:
    """The path of a development default secret inside ``value`` (also inside dicts and lists)."""
    if isinstance(value, SecretStr):
        return path if value.get_secret_value().startswith(DEV_SECRET_MARKER) else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _dev_secret_in(item, f"{path}.{key}")
            if found:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _dev_secret_in(item, f"{path}[{index}]")
            if found:
                return found
    return None
