"""Wire schemas of the gateway's identity API. Inputs forbid unknown fields (no mass assignment); outputs
never carry a secret except where the API says "shown once"."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from gateway.domain.catalogue import FORM_TYPES, INTERNAL_SCOPES, PARTNER_SCOPES, BusinessType
from shared.codes import CorporateNumber, CountryCode, ScacCode


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise PydanticCustomError(
            "email", "not a valid e-mail address: {reason}", {"reason": str(exc)}
        ) from exc


def _form_type(value: str) -> str:
    if value not in FORM_TYPES:
        raise PydanticCustomError("form_type", "unknown form type {value}", {"value": value})
    return value


def _scope(value: str) -> str:
    if value not in PARTNER_SCOPES and value not in INTERNAL_SCOPES:
        raise PydanticCustomError("scope", "unknown scope {value}", {"value": value})
    return value


Email = Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)]
# Login and reset accept any string: refusing a malformed address differently would be a hint.
LoginEmail = Annotated[str, StringConstraints(min_length=3, max_length=320, strip_whitespace=True)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
TotpCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
FormType = Annotated[str, AfterValidator(_form_type)]
Scope = Annotated[str, AfterValidator(_scope)]
Access = Literal["none", "read", "readwrite"]
Locale = Literal["ja", "en"]
OrgRole = Literal["org_admin", "member"]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
NaccsUserCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{5}$")]
OpaqueToken = Annotated[str, StringConstraints(min_length=16, max_length=200)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- organisations --------------------------------------------------------------------------------
class Address(Input):
    postal_code: Annotated[str, StringConstraints(pattern=r"^\d{3}-?\d{4}$")] | None = None
    prefecture: Annotated[str, StringConstraints(max_length=20)] | None = None
    line_ja: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    line_en: Annotated[str, StringConstraints(max_length=300)] | None = None
    country: CountryCode = "JP"


class InviteUser(Input):
    email: Email
    display_name: Name
    locale: Locale = "ja"
    roles: list[OrgRole] = Field(default=["member"], min_length=1, max_length=2)
    # Only a platform operator names the organisation; an org admin always invites into their own.
    org_id: uuid.UUID | None = None
    # Overrides of the business-type defaults, e.g. {"UL040": "read"}.
    form_permissions: dict[FormType, Access] = Field(default_factory=dict)


class OrganisationCreate(Input):
    name_ja: Name
    name_en: Name
    corporate_number: CorporateNumber
    business_types: list[BusinessType] = Field(min_length=1, max_length=9)
    scac: ScacCode | None = None
    address: Address
    naccs_user_codes: list[NaccsUserCode] = Field(default_factory=list, max_length=50)
    require_totp: bool = True
    first_admin: InviteUser | None = None


class OrganisationUpdate(Input):
    name_ja: Name | None = None
    name_en: Name | None = None
    business_types: list[BusinessType] | None = Field(default=None, min_length=1, max_length=9)
    scac: ScacCode | None = None
    address: Address | None = None
    naccs_user_codes: list[NaccsUserCode] | None = Field(default=None, max_length=50)
    require_totp: bool | None = None


class OrganisationOut(BaseModel):
    id: uuid.UUID
    name_ja: str
    name_en: str
    corporate_number: str
    business_types: list[str]
    scac: str | None
    address: dict[str, str | None]
    naccs_user_codes: list[str]
    require_totp: bool
    created_at: datetime
    updated_at: datetime


class OrganisationCreated(OrganisationOut):
    first_admin: UserOut | None = None


class OrganisationList(BaseModel):
    items: list[OrganisationOut]


# -- users ------------------------------------------------------------------------------------------
class UserOut(BaseModel):
    id: uuid.UUID
    org_id: uuid.UUID | None
    email: str
    display_name: str
    locale: str
    roles: list[str]
    status: Literal["invited", "active", "deactivated"]
    totp_enabled: bool
    created_at: datetime
    last_login_at: datetime | None


class UserList(BaseModel):
    items: list[UserOut]


class UserUpdate(Input):
    display_name: Name | None = None
    locale: Locale | None = None
    roles: list[OrgRole] | None = Field(default=None, min_length=1, max_length=2)


class FormPermissions(BaseModel):
    user_id: uuid.UUID
    # Every form type, with "none" where the user has no access.
    permissions: dict[str, Access]


class FormPermissionsUpdate(Input):
    permissions: dict[FormType, Access] = Field(min_length=1)


class NaccsCredentialIn(Input):
    user_code: NaccsUserCode  # 利用者コード
    identifier: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3}$")]  # 識別番号
    # The 利用者パスワード travels in the telegram's common header: 8 bytes of printable ASCII.
    # Anything else would be accepted here and refused at every send.
    password: Annotated[str, StringConstraints(min_length=1, max_length=8, pattern=r"^[!-~]+$")]


class NaccsLink(BaseModel):
    """Whether a NACCS 利用者ID is linked. The ID and password themselves are never returned."""

    linked: bool
    updated_at: datetime | None


class NaccsCredentialSecret(BaseModel):
    """For the NACCS bridge only (service token with ``naccs:credentials``)."""

    user_id: uuid.UUID
    naccs_user_id: str  # 利用者コード + 識別番号
    user_code: str
    identifier: str
    password: str


class AdminContact(BaseModel):
    user_id: uuid.UUID
    email: str
    display_name: str
    locale: str


class OrgAdminContacts(BaseModel):
    """For the notifications service only (service token with ``directory:read``)."""

    org_id: uuid.UUID
    admins: list[AdminContact]


# -- authentication ---------------------------------------------------------------------------------
class LoginRequest(Input):
    email: LoginEmail
    password: Password
    totp_code: TotpCode | None = None
    recovery_code: Annotated[str, StringConstraints(min_length=8, max_length=32)] | None = None


class TokenPair(BaseModel):
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105
    access_token: str
    expires_in: int
    refresh_token: str


class TotpEnrolment(BaseModel):
    enrolment_token: str
    secret: str  # base32, for manual entry
    otpauth_uri: str  # for a QR code
    expires_at: datetime


class LoginResult(BaseModel):
    status: Literal["authenticated", "totp_enrolment_required"]
    tokens: TokenPair | None = None
    enrolment: TotpEnrolment | None = None


class AcceptInvitation(Input):
    token: OpaqueToken
    password: Password


class EnrolTotp(Input):
    enrolment_token: OpaqueToken
    code: TotpCode


class EnrolTotpResult(BaseModel):
    tokens: TokenPair
    # Shown once; each works once in place of a confirmation code.
    recovery_codes: list[str]


class RecoveryCodesRequest(Input):
    totp_code: TotpCode


class RecoveryCodes(BaseModel):
    # Shown once; each works once in place of a confirmation code. Earlier codes stop working.
    recovery_codes: list[str]


class RefreshRequest(Input):
    refresh_token: OpaqueToken


class PasswordResetRequest(Input):
    email: LoginEmail


class PasswordResetConfirm(Input):
    email: LoginEmail
    code: Annotated[str, StringConstraints(pattern=r"^\d{8}$")]
    new_password: Password


class PasswordChange(Input):
    current_password: Password
    new_password: Password


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    detail: str


class ClientToken(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105
    expires_in: int
    scope: str


# -- clients ------------------------------------------------------------------------------------------
class ClientCreate(Input):
    name: Name
    scopes: list[Scope] = Field(min_length=1, max_length=20)
    kind: Literal["client", "service"] = "client"
    org_id: uuid.UUID | None = None


class ClientOut(BaseModel):
    id: uuid.UUID
    client_id: str
    kind: str
    org_id: uuid.UUID | None
    name: str
    scopes: list[str]
    active: bool
    created_at: datetime
    last_used_at: datetime | None


class ClientWithSecret(ClientOut):
    client_secret: str  # shown once


class ClientList(BaseModel):
    items: list[ClientOut]


# -- audit ------------------------------------------------------------------------------------------
class AuditEventOut(BaseModel):
    id: uuid.UUID
    occurred_at: datetime
    event: str
    actor_id: str | None
    subject_id: str | None
    ip: str | None
    details: dict[str, object]


class AuditEventList(BaseModel):
    items: list[AuditEventOut]


OrganisationCreated.model_rebuild()
