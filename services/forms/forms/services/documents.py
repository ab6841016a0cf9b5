"""Form documents of a trade: create (idempotent), read, list, edit, status changes, delete, versions.

Each form stores only its own fields; the trade's shared items live once, in the trade's root
document, and are merged into every form on read (``apply_shared``). A write to a shared field goes
to the root document (``merge_into_shared``), so every form of the trade shows it at once.

Every write in a trade first locks the root document row: the edit locks (``active_locks``) are
computed from the forms as they stand under that lock, so a send and an edit of another form never
interleave. The form's ETag covers its own version and the root document's, because its
representation includes the shared items: a stale copy read before another form changed a shared
item gets 412 instead of silently writing the old value back.
"""

from __future__ import annotations

import base64
import binascii
import copy
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from forms.clients.trades import TradesClient
from forms.db import repositories as repo
from forms.db import status_repository as status_repo
from forms.db.models import FormDocument, FormVersion, TradeNaccsStatus, TradeSharedItems
from forms.domain.catalogue import TRIGGER_FORM_CODES, form_type, shared_keys_of
from forms.domain.locks import FormState, Lock, active_locks, locked_paths_for, refused_edits
from forms.domain.paths import flatten, split_path
from forms.domain.projection import apply_shared, merge_into_shared, project_to_shared
from forms.domain.validation import Issue, invalid_issues, normalized_values, validate_form
from forms.services import events, naccs_status
from forms.services.access import readable_codes, require_read, require_write, trade_access
from forms.services.context import Caller
from forms.services.diff import FieldChange, diff_values
from forms.services.errors import (
    FormNotFound,
    FormNotReadyToSend,
    FormStatusConflict,
    FormValuesInvalid,
    NotCreatingOrganisation,
    SharedItemsLocked,
    TradeNotFound,
)
from shared.concurrency import check_if_match
from shared.errors import InvalidInput, NotFound, field_error

SENT_STATUSES: Final = frozenset({"sent", "acknowledged"})


class VersionNotFound(NotFound):
    code = "version_not_found"
    title = "Version not found"


# -- the trade's forms and root document, as one unit ---------------------------------------------


@dataclass
class TradeWorkspace:
    """The trade's root document, its live forms and NACCS statuses.

    ``forms`` is every live form of the trade, except in a workspace read for one form's use case
    (``_for_locks_and``): there it is the sent trigger forms, the only ones that hold edit locks,
    plus the form(s) the use case names. A create or an edit then costs the same in a trade of
    five forms and of five hundred.
    """

    shared: TradeSharedItems
    forms: list[FormDocument]
    # What NACCS said about the trade (written back by the bridge; ``services.naccs_status``).
    naccs_status: list[TradeNaccsStatus] = field(default_factory=list)

    def view(self, form: FormDocument) -> dict[str, Any]:
        return apply_shared(form.form_code, form.values, self.shared.values)

    def status_of(self, form: FormDocument) -> tuple[TradeNaccsStatus, ...]:
        return tuple(naccs_status.shown_on(form.form_code, self.naccs_status))

    def etag(self, form: FormDocument) -> str:
        return form_etag(form, self.shared.version, status_seq(self.status_of(form)))

    def state(self, form: FormDocument) -> FormState:
        return FormState(
            str(form.id), form.form_code, self.view(form), form.status in SENT_STATUSES
        )

    def locks(self) -> dict[str, tuple[Lock, ...]]:
        # Only sent trigger forms hold locks (``active_locks`` skips the others): build no view of
        # any other form.
        return active_locks(
            self.state(form)
            for form in self.forms
            if form.status in SENT_STATUSES and form.form_code in TRIGGER_FORM_CODES
        )

    def find(self, form_code: str, custom_id: str) -> FormDocument | None:
        return next(
            (f for f in self.forms if f.form_code == form_code and f.custom_id == custom_id), None
        )

    def get(self, form_id: uuid.UUID) -> FormDocument | None:
        return next((f for f in self.forms if f.id == form_id), None)


def lock_holders(locks: Mapping[str, Sequence[Lock]]) -> dict[str, tuple[str, ...]]:
    return {
        path: tuple(sorted({lock.holder_form_code for lock in held}))
        for path, held in locks.items()
    }


