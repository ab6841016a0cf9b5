from __future__ import annotations

from typing import Any

from forms.domain.common import IssuerBlock


class FormDocument(IssuerBlock):
    """Fields on every form: document number, issue date, issuer (書類発行者), remarks."""


class DcsaCarrying(FormDocument):
    """Forms imported from DCSA keep the partner's payload verbatim so export can reproduce it."""

    dcsa_original: dict[str, Any] | None = None
