"""forms settings (env prefix ``FORMS_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FORMS_", env_file=".env", extra="ignore")

    service_name: str = "forms"
    # The trades service answers "may this caller see this trade?" on every request.
    trades_url: str = "http://127.0.0.1:8001"
    trades_timeout_s: float = Field(default=3.0, gt=0)
    # This service's own token for internal calls: client credentials at the gateway (the devstack
    # sets these three), or else a fixed token.
    token_url: str | None = None
    service_client_id: str = "svc-forms"
    service_client_secret: SecretStr | None = None
    service_token: SecretStr | None = None
    # Events leave through the outbox; the relay runs in the process (any number of replicas may).
    # They go to the notifications service's ``POST /internal/events``; unset, they wait in the outbox.
    outbox_relay_enabled: bool = True
    events_url: str | None = None
    notifications_url: str | None = None
    events_to_trades_timeline: bool = True
    outbox_poll_interval_s: float = Field(default=5.0, gt=0)
    outbox_batch_size: int = Field(default=100, ge=1, le=1000)
    outbox_lease_s: float = Field(default=60.0, gt=0)
    outbox_max_attempts: int = Field(default=20, ge=1)
    events_timeout_s: float = Field(default=15.0, gt=0)
    outbox_delivered_retention_days: float = Field(default=7.0, gt=0)
    # Expired Idempotency-Keys (kept 24 h) and old delivered events are purged this often.
    housekeeping_interval_s: float = Field(default=900.0, gt=0)
    # Attachments live in PostgreSQL (bytea, a table of their own); keep them document-sized.
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    page_size_default: int = Field(default=50, ge=1)
    page_size_max: int = Field(default=200, ge=1)

    @property
    def event_targets(self) -> list[str]:
        """Where each event goes: the notifications service (notifications, webhooks) and the
        trades service (the trade's timeline, its task rules). Both deduplicate by event id."""
        targets = []
        if self.events_url:
            targets.append(self.events_url)
        elif self.notifications_url:
            targets.append(self.notifications_url.rstrip("/") + "/internal/events")
        if self.events_to_trades_timeline:
            targets.append(self.trades_url.rstrip("/") + "/internal/events")
        return targets
