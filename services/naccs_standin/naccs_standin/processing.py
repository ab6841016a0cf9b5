"""What the stand-in does with a telegram: check it like NACCS would, change its state, answer in bytes.

Business rules are the few a bridge must be able to meet and fail: ECR registers cargo and assigns a
輸出管理番号, EDA registers a declaration and assigns a 申告番号, EDC/IDC declare it and the permit
(輸出許可通知 / 輸入許可通知) follows after a configurable delay, CYA/CYO record gate-in/out, IEX/IID
answer from state. Other codes of the catalogue are checked for layout and mandatory items only.

Determinism: numbers and examination categories come from ``random.Random(f"{seed}:{name}:{n}")`` with
``n`` a database counter, and time only from the injected clock; permits are released when someone
looks (outbox or inquiry) and their due time has passed, so no background timer decides anything.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from naccs_standin.config import Settings
from naccs_standin.db import (
    container_movement,
    declaration,
    export_cargo,
    number_counter,
    output_telegram,
    received_telegram,
)
from naccs_standin.wire import (
    HEADER_LINE,
    SUCCESS,
    Body,
    InputHeader,
    Layout,
    OutputSpec,
    WireError,
    load_layouts,
    missing_mandatory,
    peek_business_code,
    read_body,
    read_input_header,
    result_line,
    result_notice_code,
    write_output,
)

Clock = Callable[[], datetime]

# 出力情報コード of the delivered notices. 🔶 The real codes of 輸出許可通知 / 輸入許可通知 are not public;
# these are the stand-in's, shared with the bridge as configuration (NACCS_BRIDGE_PERMIT_OUTPUT_CODES).
EXPORT_PERMIT_CODE = "SAE0030"
IMPORT_PERMIT_CODE = "SAD0030"
INQUIRY_CODES = {"IEX": "SAE8010", "IID": "SAD8010"}

# Serializes transactions that append to the outbox, so ``seq`` order is commit order and a reader's
# ``after`` cursor can never skip a row that commits late.
OUTBOX_LOCK_KEY = 7_221_122

LOCODE = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}$")
# 保税地域コード: 官署 (digit + letter) and three more, e.g. 1AW61 (Ohi), 2DW11 (Honmoku).
BONDED_AREA = re.compile(r"^[0-9][A-Z][A-Z0-9]{3}$")
CONTAINER_NO = re.compile(r"^[A-Z]{4}[0-9]{7}$")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Outcome:
    codes: list[str] = field(default_factory=list)
    reference_no: str = ""
    lines: list[str] = field(default_factory=list)
    subject: str = ""
    message_kind: str = "R"
    output_info_code: str | None = None

    @property
    def rejected(self) -> bool:
        return any(not (c == SUCCESS or c.startswith("W")) for c in self.codes)


class _Rejected(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


def issued_number(seed: int, name: str, n: int) -> str:
    """The n-th number of a kind: a seeded prefix (looks random, is reproducible) + the counter (unique)."""
    rng = random.Random(f"{seed}:{name}:{n}")  # noqa: S311 - reproducible test data, not security
    if name == "declaration":
        return f"{rng.randrange(100, 1000)}{n:08d}"  # 申告番号: 11 digits
    return f"{rng.randrange(1000, 10000)}E{n:07d}"  # 輸出管理番号


def examination_category(seed: int, declaration_no: str) -> int:
    """審査区分 1 (簡易), 2 (書類), 3 (検査) in a 70/20/10 split, reproducible per declaration."""
    rng = random.Random(f"{seed}:examination:{declaration_no}")  # noqa: S311 - see above
    return rng.choices((1, 2, 3), weights=(70, 20, 10))[0]


def _echo(raw: bytes, start: int, width: int) -> str:
    return raw[start : start + width].decode("ascii", errors="replace").rstrip()


@dataclass(frozen=True)
class Receipt:
    received_id: int
    output: bytes
    codes: list[str]


class Naccs:
    def __init__(self, engine: AsyncEngine, settings: Settings, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        # Customs time fast-forwarded by ``advance`` (development and tests): permits due within it
        # are released as if that much time had passed, without a restart or a shorter delay.
        self.skipped = timedelta()
        self.layouts: dict[str, Layout] = load_layouts(settings.maps_dir)

    def now(self) -> datetime:
        return self.clock() + self.skipped

    def advance(self, seconds: float) -> datetime:
        """Let ``seconds`` of customs time pass at once. The skip lives in this process (never goes
        back while it runs); a restarted stand-in starts from the real clock again."""
        self.skipped += timedelta(seconds=max(seconds, 0.0))
        return self.now()

    # ------------------------------------------------------------------------------ receiving

    async def receive(self, raw: bytes, *, route: str = "http") -> Receipt:
        """Process one input telegram and record it; the reply goes back (http) or to the outbox (file)."""
        now = self.now()
        async with self.engine.begin() as conn:
            await conn.execute(select(func.pg_advisory_xact_lock(OUTBOX_LOCK_KEY)))
            header: InputHeader | None = None
            try:
                header = read_input_header(raw)
                async with conn.begin_nested():
                    outcome = await self._process(conn, header, raw[HEADER_LINE:], now)
                    if outcome.rejected:
                        raise _Rejected(outcome)
            except _Rejected as rejected:
                outcome = rejected.outcome
            except WireError as error:
                outcome = Outcome(codes=[error.result_code])
            business_code = header.business_code if header else peek_business_code(raw)
            user_id = header.user_id if header else _echo(raw, 29, 8)
            input_id_no = header.input_id_no if header else _echo(raw, 253, 10)
            handover = header.handover_info if header else _echo(raw, 219, 26)
            received_id = await conn.scalar(
                insert(received_telegram)
                .values(
                    received_at=now,
                    route=route,
                    user_id=user_id[:8],
                    business_code=business_code[:5],
                    input_id_no=input_id_no[:10],
                    handover_info=handover[:26],
                    raw=raw,
                    result_codes=" ".join(outcome.codes),
                )
                .returning(received_telegram.c.id)
            )
            assert received_id is not None
            lines = [result_line(outcome.codes), outcome.reference_no, *outcome.lines]
            spec = OutputSpec(
                business_code=business_code,
                output_info_code=outcome.output_info_code or result_notice_code(business_code),
                message_kind=outcome.message_kind,
                user_code=user_id[:5],
                received_at=now,
                subject=outcome.subject or outcome.reference_no,
                handover_info=handover,
                input_id_no=input_id_no,
                index_handover=header.index_handover if header else "",
            )
            output = write_output(spec, lines, self.settings.charset)
            await self._store_output(
                conn,
                spec,
                output,
                user_id=user_id,
                delivery="reply" if route == "http" else "outbox",
                now=now,
                received_id=received_id,
            )
        return Receipt(received_id=received_id, output=output, codes=outcome.codes)

    async def _store_output(
        self,
        conn: AsyncConnection,
        spec: OutputSpec,
        output: bytes,
        *,
        user_id: str,
        delivery: str,
        now: datetime,
        received_id: int | None,
        available_at: datetime | None = None,
    ) -> None:
        await conn.execute(
            insert(output_telegram).values(
                created_at=now,
                available_at=available_at or now,
                delivery=delivery,
                user_id=user_id[:8],
                business_code=spec.business_code[:5],
                output_info_code=spec.output_info_code[:7],
                message_kind=spec.message_kind,
                input_id_no=spec.input_id_no[:10],
                subject=spec.subject[:64],
                raw=output,
                received_id=received_id,
            )
        )

    async def _process(
        self, conn: AsyncConnection, header: InputHeader, body_bytes: bytes, now: datetime
    ) -> Outcome:
        users = self.settings.users
        if users and header.user_id not in users:
            raise WireError("A0003", f"利用者ID {header.user_id} is not registered")
        if users and users[header.user_id] != header.password:
            raise WireError("A0004", "wrong password")
        if header.system_id != "2":
            raise WireError("A0016", f"システム識別 {header.system_id!r}: this is sea NACCS (2)")
        layout = self.layouts.get(header.business_code)
        if layout is None:
            raise WireError("A0001", f"業務コード {header.business_code!r} is not handled")
        body = read_body(layout, body_bytes, self.settings.charset)
        errors = [e.result_code for e in missing_mandatory(layout, body)]
        handler = getattr(self, f"_handle_{header.business_code.lower()}", None)
        if errors:
            return Outcome(codes=errors)
        if handler is None:
            return Outcome(codes=[SUCCESS])
        outcome: Outcome = await handler(conn, header, body, now)
        return outcome

    # ------------------------------------------------------------------------------ business codes

    async def _next(self, conn: AsyncConnection, name: str) -> int:
        value = await conn.scalar(
            pg_insert(number_counter)
            .values(name=name, value=1)
            .on_conflict_do_update(
                index_elements=[number_counter.c.name],
                set_={"value": number_counter.c.value + 1},
            )
            .returning(number_counter.c.value)
        )
        return int(value or 0)

    def _port_errors(self, body: Body, *, loading_must_be_japanese: bool) -> list[str]:
        """Export loads in Japan (LPR); an import is discharged in Japan (DPR)."""
        codes: list[str] = []
        loading = body.items.get("loading_port", "")
        if loading and not LOCODE.match(loading):
            codes.append(WireError("S0003", "", item_id="LPR").result_code)
        elif loading and loading_must_be_japanese and not loading.startswith("JP"):
            codes.append(WireError("R0003", "", item_id="LPR").result_code)
        discharge = body.items.get("discharge_port", "")
        if discharge and not LOCODE.match(discharge):
            codes.append(WireError("S0003", "", item_id="DPR").result_code)
        elif discharge and not loading_must_be_japanese and not discharge.startswith("JP"):
            codes.append(WireError("R0003", "", item_id="DPR").result_code)
        return codes

    @staticmethod
    def _import_errors(body: Body) -> list[str]:
        """IDA's own checks: the 積出地 is a LOCODE and the 蔵置場所 a bonded-area code. Neither item
        has a public 項目略称, so the code names no item (as NACCS does for such items)."""
        codes: list[str] = []
        loading_place = body.items.get("loading_place_code", "")
        if loading_place and not LOCODE.match(loading_place):
            codes.append(WireError("S0003", "積出地コード is not a UN/LOCODE").result_code)
        storage = body.items.get("storage_code", "")
        if storage and not BONDED_AREA.match(storage):
            codes.append(WireError("S0003", "蔵置場所コード is not a bonded area").result_code)
        return codes

    async def _cargo_exists(self, conn: AsyncConnection, control_no: str) -> bool:
        found = await conn.scalar(
            select(export_cargo.c.control_no).where(
                export_cargo.c.control_no == control_no, export_cargo.c.status == "registered"
            )
        )
        return found is not None

    async def _handle_ecr(
        self, conn: AsyncConnection, header: InputHeader, body: Body, now: datetime
    ) -> Outcome:
        kind = body.items.get("processing_kind", "")
        codes = self._port_errors(body, loading_must_be_japanese=True)
        if kind not in {"9", "5", "1"}:
            codes.append(WireError("S0003", "", item_id="KND").result_code)
        existing = body.items.get("export_control_no", "")
        if kind in {"5", "1"} and not await self._cargo_exists(conn, existing):
            codes.append(WireError("E0101", "", item_id="EKN").result_code)
        if codes:
            return Outcome(codes=codes)
        warnings = [] if body.items.get("carrier_code") else [WireError("W0001", "", item_id="SCA")]
        if kind == "9":
            control_no = issued_number(
                self.settings.seed, "export_control", await self._next(conn, "export_control")
            )
            await conn.execute(
                insert(export_cargo).values(
                    control_no=control_no,
                    user_id=header.user_id,
                    status="registered",
                    items=_as_json(body),
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            control_no = existing
            await conn.execute(
                update(export_cargo)
                .where(export_cargo.c.control_no == control_no)
                .values(
                    status="cancelled" if kind == "1" else "registered",
                    items=_as_json(body),
                    updated_at=now,
                )
            )
        return Outcome(
            codes=[w.result_code for w in warnings] or [SUCCESS], reference_no=control_no
        )

    async def _register_declaration(
        self, conn: AsyncConnection, header: InputHeader, body: Body, now: datetime, direction: str
    ) -> Outcome:
        codes = self._port_errors(body, loading_must_be_japanese=direction == "export")
        if direction == "import":
            codes.extend(self._import_errors(body))
        control_no = body.items.get("export_control_no", "") if direction == "export" else ""
        if control_no and not await self._cargo_exists(conn, control_no):
            codes.append(WireError("E0101", "", item_id="EKN").result_code)
        if body.items.get("value_class", "L") not in {"L", "S"}:
            codes.append(WireError("S0003", "", item_id=None).result_code)
        if codes:
            return Outcome(codes=codes)
        number = issued_number(
            self.settings.seed, "declaration", await self._next(conn, "declaration")
        )
        await conn.execute(
            insert(declaration).values(
                declaration_no=number,
                direction=direction,
                user_id=header.user_id,
                status="registered",
                export_control_no=control_no or None,
                items=_as_json(body),
                created_at=now,
            )
        )
        return Outcome(codes=[SUCCESS], reference_no=number)

    async def _handle_eda(
        self, conn: AsyncConnection, header: InputHeader, body: Body, now: datetime
    ) -> Outcome:
        return await self._register_declaration(conn, header, body, now, "export")

    async def _handle_ida(
        self, conn: AsyncConnection, header: InputHeader, body: Body, now: datetime
    ) -> Outcome:
        return await self._register_declaration(conn, header, body, now, "import")

    async def _declare(
        self, conn: AsyncConnection, header: InputHeader, body: Body, now: datetime, direction: str
    ) -> Outcome:
        number = body.items.get("declaration_no", "")
        row = (
            await conn.execute(
                select(declaration.c.status)
                .where(declaration.c.declaration_no == number, declaration.c.direction == direction)
                .with_for_update()
            )
        ).first()
        if row is None:
            return Outcome(codes=[WireError("E0102", "", item_id="ECN").result_code])
        if row.status != "registered":
            return Outcome(codes=[WireError("E0103", "", item_id="ECN").result_code])
        category = examination_category(self.settings.seed, number)
        due = now + timedelta(seconds=self.settings.permit_delay_s * category)
        await conn.execute(
            update(declaration)
            .where(declaration.c.declaration_no == number)
            .values(
                status="declared",
                examination=str(category),
                declared_at=now,
                declared_input_id_no=header.input_id_no,
                declared_handover=header.handover_info,
                permit_due_at=due,
            )
        )
        return Outcome(codes=[SUCCESS], reference_no=number, lines=[f"{category}"])

    async def _handle_edc(
        self, conn: AsyncConnection, header: InputHeader, body: Body, now: datetime
    ) -> Outcome:
        return await self._declare(conn, header, body, now, "export")

    async def _handle_idc(
        self, conn: AsyncConnection, header: InputHeader, body: Body, now: datetime
    ) -> Outcome:
        return await self._declare(conn, header, body, now, "import")

    async def _move(
        self, conn: AsyncConnection, header: InputHeader, body: Body, now: datetime, movement: str
    ) -> Outcome:
        container = body.items.get("container_no", "")
        if not CONTAINER_NO.match(container):
            return Outcome(codes=[WireError("S0003", "", item_id="CNO").result_code])
        last = await conn.scalar(
            select(container_movement.c.movement)
            .where(container_movement.c.container_no == container)
            .order_by(container_movement.c.id.desc())
            .limit(1)
        )
        if movement == "out" and last != "in":
            return Outcome(codes=[WireError("E0104", "", item_id="CNO").result_code])
        if movement == "in" and last == "in":
            return Outcome(codes=[WireError("E0105", "", item_id="CNO").result_code])
        date_key = "gate_in_date" if movement == "in" else "gate_out_date"
        time_key = "gate_in_time" if movement == "in" else "gate_out_time"
        await conn.execute(
            insert(container_movement).values(
                container_no=container,
                movement=movement,
                place=body.items.get("destination_code") or None,
                moved_on=body.items.get(date_key, "") + body.items.get(time_key, ""),
                user_id=header.user_id,
                created_at=now,
            )
        )
        return Outcome(codes=[SUCCESS], reference_no=container)

    async def _handle_cya(
        self, conn: AsyncConnection, header: InputHeader, body: Body, now: datetime
    ) -> Outcome:
        return await self._move(conn, header, body, now, "in")

    async def _handle_cyo(
        self, conn: AsyncConnection, header: InputHeader, body: Body, now: datetime
    ) -> Outcome:
        return await self._move(conn, header, body, now, "out")

    async def _inquire(
        self, conn: AsyncConnection, header: InputHeader, body: Body, now: datetime, direction: str
    ) -> Outcome:
        await self.release_due_permits(conn, now)
        number = body.items.get("declaration_no", "")
        condition = declaration.c.declaration_no == number
        if not number and direction == "export" and body.items.get("export_control_no"):
            condition = declaration.c.export_control_no == body.items["export_control_no"]
        row = (
            await conn.execute(
                select(declaration)
                .where(condition, declaration.c.direction == direction)
                .order_by(declaration.c.created_at.desc())
                .limit(1)
            )
        ).first()
        if row is None:
            return Outcome(codes=[WireError("E0102", "", item_id="ECN").result_code])
        permitted = row.permitted_at.strftime("%Y%m%d") if row.permitted_at else ""
        return Outcome(
            codes=[SUCCESS],
            reference_no=row.declaration_no,
            lines=[row.status.upper(), row.examination or "", permitted],
            message_kind="M",
            output_info_code=INQUIRY_CODES[header.business_code],
        )

    async def _handle_iex(
        self, conn: AsyncConnection, header: InputHeader, body: Body, now: datetime
    ) -> Outcome:
        return await self._inquire(conn, header, body, now, "export")

    async def _handle_iid(
        self, conn: AsyncConnection, header: InputHeader, body: Body, now: datetime
    ) -> Outcome:
        return await self._inquire(conn, header, body, now, "import")

    # ------------------------------------------------------------------------------ later output

    async def release_due_permits(self, conn: AsyncConnection, now: datetime) -> int:
        """Turn declarations whose examination is over into permits, each with its notice in the outbox."""
        rows = (
            await conn.execute(
                select(declaration)
                .where(declaration.c.status == "declared", declaration.c.permit_due_at <= now)
                .order_by(declaration.c.permit_due_at, declaration.c.declaration_no)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for row in rows:
            permitted_at = row.permit_due_at
            await conn.execute(
                update(declaration)
                .where(declaration.c.declaration_no == row.declaration_no)
                .values(status="permitted", permitted_at=permitted_at)
            )
            export = row.direction == "export"
            spec = OutputSpec(
                business_code="EDC" if export else "IDC",
                output_info_code=EXPORT_PERMIT_CODE if export else IMPORT_PERMIT_CODE,
                message_kind="P",
                user_code=row.user_id[:5],
                received_at=permitted_at,
                subject=row.declaration_no,
                handover_info=row.declared_handover or "",
                input_id_no=row.declared_input_id_no or "",
                destination_pattern="Z",  # customs acted; the notice goes to the declarant (EXZ)
            )
            lines = [
                row.declaration_no,
                permitted_at.astimezone(UTC).strftime("%Y%m%d"),
                row.examination or "",
                # What the permit is for: the export cargo's 輸出管理番号, the import's B/L番号.
                (row.export_control_no or "") if export else _first_bl_no(row.items),
            ]
            output = write_output(spec, lines, self.settings.charset)
            await self._store_output(
                conn,
                spec,
                output,
                user_id=row.user_id,
                delivery="outbox",
                now=now,
                received_id=None,
                available_at=permitted_at,
            )
        return len(rows)

    async def outbox(
        self, *, after: int, limit: int, user_id: str | None = None
    ) -> list[dict[str, Any]]:
        now = self.now()
        async with self.engine.begin() as conn:
            await conn.execute(select(func.pg_advisory_xact_lock(OUTBOX_LOCK_KEY)))
            await self.release_due_permits(conn, now)
        t = output_telegram
        condition = and_(t.c.delivery == "outbox", t.c.seq > after, t.c.available_at <= now)
        if user_id:
            condition = and_(condition, t.c.user_id == user_id)
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(t.c.seq, t.c.user_id, t.c.raw)
                    .where(condition)
                    .order_by(t.c.seq)
                    .limit(limit)
                )
            ).all()
        return [{"seq": r.seq, "user_id": r.user_id, "raw": r.raw} for r in rows]

    async def reply_for(self, user_id: str, input_id_no: str) -> bytes | None:
        """The reply NACCS gave to this 入力情報特定番号, if it ever received it (電文再取得)."""
        t = output_telegram
        async with self.engine.connect() as conn:
            raw = await conn.scalar(
                select(t.c.raw)
                .where(
                    t.c.user_id == user_id,
                    t.c.input_id_no == input_id_no,
                    t.c.received_id.is_not(None),
                )
                .order_by(t.c.seq)
                .limit(1)
            )
        return bytes(raw) if raw is not None else None

    async def receipts(self, input_id_no: str) -> list[dict[str, Any]]:
        t = received_telegram
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        t.c.id,
                        t.c.received_at,
                        t.c.route,
                        t.c.user_id,
                        t.c.business_code,
                        t.c.result_codes,
                    )
                    .where(t.c.input_id_no == input_id_no)
                    .order_by(t.c.id)
                )
            ).all()
        return [dict(r._mapping) for r in rows]


def _as_json(body: Body) -> dict[str, Any]:
    return {"items": body.items, "groups": body.groups}


def _first_bl_no(stored: dict[str, Any] | None) -> str:
    blocks = ((stored or {}).get("groups") or {}).get("bl_numbers") or [{}]
    return str(blocks[0].get("bl_no", ""))


async def reset_state(conn: AsyncConnection) -> None:
    """Forget everything (tests, and ``POST /admin/reset`` in development)."""
    await conn.execute(
        text(
            "TRUNCATE received_telegram, output_telegram, export_cargo, declaration,"
            " container_movement, number_counter RESTART IDENTITY"
        )
    )
