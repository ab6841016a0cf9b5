"""Master data per organisation: validated records, stored in the prefill's canonical (camelCase) names."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from naccs_bridge.db.models import MasterRecordRow
from naccs_bridge.schemas import MASTER_MODELS, MasterKind, RowError
from shared.errors import InvalidInput, field_error

MAX_CSV_ROWS = 10_000


def validate_record(kind: MasterKind, body: dict[str, Any]) -> Any:
    try:
        return MASTER_MODELS[kind].model_validate(body)
    except ValidationError as exc:
        raise InvalidInput(
            "Invalid master record",
            errors=[
                field_error([str(p) for p in e["loc"]], e["msg"], kind=e["type"])
                for e in exc.errors()
            ],
        ) from exc


def to_camel_dict(record: BaseModel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in record.model_dump(mode="json", exclude_none=True).items():
        head, *rest = name.split("_")
        out[head + "".join(part.capitalize() for part in rest)] = value
    return out


async def upsert(
    session: AsyncSession, *, org_id: str, kind: MasterKind, records: list[Any], now: datetime
) -> None:
    for record in records:
        await session.execute(
            insert(MasterRecordRow)
            .values(
                org_id=org_id,
                kind=str(kind),
                key=record.key,
                data=to_camel_dict(record),
                updated_at=now,
            )
            .on_conflict_do_update(
                index_elements=["org_id", "kind", "key"],
                set_={"data": to_camel_dict(record), "updated_at": now},
            )
        )


async def list_records(
    session: AsyncSession, *, org_id: str, kind: MasterKind
) -> list[MasterRecordRow]:
    return list(
        (
            await session.scalars(
                select(MasterRecordRow)
                .where(MasterRecordRow.org_id == org_id, MasterRecordRow.kind == str(kind))
                .order_by(MasterRecordRow.key)
            )
        ).all()
    )


def parse_csv(kind: MasterKind, text: str) -> tuple[list[Any], list[RowError]]:
    """Every row validated; errors name the line (header = line 1) and the column."""
    model = MASTER_MODELS[kind]
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    errors: list[RowError] = []
    unknown = [c for c in columns if c not in model.model_fields]
    for column in unknown:
        errors.append(
            RowError(
                row=1,
                field=column,
                message=f"unknown column; expected {sorted(model.model_fields)}",
            )
        )
    if not columns:
        errors.append(RowError(row=1, field="", message="the file has no header row"))
    if errors:
        return [], errors
    records: list[Any] = []
    seen: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):
        if line > MAX_CSV_ROWS + 1:
            errors.append(RowError(row=line, field="", message=f"more than {MAX_CSV_ROWS} rows"))
            break
        values = {
            k: v.strip() for k, v in raw.items() if k is not None and v is not None and v.strip()
        }
        if None in raw:
            errors.append(RowError(row=line, field="", message="more values than columns"))
            continue
        try:
            record = model.model_validate(values)
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(p) for p in error["loc"]) or ""
                errors.append(RowError(row=line, field=field, message=error["msg"]))
            continue
        if record.key in seen:
            errors.append(
                RowError(
                    row=line,
                    field="",
                    message=f"{record.key} is already on line {seen[record.key]}",
                )
            )
            continue
        seen[record.key] = line
        records.append(record)
    return records, errors


def reject(errors: list[RowError]) -> InvalidInput:
    return InvalidInput(
        f"{len(errors)} problem(s); nothing was imported",
        errors=[e.model_dump() for e in errors],
    )
