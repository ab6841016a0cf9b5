"""HTTP endpoints of the forms service (thin: parse, call a use case, shape the answer)."""

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
