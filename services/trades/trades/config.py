"""trades settings (env prefix ``TRADES_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRADES_", env_file=".env", extra="ignore")

    service_name: str = "trades"

    # The outbox relay runs inside the process; any number of replicas may run it.
    outbox_relay_enabled: bool = True
    # Where events go: the notifications service's ``POST /internal/events`` (``events_url``, or
    # derived from ``notifications_url``). Unset: events wait in the outbox and the relay does not start.
    events_url: str | None = None
    notifications_url: str | None = None
    # This service's own token for internal calls: by client credentials at the gateway (all three
    # set, as the devstack and deploy/ do), else a fixed ``service_token``.
    token_url: str | None = None
    service_client_id: str | None = None
    service_client_secret: SecretStr | None = None
    service_token: SecretStr | None = None
    outbox_poll_interval_s: float = Field(default=5.0, gt=0)
    outbox_batch_size: int = Field(default=100, ge=1, le=1000)
    outbox_lease_s: float = Field(default=60.0, gt=0)
    outbox_max_attempts: int = Field(default=20, ge=1)
    events_timeout_s: float = Field(default=15.0, gt=0)
    # Housekeeping runs this often: expired Idempotency-Keys (ignored once expired anyway) and
    # outbox rows delivered more than ``outbox_delivered_retention_days`` ago are deleted.
    idempotency_purge_interval_s: float = Field(default=900.0, gt=0)
    outbox_delivered_retention_days: float = Field(default=7.0, gt=0)

    @property
    def events_target(self) -> str | None:
        if self.events_url:
            return self.events_url
        if self.notifications_url:
            return self.notifications_url.rstrip("/") + "/internal/events"
        return None
