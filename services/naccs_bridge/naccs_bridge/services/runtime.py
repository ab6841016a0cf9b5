"""What the endpoints and workers share: the channel to NACCS, the other services' clients, the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request

from naccs_bridge.clients.forms import TradeForms
from naccs_bridge.clients.identity import CredentialsProvider
from naccs_bridge.clients.naccs import NaccsChannel
from naccs_bridge.clients.trades import TradeAccess
from naccs_bridge.config import Settings

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    channel: NaccsChannel
    credentials: CredentialsProvider
    trades: TradeAccess
    forms: TradeForms
    clock: Clock = utcnow


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime
