"""Stand-in settings (env prefix ``NACCS_STANDIN_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

# The bridge's data files, read as data (never imported): the stand-in checks items the way NACCS does.
DEFAULT_MAPS_DIR = Path(__file__).resolve().parents[2] / "naccs_bridge" / "naccs_bridge" / "maps"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="NACCS_STANDIN_", env_file=".env", extra="ignore", frozen=True
    )

    service_name: str = "naccs_standin"
    seed: int = 20261122  # with the order of inputs, decides every number and examination category
    permit_delay_s: float = Field(default=60.0, ge=0)  # 審査区分 1; 区分 2/3 take 2x/3x as long
    charset: str = "shift_jis"  # the channel's encoding (domain note §1.6: a per-channel setting)
    maps_dir: Path = DEFAULT_MAPS_DIR
    # 利用者ID (8) → password. Empty: any 利用者ID with any password is accepted (development).
    users: dict[str, str] = Field(default_factory=dict)
    # The file route by directory: files dropped here are processed, then moved to ``done/``.
    inbox_dir: Path | None = None
