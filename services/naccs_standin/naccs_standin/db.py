"""The stand-in's own state (database ``minato_naccs_standin``): what NACCS would remember."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from shared.db import Base, make_metadata


class StandinBase(Base):
    __abstract__ = True
    metadata = make_metadata()


metadata = StandinBase.metadata

# Every telegram that arrived, however malformed: the record tests use to prove "received once".
received_telegram = Table(
    "received_telegram",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("route", String(8), nullable=False),  # http | file
    Column("user_id", String(8), nullable=False),
    Column("business_code", String(5), nullable=False),
    Column("input_id_no", String(10), nullable=False),
    Column("handover_info", String(26), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("result_codes", Text, nullable=False),
    Index("ix_received_telegram_user_input", "user_id", "input_id_no"),
)

# Every output telegram NACCS produced. ``delivery``: reply (returned to the interactive request) or
# outbox (fetched later by ``GET /outbox``: permits, results of the file route).
output_telegram = Table(
    "output_telegram",
    metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("available_at", DateTime(timezone=True), nullable=False),
    Column("delivery", String(8), nullable=False),
    Column("user_id", String(8), nullable=False),
    Column("business_code", String(5), nullable=False),
    Column("output_info_code", String(7), nullable=False),
    Column("message_kind", String(1), nullable=False),
    Column("input_id_no", String(10), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("received_id", BigInteger, nullable=True),
    Index("ix_output_telegram_user_input", "user_id", "input_id_no"),
    Index("ix_output_telegram_outbox", "delivery", "seq"),
)

# Registered export cargo (ECR): 輸出管理番号 → what was registered.
export_cargo = Table(
    "export_cargo",
    metadata,
    Column("control_no", String(35), primary_key=True),
    Column("user_id", String(8), nullable=False),
    Column("status", String(16), nullable=False),  # registered | cancelled
    Column("items", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Declarations (EDA/EDC export, IDA/IDC import): 申告番号 → status and the permit's due time.
declaration = Table(
    "declaration",
    metadata,
    Column("declaration_no", String(11), primary_key=True),
    Column("direction", String(6), nullable=False),  # export | import
    Column("user_id", String(8), nullable=False),
    Column("status", String(16), nullable=False),  # registered | declared | permitted
    Column("export_control_no", String(35), nullable=True),
    Column("examination", String(1), nullable=True),  # 審査区分 1 / 2 / 3
    Column("items", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("declared_at", DateTime(timezone=True), nullable=True),
    Column("declared_input_id_no", String(10), nullable=True),
    Column("declared_handover", String(26), nullable=True),
    Column("permit_due_at", DateTime(timezone=True), nullable=True),
    Column("permitted_at", DateTime(timezone=True), nullable=True),
    Index("ix_declaration_due", "permit_due_at", postgresql_where=text("status = 'declared'")),
)

# CY gate-in (CYA) and gate-out (CYO) confirmations.
container_movement = Table(
    "container_movement",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("container_no", String(12), nullable=False),
    Column("movement", String(3), nullable=False),  # in | out
    Column("place", String(5), nullable=True),
    Column("moved_on", String(12), nullable=False),  # YYYYMMDD[hhmm] as entered
    Column("user_id", String(8), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_container_movement_container", "container_no", "id"),
)

# Sequences behind the numbers NACCS assigns; with the seed they make every number reproducible.
number_counter = Table(
    "number_counter",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)
