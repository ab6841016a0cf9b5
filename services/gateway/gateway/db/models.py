"""ORM models of the gateway service (its own database, its own metadata).

Identity lives here: organisations, users, their form permissions, invitations and one-time codes,
refresh-token families, partner and service clients, NACCS credentials (encrypted), login throttling
counters, the security audit log and idempotency keys. Secrets are never stored in the clear: tokens
and codes as keyed digests, passwords as argon2id hashes, TOTP secrets and NACCS passwords encrypted.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, make_metadata


class GatewayBase(Base):
    __abstract__ = True
    metadata = make_metadata()


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True)


class Organisation(GatewayBase):
    __tablename__ = "organisation"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name_ja: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    corporate_number: Mapped[str] = mapped_column(String(13), unique=True)
    business_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    scac: Mapped[str | None] = mapped_column(String(4))
    address: Mapped[dict[str, Any]] = mapped_column(JSONB)
    naccs_user_codes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    require_totp: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class User(GatewayBase):
    __tablename__ = "app_user"

    id: Mapped[uuid.UUID] = _uuid_pk()
    # NULL only for platform operators, who belong to no organisation.
    org_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-cased
    display_name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(2))
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text))
    status: Mapped[str] = mapped_column(String(16))  # invited / active / deactivated
    password_hash: Mapped[str | None] = mapped_column(Text)
    totp_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # RFC 6238 §5.2: the last accepted time step, so a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FormPermission(GatewayBase):
    __tablename__ = "form_permission"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True
    )
    form_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    access: Mapped[str] = mapped_column(String(16))  # read / readwrite (none is no row)


class OneTimeSecret(GatewayBase):
    """Invitations, TOTP enrolment tickets and password-reset codes: single use, expiring."""

    __tablename__ = "one_time_secret"
    __table_args__ = (Index("ix_one_time_secret_user_purpose", "user_id", "purpose"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))  # invitation / totp_enrolment / password_reset
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class RecoveryCode(GatewayBase):
    __tablename__ = "recovery_code"

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), index=True
    )
    digest: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RefreshToken(GatewayBase):
    __tablename__ = "refresh_token"

    id: Mapped[uuid.UUID] = _uuid_pk()
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), index=True
    )
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiClient(GatewayBase):
    """A partner system (kind ``client``, owned by an organisation) or one of our services."""

    __tablename__ = "api_client"

    id: Mapped[uuid.UUID] = _uuid_pk()
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # client / service
    org_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    secret_digest: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NaccsCredential(GatewayBase):
    __tablename__ = "naccs_credential"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True
    )
    # 利用者ID and password, sealed together (AES-GCM, bound to the user id).
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuthThrottle(GatewayBase):
    """Failure counters per account (keyed digest of the e-mail, known or not) and per client IP.

    In PostgreSQL, so every gateway replica sees the same counts."""

    __tablename__ = "auth_throttle"
    __table_args__ = (Index("ix_auth_throttle_last_failure_at", "last_failure_at"),)

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEvent(GatewayBase):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_org_at", "org_id", "occurred_at"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[str | None] = mapped_column(String(100))
    subject_id: Mapped[str | None] = mapped_column(String(100))
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)


class IdempotencyRecord(GatewayBase):
    __tablename__ = "idempotency_record"
    __table_args__ = (
        UniqueConstraint("principal", "key"),
        Index("ix_idempotency_record_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    principal: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
