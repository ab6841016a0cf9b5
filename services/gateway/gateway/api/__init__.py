"""The gateway's own identity routes (thin: parse, call the domain, shape the answer)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api import auth, clients, internal, orgs, users


def identity_routers() -> list[APIRouter]:
    return [auth.router, orgs.router, users.router, clients.router, internal.router]
