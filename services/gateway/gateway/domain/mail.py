"""Mail the gateway sends (invitations, password-reset codes), in Japanese and English, over real SMTP.

Every message carries both languages, the recipient's own first. Mail is handed to the sender after
the request's transaction has committed (FastAPI background task), so a rolled-back invitation never
mails a token that does not exist. A send that fails is logged; the admin can re-send the invitation
and the user can ask for a new reset code. (A durable outbox would retry on its own; the gateway does
not have one yet.)
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib
import structlog

log = structlog.get_logger("gateway.mail")


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    body: str
    kind: str


def _bilingual(locale: str, ja: str, en: str) -> str:
    rule = "\n" + "-" * 60 + "\n"
    return (ja + rule + en) if locale == "ja" else (en + rule + ja)


def invitation_mail(
    *,
    to: str,
    locale: str,
    display_name: str,
    org_name_ja: str,
    org_name_en: str,
    token: str,
    url: str,
    valid_hours: int,
) -> OutgoingMail:
    ja = (
        f"{display_name} 様\n\n"
        f"{org_name_ja} の管理者から Minato に招待されました。\n"
        f"次のリンクから初回ログインを行い、パスワードを設定してください"
        f"(有効期限 {valid_hours} 時間、1回限り有効)。\n\n{url}\n\n"
        f"招待コード: {token}\n\n"
        "お心当たりのない場合は、このメールを破棄してください。\n"
    )
    en = (
        f"Dear {display_name},\n\n"
        f"The administrator of {org_name_en} has invited you to Minato.\n"
        f"Open this link to sign in for the first time and set your password "
        f"(valid for {valid_hours} hours, once):\n\n{url}\n\n"
        f"Invitation code: {token}\n\n"
        "If you did not expect this, please ignore this message.\n"
    )
    return OutgoingMail(
        to=to,
        subject="【Minato】招待のお知らせ / You are invited to Minato",
        body=_bilingual(locale, ja, en),
        kind="invitation",
    )


def password_reset_mail(*, to: str, locale: str, code: str, valid_minutes: int) -> OutgoingMail:
    ja = (
        "パスワード再設定のご依頼を受け付けました。\n"
        f"確認コード: {code}\n"
        f"(有効期限 {valid_minutes} 分、1回限り有効)\n\n"
        "お心当たりのない場合は、このメールを破棄してください。パスワードは変更されません。\n"
    )
    en = (
        "We received a request to reset your password.\n"
        f"Confirmation code: {code}\n"
        f"(valid for {valid_minutes} minutes, once)\n\n"
        "If you did not ask for this, ignore this message; your password stays as it is.\n"
    )
    return OutgoingMail(
        to=to,
        subject="【Minato】パスワード再設定の確認コード / Your password reset code",
        body=_bilingual(locale, ja, en),
        kind="password_reset",
    )


class Mailer:
    def __init__(self, *, host: str, port: int, sender: str, timeout_s: float) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout_s = timeout_s

    def build(self, mail: OutgoingMail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="minato.local")
        message["X-Minato-Mail"] = mail.kind
        message.set_content(mail.body, charset="utf-8")
        return message

    async def send(self, mail: OutgoingMail) -> bool:
        try:
            await aiosmtplib.send(
                self.build(mail), hostname=self.host, port=self.port, timeout=self.timeout_s
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.error("mail_not_sent", kind=mail.kind, error=repr(exc))
            return False
        log.info("mail_sent", kind=mail.kind)
        return True
