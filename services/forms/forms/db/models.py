"""ORM models of the forms service (its own database, its own metadata)."""

from __future__ import annotations

from shared.db import Base, make_metadata


class FormsBase(Base):
    __abstract__ = True
    metadata = make_metadata()