def _for_locks_and(*wanted: ColumnElement[bool]) -> ColumnElement[bool]:
    """The forms that may hold edit locks (sent trigger forms), and those ``wanted``."""
    return or_(
        and_(
            FormDocument.status.in_(sorted(SENT_STATUSES)),
            FormDocument.form_code.in_(sorted(TRIGGER_FORM_CODES)),
        ),
        *wanted,
    )


async def read_workspace(
    session: AsyncSession, trade_id: uuid.UUID, *, only: ColumnElement[bool] | None = None
) -> TradeWorkspace:
    """Without ``only``, with every live form of the trade."""
    shared = await repo.get_shared_items(session, trade_id)
    if shared is None:
        # No write has happened in this trade yet: an empty root document, never stored.
        shared = TradeSharedItems(trade_id=trade_id, values={}, version=0)
    return TradeWorkspace(
        shared,
        await repo.live_forms_of_trade(session, trade_id, only=only),
        await status_repo.statuses_of_trade(session, trade_id),
    )


async def _lock_workspace(
    session: AsyncSession, trade_id: uuid.UUID, now: datetime, *, only: ColumnElement[bool]
) -> TradeWorkspace:
    shared = await repo.lock_shared_items(session, trade_id, now=now)
    return TradeWorkspace(
        shared,
        await repo.live_forms_of_trade(session, trade_id, only=only),
        await status_repo.statuses_of_trade(session, trade_id),
    )


# -- what callers get back -----------------------------------------------------------------------


@dataclass(frozen=True)
class FormView:
    form: FormDocument
    values: dict[str, Any]
    shared_version: int
    locked_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    naccs_status: tuple[TradeNaccsStatus, ...] = ()

    @property
    def etag(self) -> str:
        return form_etag(self.form, self.shared_version, status_seq(self.naccs_status))


def form_etag(form: FormDocument, shared_version: int, naccs_status_seq: int = 0) -> str:
    """Strong and opaque: the form's own version, its trade's shared-items version and, once NACCS
    wrote a status back, the newest change of the status it shows (a permit changes the ETag, so a
    reader holding the old one sees it instead of a 304)."""
    tag = f"{form.id}-{form.version}.{shared_version}"
    return f'"{tag}.{naccs_status_seq}"' if naccs_status_seq else f'"{tag}"'


def status_seq(statuses: Sequence[TradeNaccsStatus]) -> int:
    return max((status.change_seq for status in statuses), default=0)


def _view(ws: TradeWorkspace, form: FormDocument) -> FormView:
    locked = locked_paths_for(ws.state(form), ws.locks())
    return FormView(form, ws.view(form), ws.shared.version, locked, ws.status_of(form))


# -- values: validation, own fields vs shared items ----------------------------------------------


def issue_error(issue: Issue, *, prefix: str = "values") -> dict[str, Any]:
    parts = [prefix, *split_path(issue.path)]
    return {
        **field_error(parts, issue.message_en, kind=issue.code),
        "field": f"{prefix}.{issue.path}",
        "message_ja": issue.message_ja,
    }


