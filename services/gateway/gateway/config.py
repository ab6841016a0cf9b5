"""Gateway settings (env prefix ``GATEWAY_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import DEV_SECRET_MARKER, Environment, ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    service_name: str = "gateway"
    # service name -> base URL, e.g. {"trades": "http://127.0.0.1:8001"}, or a list of the replicas'
    # URLs, e.g. {"trades": ["http://10.0.0.5:8001", "http://10.0.0.6:8001"]}, taken in turn (a
    # replica that refuses connections is skipped for ``upstream_down_s``). The list is for
    # bare metal, compose and dev: in Kubernetes give the Service's one URL, the Service balances.
    upstreams: dict[str, str | list[str]] = Field(default_factory=dict)
    # public path prefix -> service name, e.g. {"/api/v1/trades": "trades"}
    routes: dict[str, str] = Field(default_factory=dict)
    upstream_connect_timeout_s: float = Field(default=2.0, gt=0)
    upstream_read_timeout_s: float = Field(default=30.0, gt=0)
    upstream_pool_size: int = Field(default=100, ge=1)  # per replica
    # How long a replica that refused a connection (or did not accept one in time) is passed over.
    upstream_down_s: float = Field(default=5.0, ge=0)
    # The client that carries proxied requests: "native" (gateway.upstream_http) or "aiohttp".
    proxy_client: Literal["native", "aiohttp"] = "native"
    max_request_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    openapi_cache_s: float = Field(default=10.0, ge=0)
    # Where signing keys live (PEM). In dev and tests a key is generated when none exists.
    keys_dir: Path = Path(".data/keys")
    # A new signing key is made when the current one is older than this (0: never); old keys stay
    # published until every token they signed has expired.
    key_rotation_days: float = Field(default=0, ge=0)
    # How often each replica re-reads keys_dir, and how long a new key is published before it signs.
    key_reload_s: float = Field(default=30, gt=0)
    key_publish_ahead_s: float = Field(default=120, ge=0)
    access_token_ttl_s: int = Field(default=600, ge=30, le=3600)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=300)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    mail_from: str = "Minato <no-reply@minato.test>"
    # Where a person opens an invitation (the token is appended as ?token=...).
    public_url: str = "http://127.0.0.1:8000"

    # Encrypts NACCS passwords and TOTP secrets at rest and peppers code digests. Refused in prod
    # while it still has its development default (ServiceSettings guard).
    secrets_key: SecretStr = SecretStr(DEV_SECRET_MARKER + "gateway-secrets-key-change-me")

    invitation_ttl_s: int = Field(default=7 * 24 * 3600, ge=300)
    enrolment_ttl_s: int = Field(default=15 * 60, ge=60)
    password_reset_ttl_s: int = Field(default=15 * 60, ge=60)
    password_reset_max_per_hour: int = Field(default=3, ge=1)
    password_reset_max_attempts: int = Field(default=5, ge=1)
    invitation_max_per_hour: int = Field(default=5, ge=1)
    # Login throttling, checked before any password hash is computed.
    login_free_failures: int = Field(default=5, ge=1)
    login_base_delay_s: int = Field(default=30, ge=1)
    login_max_lock_s: int = Field(default=30 * 60, ge=1)
    ip_window_s: int = Field(default=15 * 60, ge=1)
    ip_max_failures: int = Field(default=50, ge=1)
    # Platform operators belong to no organisation, so this says whether they need TOTP.
    operator_require_totp: bool = True
    hash_concurrency: int = Field(default=4, ge=1)

    # Internal service clients provisioned at start: service name -> client secret, each becoming
    # client ``svc-<name>`` (which also answers to the bare name). The devstack generates these per
    # run; a deployment sets them from its secret store.
    service_clients: dict[str, SecretStr] = Field(default_factory=dict)
    # Dev only: a demo platform operator seeded at start so a fresh `make run` can log in.
    demo_operator_email: str | None = None
    demo_operator_password: SecretStr | None = None

    @field_validator("upstreams")
    @classmethod
    def _at_least_one_url(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for service, urls in value.items():
            if isinstance(urls, list) and not urls:
                raise ValueError(f"upstreams[{service!r}] lists no URL")
        return value

    @property
    def upstream_replicas(self) -> dict[str, list[str]]:
        """Service name -> the URLs of its replicas (one for the single-URL form)."""
        return {
            service: [urls] if isinstance(urls, str) else list(urls)
            for service, urls in self.upstreams.items()
        }

    @model_validator(mode="after")
    def _no_dev_identities_in_prod(self) -> Self:
        # The base guard looks at top-level secrets only; these are nested or dev-only by nature.
        if self.environment is Environment.PROD:
            for name, secret in self.service_clients.items():
                if secret.get_secret_value().startswith(DEV_SECRET_MARKER):
                    raise ValueError(f"service_clients[{name!r}] still has its development secret")
            if self.demo_operator_password is not None:
                raise ValueError("demo_operator_password is for development only")
        return self
