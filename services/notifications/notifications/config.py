"""notifications settings (env prefix ``NOTIFICATIONS_``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import DEV_SECRET_MARKER, ServiceSettings

# Standard Webhooks' example schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h,
# i.e. ten attempts over 75 h 35 min ("about three days"), each delay with jitter on top.
DEFAULT_RETRY_SCHEDULE_S: tuple[float, ...] = (
    0,
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    14 * 3600,
    20 * 3600,
    24 * 3600,
)


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", env_file=".env", extra="ignore")

    service_name: str = "notifications"
    # Kept connections: the event intake (the relays publish several events at a time) and the
    # dispatcher (claim, send, record overlapped) together use more than the shared default of
    # 10, and every overflow connection was opened and closed again, its prepared statements with
    # it (bench/webhook_fanout.py).
    db_pool_size: int = Field(default=20, ge=1)

    # Other services (internal HTTP). This service's own token comes from the gateway by client
    # credentials (NOTIFICATIONS_TOKEN_URL, _SERVICE_CLIENT_ID, _SERVICE_CLIENT_SECRET, read by
    # shared.service_auth); ``service_token`` is a fixed token for tests and single-process setups.
    trades_url: str | None = None
    # Ask the trades service who participates (GET /internal/trades/{id}/participants). Off: the
    # audience of an event comes from membership projected from the trades service's events.
    trades_participants_api: bool = True
    forms_url: str | None = None
    # The gateway, for the administrators of an organisation (mail they must not miss).
    gateway_url: str | None = None
    service_token: SecretStr | None = None

    # Outbox relay: events for other services (vessel_schedule.updated to trades' /internal/events).
    # Off without ``trades_url``; the rows then wait in the outbox.
    outbox_relay_enabled: bool = True
    outbox_poll_interval_s: float = Field(default=2.0, gt=0)
    outbox_batch_size: int = Field(default=100, ge=1, le=1000)
    outbox_lease_s: float = Field(default=60.0, gt=0)
    outbox_max_attempts: int = Field(default=20, ge=1)
    outbox_timeout_s: float = Field(default=10.0, gt=0)

    # Outbound webhooks.
    webhook_allow_private_targets: bool = False  # only for development and tests (SSRF guard off)
    webhook_timeout_s: float = Field(default=15.0, gt=0, le=30)
    webhook_connect_timeout_s: float = Field(default=5.0, gt=0, le=30)
    webhook_retry_schedule_s: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE_S
    webhook_retry_jitter: float = Field(default=0.2, ge=0, le=1)  # ±20 % of each delay
    webhook_max_payload_bytes: int = Field(default=64 * 1024, ge=1024)
    webhook_disable_after_s: float = Field(default=5 * 24 * 3600, gt=0)  # failing this long → off
    webhook_secret_overlap_s: float = Field(default=24 * 3600, ge=0)  # old secret still signs
    webhook_max_endpoints_per_org: int = Field(default=20, ge=1)
    # Secrets are stored encrypted (AES-GCM) so a database dump alone cannot forge signatures.
    secret_encryption_key: SecretStr = SecretStr(
        DEV_SECRET_MARKER + "notifications-webhook-secrets"
    )

    # Events.
    max_event_data_bytes: int = Field(default=256 * 1024, ge=1024)

    # Background dispatcher (deliveries, mail, partner forwarding).
    dispatcher_enabled: bool = True
    dispatcher_poll_interval_s: float = Field(default=1.0, gt=0)
    dispatcher_batch_size: int = Field(default=50, ge=1, le=1000)
    dispatcher_concurrency: int = Field(default=10, ge=1, le=200)
    delivery_lease_s: float = Field(default=60.0, gt=0)
    # Finished deliveries, their attempts and sent mail are kept this long (events are kept).
    delivery_log_retention_days: float = Field(default=30, gt=0)
    housekeeping_interval_s: float = Field(default=3600, gt=0)

    # E-mail (the dev SMTP sink in development).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    mail_from: str = "Minato <no-reply@minato.dev>"
    mail_max_attempts: int = Field(default=8, ge=1)
    public_base_url: str = "http://127.0.0.1:8000"
