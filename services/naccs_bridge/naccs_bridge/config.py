"""naccs_bridge settings (env prefix ``NACCS_BRIDGE_``)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NACCS_BRIDGE_", env_file=".env", extra="ignore")

    service_name: str = "naccs_bridge"

    # The NACCS channel (the stand-in in development): telegrams as bytes over HTTP.
    naccs_url: str | None = None
    naccs_charset: str = "shift_jis"  # per channel (domain note §1.6)
    naccs_timeout_s: float = Field(default=20.0, gt=0)
    # A row stuck in ``sending`` longer than this is resolved by asking NACCS about its 入力情報特定番号.
    # Longer than the channel timeout, so the original request is certainly over by then.
    send_lease_s: float = Field(default=60.0, gt=0)
    send_backoff_base_s: float = Field(default=2.0, gt=0)
    send_backoff_cap_s: float = Field(default=300.0, gt=0)
    worker_poll_interval_s: float = Field(default=1.0, gt=0)
    run_workers: bool = True  # the send queue and the output-message poller run in this process
    # 出力情報コード of permit notices → what they permit (the stand-in's codes; 🔶 real ones not public).
    permit_output_codes: dict[str, str] = Field(
        default_factory=lambda: {"SAE0030": "export", "SAD0030": "import"}
    )

    # Other Minato services, called with this service's client-credentials token.
    gateway_url: str | None = None  # identity: NACCS credentials (scope naccs:credentials), tokens
    trades_url: str | None = None  # who participates in a trade
    forms_url: str | None = None  # the trade's forms as a bundle
    events_url: str | None = None  # notifications' POST /internal/events (outbox relay)
    service_client_id: str = "naccs_bridge"
    service_client_secret: SecretStr = SecretStr("dev-only-naccs-bridge-client-secret")
    # Development only: subject → "利用者ID:password", used when no gateway is configured.
    dev_naccs_credentials: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _lease_outlives_a_request(self) -> Self:
        if self.send_lease_s <= self.naccs_timeout_s:
            raise ValueError("send_lease_s must be longer than naccs_timeout_s")
        return self
