"""Webhook endpoints of an organisation: create (secret shown once), change, rotate, replay."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.clients.trades import TradeDirectory
from notifications.config import Settings
from notifications.db.models import WebhookEndpoint
from notifications.db.repositories import EventRepository, WebhookRepository
from notifications.domain import catalogue
from notifications.domain.membership import member_can_access
from notifications.domain.runtime import Runtime
from notifications.domain.secrets import SecretBox, generate_secret
from notifications.domain.ssrf import UnsafeUrl, check_target
from notifications.schemas import ReplayIn, WebhookEndpointIn, WebhookEndpointPatch
from shared.errors import Conflict, InvalidInput, NotFound, field_error

MAX_REPLAY_EVENTS = 10_000


def url_problem(message: str) -> InvalidInput:
    return InvalidInput(
        f"Webhook URL refused: {message}",
        errors=[field_error(["url"], message, kind="unsafe_url")],
    )


class WebhookEndpoints:
    def __init__(
        self,
        session: AsyncSession,
        *,
        settings: Settings,
        runtime: Runtime,
        trades: TradeDirectory,
        secret_box: SecretBox,
    ) -> None:
        self.settings = settings
        self.runtime = runtime
        self.trades = trades
        self.box = secret_box
        self.session = session
        self.repo = WebhookRepository(session)
        self.events = EventRepository(session)

    async def _check_url(self, url: str) -> None:
        allow_private = self.settings.webhook_allow_private_targets
        try:
            await check_target(
                url,
                resolve=self.runtime.resolve,
                allow_private=allow_private,
                require_https=not allow_private,
            )
        except UnsafeUrl as exc:
            raise url_problem(str(exc)) from None

    @staticmethod
    def _check_types(event_types: list[str]) -> list[str]:
        unknown = [t for t in event_types if not catalogue.is_known_type_pattern(t)]
        if unknown:
            raise InvalidInput(
                "Unknown event types",
                errors=[
                    field_error(["event_types", i], f"{t!r} is not in the event catalogue")
                    for i, t in enumerate(event_types)
                    if t in unknown
                ],
            )
        return sorted(set(event_types))

    async def _check_trade(self, trade_id: uuid.UUID | None, org_id: str) -> None:
        # Unknown (no trades service configured) is accepted: the audience still guards delivery.
        if (
            trade_id is not None
            and await member_can_access(self.session, self.trades, trade_id, org_id) is False
        ):
            # The same answer whether the trade does not exist or the org is not in it.
            raise InvalidInput(
                "Unknown trade",
                errors=[field_error(["trade_id"], "no such trade for your organisation")],
            )

    async def create(
        self, org_id: str, created_by: str, payload: WebhookEndpointIn
    ) -> tuple[WebhookEndpoint, str]:
        event_types = self._check_types(payload.event_types)
        await self._check_url(payload.url)
        await self._check_trade(payload.trade_id, org_id)
        if await self.repo.count_endpoints(org_id) >= self.settings.webhook_max_endpoints_per_org:
            raise Conflict("Too many webhook endpoints for this organisation")
        now = self.runtime.now()
        secret = generate_secret(self.runtime.rng)
        endpoint = WebhookEndpoint(
            id=self.runtime.new_id(),
            org_id=org_id,
            url=payload.url,
            description=payload.description,
            event_types=event_types,
            trade_id=payload.trade_id,
            enabled=True,
            secret_ciphertext=self.box.seal(secret),
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        await self.repo.add_endpoint(endpoint)
        return endpoint, secret

    async def get(self, org_id: str, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        endpoint = await self.repo.get_endpoint(endpoint_id, org_id)
        if endpoint is None:
            raise NotFound("No such webhook endpoint")
        return endpoint

    async def update(
        self, org_id: str, endpoint_id: uuid.UUID, patch: WebhookEndpointPatch
    ) -> WebhookEndpoint:
        endpoint = await self.repo.get_endpoint(endpoint_id, org_id, for_update=True)
        if endpoint is None:
            raise NotFound("No such webhook endpoint")
        fields = patch.model_fields_set
        if "url" in fields and patch.url is not None:
            await self._check_url(patch.url)
            endpoint.url = patch.url
        if "event_types" in fields and patch.event_types is not None:
            endpoint.event_types = self._check_types(patch.event_types)
        if "trade_id" in fields:
            await self._check_trade(patch.trade_id, org_id)
            endpoint.trade_id = patch.trade_id
        if "description" in fields:
            endpoint.description = patch.description
        now = self.runtime.now()
        if "enabled" in fields and patch.enabled is not None and patch.enabled != endpoint.enabled:
            endpoint.enabled = patch.enabled
            if patch.enabled:
                await self._check_url(endpoint.url)
                endpoint.disabled_reason = None
                endpoint.disabled_at = None
                endpoint.failing_since = None
            else:
                endpoint.disabled_reason = "disabled by the organisation"
                endpoint.disabled_at = now
                await self.repo.cancel_pending(endpoint.id, now, "endpoint disabled")
        endpoint.updated_at = now
        return endpoint

    async def delete(self, org_id: str, endpoint_id: uuid.UUID) -> None:
        endpoint = await self.get(org_id, endpoint_id)
        await self.repo.delete_endpoint(endpoint)

    async def rotate_secret(
        self, org_id: str, endpoint_id: uuid.UUID
    ) -> tuple[WebhookEndpoint, str]:
        """A new secret signs from now on; the current one keeps signing for the overlap period."""
        endpoint = await self.repo.get_endpoint(endpoint_id, org_id, for_update=True)
        if endpoint is None:
            raise NotFound("No such webhook endpoint")
        now = self.runtime.now()
        secret = generate_secret(self.runtime.rng)
        overlap = timedelta(seconds=self.settings.webhook_secret_overlap_s)
        if overlap:
            endpoint.previous_secret_ciphertext = endpoint.secret_ciphertext
            endpoint.previous_secret_expires_at = now + overlap
        else:
            endpoint.previous_secret_ciphertext = None
            endpoint.previous_secret_expires_at = None
        endpoint.secret_ciphertext = self.box.seal(secret)
        endpoint.updated_at = now
        return endpoint, secret

    async def replay(self, org_id: str, endpoint_id: uuid.UUID, request: ReplayIn) -> int:
        """Deliver again one event, or every matching event received in a time range."""
        endpoint = await self.get(org_id, endpoint_id)
        if endpoint.enabled is False:
            raise Conflict("The endpoint is disabled; enable it before replaying")
        if request.event_id is None and request.since is None:
            raise InvalidInput(
                "Say what to replay",
                errors=[field_error(["event_id"], "give event_id, or since (and until)")],
            )
        now = self.runtime.now()
        candidates: list[tuple[uuid.UUID, str, uuid.UUID | None]]
        if request.event_id is not None:
            event = await self.events.get_visible(request.event_id, org_id)
            if event is None:
                raise NotFound("No such event")
            candidates = [(event.id, event.type, event.trade_id)]
        else:
            candidates = await self.events.visible_ids_in_range(
                org_id=org_id,
                trade_id=endpoint.trade_id,
                since=request.since,
                until=request.until,
                limit=MAX_REPLAY_EVENTS,
            )
        rows: list[dict[str, Any]] = [
            {
                "id": self.runtime.new_id(),
                "endpoint_id": endpoint.id,
                "event_id": event_id,
                "is_replay": True,
                "status": "pending",
                "attempt_count": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for event_id, event_type, trade_id in candidates
            if catalogue.type_matches(endpoint.event_types, event_type)
            and (endpoint.trade_id is None or endpoint.trade_id == trade_id)
        ]
        return await self.repo.add_deliveries(rows, replay=True)


class SecretOpener(Protocol):
    def open(self, sealed: bytes) -> str: ...


class SigningSecrets(Protocol):
    """The endpoint's secrets as stored (a ``WebhookEndpoint``, or the dispatcher's claim row)."""

    @property
    def secret_ciphertext(self) -> bytes: ...
    @property
    def previous_secret_ciphertext(self) -> bytes | None: ...
    @property
    def previous_secret_expires_at(self) -> datetime | None: ...


class CachedSecrets:
    """Opens each sealed secret once (the dispatcher keeps one for a batch of deliveries)."""

    def __init__(self, box: SecretOpener) -> None:
        self.box = box
        self._opened: dict[bytes, str] = {}

    def open(self, sealed: bytes) -> str:
        secret = self._opened.get(sealed)
        if secret is None:
            secret = self._opened[sealed] = self.box.open(sealed)
        return secret


def active_secrets(endpoint: SigningSecrets, box: SecretOpener, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, plus the previous during the overlap."""
    secrets = [box.open(endpoint.secret_ciphertext)]
    if (
        endpoint.previous_secret_ciphertext is not None
        and endpoint.previous_secret_expires_at is not None
        and endpoint.previous_secret_expires_at > now
    ):
        secrets.append(box.open(endpoint.previous_secret_ciphertext))
    return secrets
