"""naccs_bridge settings (env prefix ``NACCS_BRIDGE_``)."""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from naccs_bridge.domain.charset import Charset
from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NACCS_BRIDGE_", env_file=".env", extra="ignore")

    service_name: str = "naccs_bridge"

    # The NACCS channel (the stand-in in development): telegrams as bytes over HTTP.
    naccs_url: str | None = None
    naccs_charset: Charset = Charset.SHIFT_JIS  # per channel (domain note §1.6)
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

    # Other Minato services (the devstack passes each as <PREFIX><OTHER>_URL), called with this
    # service's own token (client credentials, ``shared.service_auth``).
    gateway_url: str | None = None  # identity: the sending user's NACCS credentials
    trades_url: str | None = None  # who participates in a trade
    forms_url: str | None = None  # the trade's forms as a bundle
    notifications_url: str | None = None  # events go to its POST /internal/events
    events_url: str | None = None  # overrides notifications_url + /internal/events
    # Results and permits also belong on the trade's timeline (and drive its task and status rules).
    events_to_trades_timeline: bool = True
    # ... and their customs status on the trade's Cyber Port forms (forms' ``POST /internal/events``
    # writes the read-only ``naccs_status`` section from events of the bridge only).
    events_to_forms: bool = True
    token_url: str | None = None
    service_client_id: str | None = None
    service_client_secret: SecretStr | None = None
    # Development only: subject → "利用者ID:password", used instead of the gateway when set.
    dev_naccs_credentials: dict[str, str] = Field(default_factory=dict)

    @property
    def events_target(self) -> str | None:
        if self.events_url:
            return self.events_url
        if self.notifications_url:
            return self.notifications_url.rstrip("/") + "/internal/events"
        return None

    @property
    def event_targets(self) -> list[str]:
        """Every receiver of the bridge's events: notifications, the trades timeline, and the forms
        (customs status write-back). Each deduplicates by event id."""
        targets = [self.events_target] if self.events_target else []
        if self.events_to_trades_timeline and self.trades_url:
            targets.append(self.trades_url.rstrip("/") + "/internal/events")
        if self.events_to_forms and self.forms_url:
            targets.append(self.forms_url.rstrip("/") + "/internal/events")
        return targets

    @model_validator(mode="after")
    def _lease_outlives_a_request(self) -> Self:
        if self.send_lease_s <= self.naccs_timeout_s:
            raise ValueError("send_lease_s must be longer than naccs_timeout_s")
        return self
