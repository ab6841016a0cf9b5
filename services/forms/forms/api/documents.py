"""Form documents of a trade, their status, validation report, versions and shared items."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from forms.api.deps import CallerDep, SettingsDep, TradesDep
from forms.api.idempotent import idempotent
from forms.db.models import FormDocument, FormVersion
from forms.domain.validation import Issue, validate_form
from forms.schemas import (
    DocumentCreate,
    DocumentPage,
    DocumentRead,
    DocumentSummary,
    DocumentUpdate,
    FieldChangeRead,
    FormStatus,
    LockedField,
    SharedItemLock,
    SharedItemsRead,
    ValidationIssueRead,
    ValidationReportRead,
    VersionDiff,
    VersionRead,
    VersionSummary,
)
from forms.services import documents, naccs_status
from forms.services import templates as template_service
from shared.db import SessionDep
from shared.errors import PROBLEM_SCHEMA, InvalidInput, field_error

router = APIRouter(prefix="/api/v1/forms", tags=["forms"])

IfMatch = Annotated[
    str | None, Header(description="The ETag of your last read; required for every change")
]
EDIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: PROBLEM_SCHEMA,
    409: PROBLEM_SCHEMA,
    412: PROBLEM_SCHEMA,
    428: PROBLEM_SCHEMA,
}


def document_read(view: documents.FormView) -> DocumentRead:
    form = view.form
    return DocumentRead(
        id=form.id,
        trade_id=form.trade_id,
        form_type=form.form_code,
        custom_id=form.custom_id,
        status=_status(form.status),
        version=form.version,
        shared_items_version=view.shared_version,
        etag=view.etag,
        values=view.values,
        locked_fields=[
            LockedField(path=path, locked_by=list(holders))
            for path, holders in sorted(view.locked_fields.items())
        ],
        provenance=form.provenance,
        naccs_status=[naccs_status.status_read(status) for status in view.naccs_status],
        created_by_org_id=form.created_by_org_id,
        created_at=form.created_at,
        updated_at=form.updated_at,
        sent_at=form.sent_at,
    )


def _status(value: str) -> FormStatus:
    # The table's CHECK constraint allows only these; the wire model validates it once more.
    return cast(FormStatus, value)


def document_response(view: documents.FormView, *, status_code: int = 200) -> JSONResponse:
    return JSONResponse(
        document_read(view).model_dump(mode="json"),
        status_code=status_code,
        headers={"ETag": view.etag, "Location": f"/api/v1/forms/documents/{view.form.id}"},
    )


def summary(form: FormDocument) -> DocumentSummary:
    return DocumentSummary(
        id=form.id,
        trade_id=form.trade_id,
        form_type=form.form_code,
        custom_id=form.custom_id,
        status=_status(form.status),
        version=form.version,
        created_by_org_id=form.created_by_org_id,
        created_at=form.created_at,
        updated_at=form.updated_at,
        sent_at=form.sent_at,
    )


@router.post(
    "/trades/{trade_id}/documents",
    status_code=201,
    response_model=DocumentRead,
    responses={
        200: {"description": "The form already existed", "model": DocumentRead},
        **EDIT_RESPONSES,
    },
    summary="Create a form in a trade (idempotent per trade + type + custom id)",
)
async def create_document(
    trade_id: uuid.UUID,
    body: DocumentCreate,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
    trades: TradesDep,
) -> Response:
    """201 with the new form; 200 with the existing one when the trade already has this form type
    with this custom id (as Cyber Port's Create). ``Idempotency-Key`` is honoured as well."""

    async def run() -> JSONResponse:
        values: dict[str, Any] = dict(body.values)
        provenance: dict[str, Any] = {}
        if body.template_id is not None:
            template = await template_service.get_template(
                session, caller, template_id=body.template_id
            )
            values, provenance = template_service.start_from_template(template, body.values)
        view, created = await documents.create_form(
            session,
            trades,
            caller,
            trade_id=trade_id,
            form_code=body.form_type,
            custom_id=body.custom_id,
            values=values,
            provenance=provenance,
            change="created_from_template" if body.template_id else "created",
        )
        return document_response(view, status_code=201 if created else 200)

    return await idempotent(
        request, session, caller, fingerprint_payload=body.model_dump(mode="json"), run=run
    )


@router.get("/trades/{trade_id}/documents", summary="List a trade's forms")
async def list_documents(
    trade_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    trades: TradesDep,
    settings: SettingsDep,
    form_type: Annotated[list[str] | None, Query(description="Repeat for several")] = None,
    status: Annotated[list[FormStatus] | None, Query()] = None,
    custom_id: str | None = None,
    updated_since: Annotated[
        datetime | None, Query(description="Only forms changed at or after this instant")
    ] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> DocumentPage:
    """The forms you may read, oldest first; keyset pages (follow ``next_cursor``)."""
    if updated_since is not None and updated_since.tzinfo is None:
        raise InvalidInput(
            "updated_since needs a time zone",
            errors=[field_error(["query", "updated_since"], "give an offset, e.g. Z or +09:00")],
        )
    page = await documents.list_forms(
        session,
        trades,
        caller,
        trade_id=trade_id,
        form_types=form_type or [],
        statuses=list(status or []),
        custom_id=custom_id,
        updated_since=updated_since,
        cursor=cursor,
        limit=min(limit or settings.page_size_default, settings.page_size_max),
    )
    return DocumentPage(items=[summary(form) for form in page.items], next_cursor=page.next_cursor)


@router.get("/trades/{trade_id}/shared-items", summary="The trade's shared items and their locks")
async def get_shared_items(
    trade_id: uuid.UUID, session: SessionDep, caller: CallerDep, trades: TradesDep
) -> SharedItemsRead:
    """Cyber Port's root document: values shared by every form of the trade, and the edit locks
    that sent trigger forms hold on them; only the groups of form types you may read."""
    shared = await documents.shared_items(session, trades, caller, trade_id=trade_id)
    return SharedItemsRead(
        trade_id=trade_id,
        version=shared.version,
        values=shared.values,
        locks=[
            SharedItemLock(
                path=path,
                locked_by=sorted({lock.holder_form_code for lock in held}),
                holder_form_ids=sorted({uuid.UUID(lock.holder_form_id) for lock in held}),
            )
            for path, held in sorted(shared.locks.items())
        ],
    )


@router.get(
    "/documents/{form_id}",
    response_model=DocumentRead,
    responses={304: {"description": "Unchanged since the ETag in If-None-Match"}},
    summary="Read a form (with its ETag)",
)
async def get_document(
    form_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    trades: TradesDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The form's values with the trade's shared items merged in, and the fields locked here.
    ``If-None-Match`` with the current ETag answers 304 without a body."""
    view = await documents.get_form(session, trades, caller, form_id)
    if if_none_match and view.etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(status_code=304, headers={"ETag": view.etag})
    return document_response(view)


@router.put(
    "/documents/{form_id}",
    response_model=DocumentRead,
    responses=EDIT_RESPONSES,
    summary="Replace a form's values (If-Match required)",
)
async def update_document(
    form_id: uuid.UUID,
    body: DocumentUpdate,
    session: SessionDep,
    caller: CallerDep,
    trades: TradesDep,
    if_match: IfMatch = None,
) -> Response:
    """Shared fields written here change the trade's shared items, hence every form showing them.
    A field locked by a sent trigger form is refused with 409 naming it; nothing is written."""
    view = await documents.update_form(
        session, trades, caller, form_id=form_id, values=body.values, if_match=if_match
    )
    return document_response(view)


@router.delete(
    "/documents/{form_id}",
    status_code=204,
    responses=EDIT_RESPONSES,
    summary="Delete a form (creating organisation only)",
)
async def delete_document(
    form_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    trades: TradesDep,
    if_match: IfMatch = None,
) -> Response:
    """Deleting a sent trigger form releases its locks; its versions are kept."""
    await documents.delete_form(session, trades, caller, form_id=form_id, if_match=if_match)
    return Response(status_code=204)


def _status_route(action: str, summary_text: str, doc: str) -> None:
    async def endpoint(
        form_id: uuid.UUID,
        session: SessionDep,
        caller: CallerDep,
        trades: TradesDep,
        if_match: IfMatch = None,
    ) -> Response:
        view = await documents.change_status(
            session, trades, caller, form_id=form_id, action=action, if_match=if_match
        )
        return document_response(view)

    endpoint.__name__ = f"{action}_document"
    endpoint.__doc__ = doc
    router.add_api_route(
        f"/documents/{{form_id}}/{action}",
        endpoint,
        methods=["POST"],
        response_model=DocumentRead,
        responses={**EDIT_RESPONSES, 422: PROBLEM_SCHEMA},
        summary=summary_text,
    )


_status_route(
    "send",
    "Send a form (draft → sent)",
    "Needs a clean validation report (422 lists the fields). A sent trigger form (UL050, UL040, "
    "UL150, UL290) locks the shared items it carries in the trade's other forms.",
)
_status_route("unsend", "Take a form back (sent → draft)", "Releases the locks the form held.")
_status_route(
    "acknowledge", "Acknowledge a received form (sent → acknowledged)", "For the receivers."
)
_status_route("cancel", "Cancel a form", "Creating organisation only; releases its locks.")


def _issue(issue: Issue) -> ValidationIssueRead:
    return ValidationIssueRead(
        path=issue.path,
        kind=issue.kind,
        code=issue.code,
        message_en=issue.message_en,
        message_ja=issue.message_ja,
    )


@router.get("/documents/{form_id}/validation", summary="Validation report of a form")
async def get_validation_report(
    form_id: uuid.UUID, session: SessionDep, caller: CallerDep, trades: TradesDep
) -> ValidationReportRead:
    """What is missing before sending, what is invalid, and warnings, each with its field path."""
    view = await documents.get_form(session, trades, caller, form_id)
    report = validate_form(view.form.form_code, view.values)
    return ValidationReportRead(
        form_id=form_id,
        form_type=view.form.form_code,
        can_save_draft=report.can_save_draft,
        can_send=report.can_send,
        missing=[_issue(i) for i in report.missing],
        invalid=[_issue(i) for i in report.invalid],
        warnings=[_issue(i) for i in report.warnings],
    )


def _version_summary(version: FormVersion) -> VersionSummary:
    return VersionSummary(
        version=version.version_no,
        change=version.change,
        status=_status(version.status),
        created_at=version.created_at,
        actor_org_id=version.actor_org_id,
        actor_user_id=version.actor_user_id,
    )


@router.get("/documents/{form_id}/versions", summary="A form's versions")
async def list_versions(
    form_id: uuid.UUID, session: SessionDep, caller: CallerDep, trades: TradesDep
) -> list[VersionSummary]:
    """Every change of the form, oldest first. Versions never change once written."""
    versions = await documents.list_versions(session, trades, caller, form_id=form_id)
    return [_version_summary(v) for v in versions]


@router.get("/documents/{form_id}/versions/{version}", summary="One version of a form")
async def get_version(
    form_id: uuid.UUID, version: int, session: SessionDep, caller: CallerDep, trades: TradesDep
) -> VersionRead:
    """The form as it read (shared items included) right after that change."""
    row = await documents.get_version(session, trades, caller, form_id=form_id, version_no=version)
    return VersionRead(**_version_summary(row).model_dump(), form_id=form_id, values=row.values)


@router.get("/documents/{form_id}/diff", summary="Differences between two versions")
async def diff_versions(
    form_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    trades: TradesDep,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> VersionDiff:
    """Field by field (``commodity[0].grossWeight``): added, removed or changed, with both values."""
    changes = await documents.diff_versions(
        session,
        trades,
        caller,
        form_id=form_id,
        from_version=from_version,
        to_version=to_version,
    )
    return VersionDiff(
        form_id=form_id,
        from_version=from_version,
        to_version=to_version,
        changes=[
            FieldChangeRead(path=c.path, op=c.op, before=c.before, after=c.after) for c in changes
        ],
    )
