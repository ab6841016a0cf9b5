"""notifications settings (env prefix ``NOTIFICATIONS_``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", env_file=".env", extra="ignore")

    service_name: str = "notifications"
