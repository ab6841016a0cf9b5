"""HTTP endpoints of the forms service (thin: parse, call a use case in ``forms.services``, shape
the answer). Every ``/api/v1`` call needs a user or partner token of an organisation; every call on
a trade or form asks the trades service whether that organisation takes part (404 if not) and checks
the token's right on the form type (none → 404, read → no writes).

Catalogue        GET  /api/v1/form-types, /api/v1/form-types/{code}
Documents        POST /api/v1/forms/trades/{trade_id}/documents          create (idempotent per
                                                                          type + custom id;
                                                                          Idempotency-Key)
                 GET  /api/v1/forms/trades/{trade_id}/documents          list (keyset; filters)
                 GET  /api/v1/forms/trades/{trade_id}/shared-items       root document + locks
                 GET | PUT | DELETE /api/v1/forms/documents/{id}         ETag / If-Match
                 POST /api/v1/forms/documents/{id}/{send|unsend|acknowledge|cancel}
                 GET  /api/v1/forms/documents/{id}/validation
                 GET  /api/v1/forms/documents/{id}/versions[/{n}], /diff?from=&to=
Derivation       POST /api/v1/forms/trades/{trade_id}/derivations, GET .../derivations/preview
Templates        POST /api/v1/forms/documents/{id}/templates; GET|DELETE /api/v1/forms/templates
Attachments      POST|GET /api/v1/forms/documents/{id}/attachments[/{attachment_id}]
DCSA             POST /api/v1/forms/trades/{trade_id}/dcsa/{booking|shipping-instructions}
                 GET  /api/v1/forms/documents/{id}/dcsa
Internal         GET  /internal/trades/{trade_id}/naccs-bundle             (service, forms:read)
                 POST /internal/trades/{trade_id}/forms/UL040/imports      (service, forms:write)
                 POST /internal/events   the NACCS bridge's customs status (service, internal:call)
"""

from __future__ import annotations

from fastapi import APIRouter

from forms.api import attachments, catalogue, dcsa, derivations, documents, internal, templates


def routers() -> list[APIRouter]:
    return [
        catalogue.router,
        documents.router,
        derivations.router,
        templates.router,
        attachments.router,
        dcsa.router,
        internal.router,
    ]
