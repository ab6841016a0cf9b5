"""E-mail in Japanese and English: templates per event type, and sending over SMTP (aiosmtplib)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from string import Template
from typing import Any

import aiosmtplib

from notifications.db.models import Event
from notifications.domain.catalogue import CATALOGUE

# Types mailed to every active administrator of the organisation (addresses from the gateway),
# whether or not they saved an address in their preferences.
ADMIN_MAIL_TYPES: frozenset[str] = frozenset({"webhook_endpoint.disabled"})

# Types mailed unless a user switches them off (the rest only when switched on): the ones that
# ask someone to act, or that an administrator must not miss.
EMAIL_DEFAULT_TYPES: frozenset[str] = frozenset(
    {
        "form.sent",
        "message.posted",
        "participant.invited",
        "task.assigned",
        "task.created",
        "participant.added",
        "naccs.result",
        "naccs.permit",
        "trade.schedule_changed",
        "shipping_instructions.received",
        "webhook_endpoint.disabled",
    }
)

_SUBJECT = {
    "ja": Template("[Minato] $summary_ja$trade_suffix_ja"),
    "en": Template("[Minato] $summary$trade_suffix_en"),
}

_BODY = {
    "ja": Template(
        "Minato からのお知らせです。\n\n"
        "$summary_ja\n"
        "$details_ja"
        "\n発生日時: $occurred_at\n"
        "イベント: $type (ID $event_id)\n"
        "$link"
        "\n通知の受け取り方は「通知設定」で変更できます。\n"
    ),
    "en": Template(
        "This is a notification from Minato.\n\n"
        "$summary\n"
        "$details_en"
        "\nOccurred at: $occurred_at\n"
        "Event: $type (id $event_id)\n"
        "$link"
        "\nYou can change which notifications you receive in your notification settings.\n"
    ),
}

# Per-type detail lines; the fields come from the event's data (validated by the catalogue).
_DETAILS: dict[str, dict[str, Template]] = {
    "form.sent": {
        "ja": Template("帳票 $form_type が送信されました。\n"),
        "en": Template("Form $form_type was sent.\n"),
    },
    "form.created": {
        "ja": Template("帳票 $form_type が作成されました。\n"),
        "en": Template("Form $form_type was created.\n"),
    },
    "form.updated": {
        "ja": Template("帳票 $form_type が更新されました。\n"),
        "en": Template("Form $form_type was updated.\n"),
    },
    "naccs.result": {
        "ja": Template("業務 $code の処理結果: $outcome\n"),
        "en": Template("Result of $code: $outcome\n"),
    },
    "naccs.permit": {
        "ja": Template("許可通知 (申告番号 $declaration_no, 許可日 $permitted_on)\n"),
        "en": Template("Permit (declaration $declaration_no, permitted on $permitted_on)\n"),
    },
    "task.created": {
        "ja": Template("タスク「$title」\n"),
        "en": Template('Task "$title"\n'),
    },
    "message.posted": {
        "ja": Template("件名: $subject\n"),
        "en": Template("Subject: $subject\n"),
    },
    "receiving_slip.created": {
        "ja": Template("搬入票 (帳票 $form_type, 版 $version)\n"),
        "en": Template("Receiving slip (form $form_type, version $version)\n"),
    },
    "webhook_endpoint.disabled": {
        "ja": Template(
            "Webhook エンドポイント $url は配信に失敗し続けたため無効化されました (理由: $reason)。\n"
            "受信側を修正したうえで、設定から再度有効化してください。\n"
        ),
        "en": Template(
            "The webhook endpoint $url kept failing and was disabled (reason: $reason).\n"
            "Fix the receiver, then enable it again in the settings.\n"
        ),
    },
}


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    body: str


class _Defaulting(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "-"


def render(
    *,
    locale: str,
    event_id: str,
    event_type: str,
    version: int,
    occurred_at: str,
    trade_id: str | None,
    data: dict[str, Any],
    public_base_url: str,
) -> RenderedMail:
    locale = locale if locale in _BODY else "ja"
    entry = CATALOGUE.get((event_type, version))
    summary = entry.summary if entry else event_type
    summary_ja = entry.summary_ja if entry else event_type
    reference = (
        data.get("reference")
        or data.get("trade_no")
        or data.get("bl_no")
        or (trade_id[:8] if trade_id else None)
    )
    values = _Defaulting({k: str(v) for k, v in data.items() if v is not None})
    details = _DETAILS.get(event_type, {})
    fields = {
        "summary": summary,
        "summary_ja": summary_ja,
        "trade_suffix_ja": f" (取引 {reference})" if reference else "",
        "trade_suffix_en": f" (trade {reference})" if reference else "",
        "details_ja": details["ja"].substitute(values) if "ja" in details else "",
        "details_en": details["en"].substitute(values) if "en" in details else "",
        "occurred_at": occurred_at,
        "type": event_type,
        "event_id": event_id,
        "link": f"{public_base_url}/trades/{trade_id}\n" if trade_id else "",
    }
    return RenderedMail(
        subject=_SUBJECT[locale].substitute(fields), body=_BODY[locale].substitute(fields)
    )


class Mailer:
    """Sends one message over SMTP. Failures raise, and the caller schedules a retry."""

    def __init__(self, *, host: str, port: int, sender: str, timeout_s: float) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout_s = timeout_s

    async def send(self, *, to: str, subject: str, body: str, message_key: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(idstring=message_key, domain="minato.dev")
        message.set_content(body, charset="utf-8")
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            timeout=self.timeout_s,
            start_tls=False,
            use_tls=False,
        )


def render_event_mail(event: Event, locale: str, public_base_url: str) -> RenderedMail:
    return render(
        locale=locale,
        event_id=str(event.id),
        event_type=event.type,
        version=event.version,
        occurred_at=event.occurred_at.isoformat(),
        trade_id=str(event.trade_id) if event.trade_id else None,
        data=event.data,
        public_base_url=public_base_url,
    )