def validated_values(form_code: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values as the form's schema normalises them; wrong values are refused by path."""
    # Saving needs no invalid value; what is missing for sending is not asked here.
    invalid = invalid_issues(form_code, values)
    if invalid:
        paths = ", ".join(issue.path for issue in invalid)
        raise FormValuesInvalid(
            f"Invalid values: {paths}", errors=[issue_error(issue) for issue in invalid]
        )
    return normalized_values(form_code, values)


def own_values(form_code: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values without the shared-item leaves, which live in the root document.

    Form-only fields inside shared groups stay (an invoice line's unit price on its commodity line),
    so the list positions are kept; groups left with nothing are dropped.
    """
    residue = copy.deepcopy(dict(values))
    for path in project_to_shared(form_code, values):
        _remove_leaf(residue, path)
    for key in shared_keys_of(form_type(form_code)):
        if key in residue and _is_hollow(residue[key]):
            del residue[key]
    return residue


def overlay(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``patch`` laid over ``base``: objects merge key by key, lists of objects line by line (the
    patch's length wins), anything else is replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in patch.items():
        merged[key] = _overlay_value(merged.get(key), value)
    return merged


def _overlay_value(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        return overlay(base, patch)
    if isinstance(base, list) and isinstance(patch, list):
        if all(isinstance(item, dict) for item in (*base, *patch)):
            return [
                _overlay_value(base[i] if i < len(base) else None, item)
                for i, item in enumerate(patch)
            ]
    return copy.deepcopy(patch)


def _remove_leaf(document: dict[str, Any], path: str) -> None:
    parts = split_path(path)
    parent: Any = document
    for part in parts[:-1]:
        parent = parent[part] if isinstance(part, int) else parent.get(part)
        if parent is None:
            return
    last = parts[-1]
    if isinstance(last, int):
        parent[last] = None
    elif isinstance(parent, dict):
        parent.pop(last, None)


def _is_hollow(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_is_hollow(item) for item in value.values())
    if isinstance(value, list):
        return all(_is_hollow(item) for item in value)
    return value is None


def _with_unsent_shared_keys(
    form_code: str, proposed: Mapping[str, Any], current_view: Mapping[str, Any]
) -> dict[str, Any]:
    """A shared group the request leaves out keeps its value (the root document is not cleared)."""
    effective = dict(proposed)
    for key in shared_keys_of(form_type(form_code)):
        if key not in proposed and key in current_view:
            effective[key] = current_view[key]
    return effective


def _refuse_locked_edits(ws: TradeWorkspace, state: FormState, proposed: Mapping[str, Any]) -> None:
    effective = _with_unsent_shared_keys(state.form_code, proposed, state.values)
    refused = refused_edits(state, effective, ws.locks())
    if refused:
        raise SharedItemsLocked(
            "Locked: " + ", ".join(item.path for item in refused),
            errors=[
                {
                    **field_error(
                        ["values", *split_path(item.path)], item.message_en, kind="locked"
                    ),
                    "field": f"values.{item.path}",
                    "message_ja": item.message_ja,
                    "locked_by": list(item.locked_by),
                }
                for item in refused
            ],
            extra={"locked_fields": [item.path for item in refused]},
        )


def _merge_shared(
    ws: TradeWorkspace, form_code: str, values: Mapping[str, Any], now: datetime
) -> list[str]:
    """Write the form's shared fields to the root document; the shared paths that changed."""
    updated = merge_into_shared(ws.shared.values, form_code, values)
    changes = diff_values(ws.shared.values, updated)
    if changes:
        ws.shared.values = updated
        ws.shared.version += 1
        ws.shared.updated_at = now
    return [change.path for change in changes]


async def _record(
    session: AsyncSession,
    caller: Caller,
    ws: TradeWorkspace,
    form: FormDocument,
    *,
    change: str,
    topic: str,
    locks_before: Mapping[str, tuple[str, ...]],
    changed_paths: Sequence[str] = (),
    shared_paths: Sequence[str] = (),
) -> None:
    """After a change: flush, snapshot the version, and write the events."""
    await session.flush()
    view = ws.view(form)
    await repo.add_version(
        session,
        FormVersion(
            form_id=form.id,
            version_no=form.version,
            change=change,
            status=form.status,
            values=view,
            created_at=caller.clock(),
            actor_org_id=caller.org_id,
            actor_user_id=caller.user_id,
        ),
    )
    await events.form_changed(
        session, caller, form, topic=topic, view=view, changed_paths=changed_paths
    )
    if shared_paths:
        await events.shared_items_updated(
            session, caller, form, paths=shared_paths, shared_version=ws.shared.version
        )
    await events.locks_changed(
        session,
        caller,
        trade_id=form.trade_id,
        before=locks_before,
        after=lock_holders(ws.locks()),
        cause_form=form,
    )


# -- use cases ------------------------------------------------------------------------------------


async def _visible_form(
    session: AsyncSession, trades: TradesClient, caller: Caller, form_id: uuid.UUID
) -> FormDocument:
    form = await repo.get_form(session, form_id)
    if form is None:
        raise FormNotFound(f"No form {form_id}")
    require_read(caller, form.form_code, form_id=form_id)
    try:
        await trade_access(trades, caller, form.trade_id)
    except TradeNotFound:
        raise FormNotFound(f"No form {form_id}") from None
    return form


async def get_form(
    session: AsyncSession, trades: TradesClient, caller: Caller, form_id: uuid.UUID
) -> FormView:
    form = await _visible_form(session, trades, caller, form_id)
    ws = await read_workspace(
        session, form.trade_id, only=_for_locks_and(FormDocument.id == form.id)
    )
    return _view(ws, form)


async def create_form(
    session: AsyncSession,
    trades: TradesClient,
    caller: Caller,
    *,
    trade_id: uuid.UUID,
    form_code: str,
    custom_id: str,
    values: Mapping[str, Any],
    provenance: Mapping[str, Any] | None = None,
    change: str = "created",
) -> tuple[FormView, bool]:
    """The trade's form of this type and custom id: created, or the existing one (``False``)."""
    require_write(caller, form_code)
    await trade_access(trades, caller, trade_id)
    normalized = validated_values(form_code, values)
    now = caller.clock()
    ws = await _lock_workspace(
        session,
        trade_id,
        now,
        only=_for_locks_and(
            and_(FormDocument.form_code == form_code, FormDocument.custom_id == custom_id)
        ),
    )
    existing = ws.find(form_code, custom_id)
    if existing is not None:
        return _view(ws, existing), False
    form_id = caller.new_id()
    empty_view = apply_shared(form_code, {}, ws.shared.values)
    # A new form starts from the trade's shared items; the values given are edits on top of them.
    initial = overlay(empty_view, normalized)
    _refuse_locked_edits(ws, FormState(str(form_id), form_code, empty_view), initial)
    locks_before = lock_holders(ws.locks())
    form = FormDocument(
        id=form_id,
        trade_id=trade_id,
        form_code=form_code,
        custom_id=custom_id,
        status="draft",
        values=own_values(form_code, initial),
        provenance=dict(provenance or {}),
        created_by_org_id=caller.org_id,
        created_by_user_id=caller.user_id,
        created_at=now,
        updated_at=now,
    )
    await repo.add_form(session, form)
    ws.forms.append(form)
    shared_paths = _merge_shared(ws, form_code, initial, now)
    await _record(
        session,
        caller,
        ws,
        form,
        change=change,
        topic="created",
        locks_before=locks_before,
        shared_paths=shared_paths,
    )
    return _view(ws, form), True


async def _locked_form(
    session: AsyncSession,
    trades: TradesClient,
    caller: Caller,
    form_id: uuid.UUID,
    if_match: str | None,
    *,
    write: bool,
) -> tuple[TradeWorkspace, FormDocument]:
    """The form under the trade lock, after access checks and the If-Match precondition."""
    form = await _visible_form(session, trades, caller, form_id)
    if write:
        require_write(caller, form.form_code, form_id=form_id)
    ws = await _lock_workspace(
        session, form.trade_id, caller.clock(), only=_for_locks_and(FormDocument.id == form_id)
    )
    current = ws.get(form_id)
    if current is None:  # deleted while we waited for the lock
        raise FormNotFound(f"No form {form_id}")
    check_if_match(if_match, ws.etag(current))
    return ws, current


async def update_form(
    session: AsyncSession,
    trades: TradesClient,
    caller: Caller,
    *,
    form_id: uuid.UUID,
    values: Mapping[str, Any],
    if_match: str | None,
) -> FormView:
    """Replace the form's values. Shared groups left out of ``values`` keep their value."""
    ws, form = await _locked_form(session, trades, caller, form_id, if_match, write=True)
    if form.status == "cancelled":
        raise FormStatusConflict("A cancelled form cannot be edited")
    normalized = validated_values(form.form_code, values)
    before = ws.view(form)
    _refuse_locked_edits(ws, ws.state(form), normalized)
    locks_before = lock_holders(ws.locks())
    effective = _with_unsent_shared_keys(form.form_code, normalized, before)
    new_own = own_values(form.form_code, effective)
    new_shared = merge_into_shared(ws.shared.values, form.form_code, normalized)
    changes = diff_values(before, apply_shared(form.form_code, new_own, new_shared))
    if not changes:
        return _view(ws, form)  # nothing changed: no new version, no event
    now = caller.clock()
    shared_paths = _merge_shared(ws, form.form_code, normalized, now)
    form.values = new_own
    form.updated_at = now
    await _record(
        session,
        caller,
        ws,
        form,
        change="updated",
        topic="updated",
        locks_before=locks_before,
        changed_paths=[change.path for change in changes],
        shared_paths=shared_paths,
    )
    return _view(ws, form)


# Status changes: action -> (statuses it starts from, status it ends in, event topic).
TRANSITIONS: Final[dict[str, tuple[frozenset[str], str, str]]] = {
    "send": (frozenset({"draft"}), "sent", "sent"),
    "unsend": (frozenset({"sent", "acknowledged"}), "draft", "unsent"),
    "acknowledge": (frozenset({"sent"}), "acknowledged", "acknowledged"),
    "cancel": (frozenset({"draft", "sent", "acknowledged"}), "cancelled", "cancelled"),
}


async def change_status(
    session: AsyncSession,
    trades: TradesClient,
    caller: Caller,
    *,
    form_id: uuid.UUID,
    action: str,
    if_match: str | None,
) -> FormView:
    """send / unsend / acknowledge / cancel.

    Sending needs a clean validation report. Acknowledging is the receivers' answer, so it needs
    read access and comes from an organisation other than the creator; the other actions need
    write access, and cancelling is the creator's.
    """
    sources, target, topic = TRANSITIONS[action]
    ws, form = await _locked_form(
        session, trades, caller, form_id, if_match, write=action != "acknowledge"
    )
    if action == "acknowledge" and form.created_by_org_id == caller.org_id:
        raise FormStatusConflict("The receivers acknowledge a form, not its creator")
    if action == "cancel" and form.created_by_org_id != caller.org_id:
        raise NotCreatingOrganisation("Only the creating organisation may cancel this form")
    if form.status not in sources:
        raise FormStatusConflict(f"Cannot {action} a form that is {form.status}")
    if action == "send":
        report = validate_form(form.form_code, ws.view(form))
        if not report.can_send:
            issues = report.missing + report.invalid
            raise FormNotReadyToSend(
                "Not ready to send: " + ", ".join(issue.path for issue in issues),
                errors=[issue_error(issue) for issue in issues],
            )
    locks_before = lock_holders(ws.locks())
    now = caller.clock()
    form.status = target
    form.updated_at = now
    if action == "send":
        form.sent_at = now
    await _record(session, caller, ws, form, change=topic, topic=topic, locks_before=locks_before)
    return _view(ws, form)


async def delete_form(
    session: AsyncSession,
    trades: TradesClient,
    caller: Caller,
    *,
    form_id: uuid.UUID,
    if_match: str | None,
) -> None:
    """Only the creating organisation deletes. The form's versions stay; its edit locks go."""
    ws, form = await _locked_form(session, trades, caller, form_id, if_match, write=True)
    if form.created_by_org_id != caller.org_id:
        raise NotCreatingOrganisation("Only the creating organisation may delete this form")
    locks_before = lock_holders(ws.locks())
    form.deleted_at = caller.clock()
    ws.forms.remove(form)
    await _record(
        session, caller, ws, form, change="deleted", topic="deleted", locks_before=locks_before
    )


# -- lists ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormPage:
    items: list[FormDocument]
    next_cursor: str | None


def encode_cursor(form: FormDocument) -> str:
    raw = f"{form.created_at.isoformat()}|{form.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, _, form_id = raw.partition("|")
        return datetime.fromisoformat(created_at), uuid.UUID(form_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(
            "Invalid cursor", errors=[field_error(["query", "cursor"], "not a cursor we issued")]
        ) from exc


async def list_forms(
    session: AsyncSession,
    trades: TradesClient,
    caller: Caller,
    *,
    trade_id: uuid.UUID,
    form_types: Sequence[str],
    statuses: Sequence[str],
    custom_id: str | None,
    updated_since: datetime | None,
    cursor: str | None,
    limit: int,
) -> FormPage:
    """The trade's forms the caller may read, oldest first, one keyset page at a time."""
    after = decode_cursor(cursor) if cursor else None
    await trade_access(trades, caller, trade_id)
    codes = readable_codes(caller)
    if form_types:
        codes = [code for code in codes if code in set(form_types)]
    if not codes:
        return FormPage([], None)
    rows = await repo.list_forms(
        session,
        trade_id=trade_id,
        form_codes=codes,
        statuses=statuses or None,
        custom_id=custom_id,
        updated_since=updated_since,
        after=after,
        limit=limit + 1,
    )
    page, more = rows[:limit], len(rows) > limit
    return FormPage(page, encode_cursor(page[-1]) if more and page else None)


@dataclass(frozen=True)
class SharedItemsView:
    version: int
    values: dict[str, Any]
    locks: dict[str, tuple[Lock, ...]]


async def shared_items(
    session: AsyncSession, trades: TradesClient, caller: Caller, *, trade_id: uuid.UUID
) -> SharedItemsView:
    """The trade's root document and the locks on it, limited to the groups that some form type
    the caller may read carries: the root document reveals no more than the forms would."""
    await trade_access(trades, caller, trade_id)
    ws = await read_workspace(session, trade_id, only=_for_locks_and())
    visible = {key for code in readable_codes(caller) for key in shared_keys_of(form_type(code))}
    return SharedItemsView(
        version=ws.shared.version,
        values={k: copy.deepcopy(v) for k, v in ws.shared.values.items() if k in visible},
        locks={path: held for path, held in ws.locks().items() if split_path(path)[0] in visible},
    )


# The NACCS bridge's names for the forms it reads (naccs_bridge.domain.bundle.TradeBundle).
NACCS_BUNDLE_KEYS: Final = {
    "UL040": "SI",
    "UL050": "BK",
    "UL100": "IV",
    "UL120": "PL",
    "UL150": "BL",
    "UL290": "AN",
}


async def naccs_bundle(session: AsyncSession, *, trade_id: uuid.UUID) -> dict[str, Any]:
    """For a trusted service: per bundle key the trade's form (the one without a custom id, else
    the latest edited), with the shared items merged in. 404 for a trade without forms.

    A cancelled form is left out: what its issuer withdrew must not fill a customs declaration (a
    withdrawn A/N would otherwise still name the storage place and the importer)."""
    ws = await read_workspace(session, trade_id)
    if not ws.forms:
        raise TradeNotFound(f"No forms in trade {trade_id}")
    chosen: dict[str, FormDocument] = {}
    for form in sorted(ws.forms, key=lambda f: (f.custom_id == "", f.updated_at)):
        if form.form_code in NACCS_BUNDLE_KEYS and form.status != "cancelled":
            chosen[form.form_code] = form
    bundle: dict[str, Any] = {
        NACCS_BUNDLE_KEYS[code]: ws.view(form) for code, form in chosen.items()
    }
    bundle["shared"] = copy.deepcopy(ws.shared.values)
    bundle["containers"] = copy.deepcopy(ws.shared.values.get("containers") or [])
    return bundle


# -- versions -------------------------------------------------------------------------------------


async def list_versions(
    session: AsyncSession, trades: TradesClient, caller: Caller, *, form_id: uuid.UUID
) -> list[FormVersion]:
    await _visible_form(session, trades, caller, form_id)
    return await repo.list_versions(session, form_id)


async def get_version(
    session: AsyncSession,
    trades: TradesClient,
    caller: Caller,
    *,
    form_id: uuid.UUID,
    version_no: int,
) -> FormVersion:
    await _visible_form(session, trades, caller, form_id)
    return await _version(session, form_id, version_no)


async def _version(session: AsyncSession, form_id: uuid.UUID, version_no: int) -> FormVersion:
    version = await repo.get_version(session, form_id, version_no)
    if version is None:
        raise VersionNotFound(f"Form {form_id} has no version {version_no}")
    return version


async def diff_versions(
    session: AsyncSession,
    trades: TradesClient,
    caller: Caller,
    *,
    form_id: uuid.UUID,
    from_version: int,
    to_version: int,
) -> list[FieldChange]:
    await _visible_form(session, trades, caller, form_id)
    before = await _version(session, form_id, from_version)
    after = await _version(session, form_id, to_version)
    return diff_values(before.values, after.values)


def leaf_paths(values: Mapping[str, Any]) -> Iterable[str]:
    return flatten(values).keys()
