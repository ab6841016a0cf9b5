"""Operations CLI for a fresh or running gateway (reads the same ``GATEWAY_*`` settings).

python -m gateway.admin create-operator --email ops@example.co.jp [--name "運営 太郎"] [--locale ja]
    Creates an invited platform operator, mails the invitation, and prints the invitation code so
    the first operator can sign in even before mail works (POST /api/v1/auth/invitations/accept).
python -m gateway.admin rotate-keys
    Adds a new signing key; the previous keys stay in the JWKS until their tokens have expired.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from gateway.app import build_identity
from gateway.config import Settings
from gateway.domain.bootstrap import create_operator
from gateway.domain.context import Env
from gateway.domain.mail import OutgoingMail
from gateway.keys import KeyRing
from shared.db import make_engine, make_sessionmaker
from shared.errors import AppError


async def create_operator_command(
    settings: Settings, email: str, name: str, locale: str
) -> tuple[str, str]:
    """Returns (user id, invitation code)."""
    if not settings.database_url:
        raise SystemExit("GATEWAY_DATABASE_URL is not set")
    keyring = KeyRing.from_dir(settings.keys_dir, generate_if_missing=settings.is_dev)
    identity = build_identity(settings, keyring, None, None)
    engine = make_engine(settings.database_url, application_name="gateway-admin")
    outgoing: list[OutgoingMail] = []
    try:
        async with make_sessionmaker(engine)() as session:
            env = Env(
                session=session,
                settings=settings,
                clock=identity.clock,
                random=identity.random,
                box=identity.box,
                hashing=identity.hashing,
                access_tokens=identity.access_tokens,
                ip=None,
                send_mail=outgoing.append,
            )
            user, token = await create_operator(env, email, name, locale)
            await session.commit()
    finally:
        await engine.dispose()
    for mail in outgoing:  # after the commit, like the API's background mail
        await identity.mailer.send(mail)
    return str(user.id), token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-operator", help="create an invited platform operator")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="Platform operator")
    create.add_argument("--locale", choices=["ja", "en"], default="ja")
    commands.add_parser("rotate-keys", help="add a new token signing key")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "rotate-keys":
        key = KeyRing.rotate(settings.keys_dir)
        print(f"new signing key {key.kid} in {settings.keys_dir}; restart the gateway replicas")  # noqa: T201
        return 0
    try:
        user_id, token = asyncio.run(
            create_operator_command(settings, args.email, args.name, args.locale)
        )
    except AppError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)  # noqa: T201
        return 1
    print(f"operator {args.email} created (id {user_id}); an invitation was mailed.")  # noqa: T201
    print(f"invitation code: {token}")  # noqa: T201
    print(  # noqa: T201
        f"first login: POST {settings.public_url.rstrip('/')}/api/v1/auth/invitations/accept "
        '{"token": "<invitation code>", "password": "<new password>"}'
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
