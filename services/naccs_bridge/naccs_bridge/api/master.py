"""Master data of the caller's organisation, one record at a time or as a CSV file."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from naccs_bridge.api.deps import RuntimeDep, org_of
from naccs_bridge.schemas import CsvImportResult, MasterKind, MasterRecordView
from naccs_bridge.services import master
from shared.auth import PrincipalDep
from shared.db import SessionDep
from shared.errors import InvalidInput, field_error

router = APIRouter(prefix="/api/v1/naccs/master", tags=["naccs master data"])


@router.get("/{kind}", summary="The organisation's master records of one kind")
async def list_master(
    kind: MasterKind, principal: PrincipalDep, session: SessionDep
) -> list[MasterRecordView]:
    rows = await master.list_records(session, org_id=org_of(principal), kind=kind)
    return [
        MasterRecordView(kind=kind, key=r.key, data=r.data, updated_at=r.updated_at) for r in rows
    ]


@router.put("/{kind}/{key}", summary="Create or replace one master record")
async def put_master(
    kind: MasterKind,
    key: str,
    body: Annotated[dict[str, Any], Body()],
    principal: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> MasterRecordView:
    org_id = org_of(principal)
    record = master.validate_record(kind, body)
    if record.key != key:
        raise InvalidInput(
            f"The path names {key} but the record is {record.key}",
            errors=[field_error(["path", "key"], "does not match the record")],
        )
    now = runtime.clock()
    await master.upsert(session, org_id=org_id, kind=kind, records=[record], now=now)
    return MasterRecordView(kind=kind, key=key, data=master.to_camel_dict(record), updated_at=now)


@router.post(
    "/{kind}/import",
    summary="Import a CSV file (header row = field names); all rows or none, errors per row",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_master(
    kind: MasterKind,
    principal: PrincipalDep,
    session: SessionDep,
    runtime: RuntimeDep,
    request: Request,
) -> CsvImportResult:
    org_id = org_of(principal)
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("The file must be UTF-8 text") from exc
    records, errors = master.parse_csv(kind, text)
    if errors:
        raise master.reject(errors)
    await master.upsert(session, org_id=org_id, kind=kind, records=records, now=runtime.clock())
    return CsvImportResult(kind=kind, imported=len(records), errors=[])
