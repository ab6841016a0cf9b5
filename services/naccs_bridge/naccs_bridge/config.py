"""naccs_bridge settings (env prefix ``NACCS_BRIDGE_``)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NACCS_BRIDGE_", env_file=".env", extra="ignore")

    service_name: str = "naccs_bridge"
