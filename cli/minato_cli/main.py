"""``minato``: commands for the people who run a Minato deployment.

Every command is one or a few calls to the gateway's public API (``--url`` / ``MINATO_URL``) with the
token of ``minato login`` (or ``MINATO_TOKEN``). Tables for people by default, ``--json`` for scripts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import click
import httpx

from minato_cli import session
from minato_cli.api import DEFAULT_URL, CliError, Gateway, new_idempotency_key, stored_from_tokens
from minato_cli.output import age, emit_json, table, when

F = TypeVar("F", bound=Callable[..., Any])

BUSINESS_TYPES = (
    "shipper",
    "forwarder",
    "customs_broker",
    "carrier",
    "nvocc",
    "warehouse",
    "trucker",
    "terminal_operator",
    "port_authority",
)
SEND_STATES = ("queued", "sending", "sent", "result_stored", "failed", "cancelled")
DELIVERY_STATES = ("pending", "delivered", "failed", "cancelled")


@dataclass
class Context:
    url: str
    json: bool = False
    # Tests hand in an httpx.MockTransport through ``obj``; normally None (real HTTP).
    transport: httpx.BaseTransport | None = None

    def gateway(self) -> Gateway:
        return Gateway(self.url, transport=self.transport)


pass_context = click.make_pass_decorator(Context)


def json_option(command: F) -> F:
    """``--json`` after the command too (``minato naccs queue --json``), not only before it."""

    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.find_object(Context).json = True  # type: ignore[union-attr]
        return value

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=remember,
        help="Print the API's JSON answer instead of a table.",
    )(command)


class AwareTime(click.ParamType[str, Any]):
    """An ISO 8601 time with its zone (``2026-12-04T09:00:00+09:00`` or ``...Z``)."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if isinstance(value, datetime):
            parsed = value
        else:
            try:
                parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                self.fail(
                    f"{value!r} is not an ISO 8601 time, e.g. 2026-12-04T09:00:00Z", param, ctx
                )
        if parsed.tzinfo is None:
            self.fail(
                f"{value!r} has no time zone; add Z (UTC) or an offset such as +09:00", param, ctx
            )
        return parsed.isoformat()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--url",
    envvar="MINATO_URL",
    default=DEFAULT_URL,
    show_default=True,
    help="The gateway (or MINATO_URL).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of tables, for scripts.")
@click.version_option(package_name="minato-cli", prog_name="minato")
@click.pass_context
def cli(ctx: click.Context, url: str, as_json: bool) -> None:
    """Operate a Minato deployment through its gateway.

    Log in once with `minato login` (the token is kept in ~/.config/minato/tokens.json, mode 0600,
    or given in MINATO_TOKEN); every other command uses it.
    """
    given = ctx.obj if isinstance(ctx.obj, Context) else None
    ctx.obj = Context(
        url=url.rstrip("/"), json=as_json, transport=given.transport if given else None
    )


# -- identity ----------------------------------------------------------------------------------------
@cli.command()
@click.option("--email", prompt=True, help="Your login e-mail.")
@click.option(
    "--password",
    envvar="MINATO_PASSWORD",
    prompt=True,
    hide_input=True,
    help="Prompted for when not given (or MINATO_PASSWORD).",
)
@click.option("--totp", "totp_code", help="The current code of your authenticator, if you use one.")
@click.option("--recovery-code", help="One of your recovery codes, instead of a TOTP code.")
@pass_context
def login(
    ctx: Context, email: str, password: str, totp_code: str | None, recovery_code: str | None
) -> None:
    """Sign in and keep the tokens for the next commands."""
    with ctx.gateway() as gateway:
        try:
            result = gateway.login(email, password, totp_code, recovery_code)
        except CliError as exc:
            if getattr(exc, "code", "") != "totp_required" or totp_code or recovery_code:
                raise
            totp_code = click.prompt("Confirmation code from your authenticator")
            result = gateway.login(email, password, totp_code)
        if result["status"] == "totp_enrolment_required":
            enrolment = result["enrolment"]
            click.echo("Your account needs an authenticator (TOTP). Add this key to it:")
            click.echo(f"  secret: {enrolment['secret']}\n  uri:    {enrolment['otpauth_uri']}")
            code = click.prompt("Then type its current code")
            enrolled = gateway.enrol_totp(enrolment["enrolment_token"], code)
            click.echo("Recovery codes (shown once; keep them somewhere safe):")
            for recovery in enrolled["recovery_codes"]:
                click.echo(f"  {recovery}")
            tokens = enrolled["tokens"]
        else:
            tokens = result["tokens"]
    path = session.save(ctx.url, stored_from_tokens(email, tokens))
    click.echo(f"Logged in to {ctx.url} as {email} (tokens in {path})")


@cli.command()
@pass_context
def logout(ctx: Context) -> None:
    """Revoke the stored login and forget it."""
    stored = session.load(ctx.url)
    if stored is None:
        click.echo(f"Not logged in to {ctx.url}")
        return
    if stored.refresh_token:
        with ctx.gateway() as gateway:
            gateway.send(
                "POST",
                "/api/v1/auth/logout",
                auth=False,
                json={"refresh_token": stored.refresh_token},
                ok=(401,),
            )
    session.forget(ctx.url)
    click.echo(f"Logged out of {ctx.url}")


@cli.command()
@json_option
@pass_context
def whoami(ctx: Context) -> None:
    """The signed-in user: e-mail, organisation, roles."""
    with ctx.gateway() as gateway:
        me = gateway.get("/api/v1/users/me")
    if ctx.json:
        emit_json(me)
        return
    click.echo(
        table(
            ["email", "name", "org", "roles", "totp"],
            [[me["email"], me["display_name"], me["org_id"], me["roles"], me["totp_enabled"]]],
        )
    )


# -- health ------------------------------------------------------------------------------------------
@cli.command()
@json_option
@pass_context
def health(ctx: Context) -> None:
    """Readiness of the gateway and of every service behind it; exits 1 if any is not ready."""
    with ctx.gateway() as gateway:
        gateway_ready = gateway.send("GET", "/readyz", auth=False, ok=(503,))
        services_response = gateway.send("GET", "/health/services", auth=False, ok=(503,))
    services = _json_object(services_response)
    rows: dict[str, dict[str, Any]] = {
        "gateway": {
            "status": "ok" if gateway_ready.status_code == 200 else "not_ready",
            "checks": _checks_of(gateway_ready),
        },
    }
    listed = services.get("services")
    if isinstance(listed, dict):
        rows.update(listed)
    else:  # the gateway could not say: that is not a healthy system
        rows["services"] = {"status": f"unknown (HTTP {services_response.status_code})"}
    healthy = services_response.status_code == 200 and all(
        row.get("status") == "ok" for row in rows.values()
    )
    if ctx.json:
        emit_json({"status": "ok" if healthy else "degraded", "services": rows})
    else:
        click.echo(
            table(
                ["service", "status", "checks"],
                [
                    [name, row.get("status"), _render_checks(row.get("checks") or {})]
                    for name, row in rows.items()
                ],
            )
        )
        down = [name for name, row in rows.items() if row.get("status") != "ok"]
        click.echo("all ready" if healthy else f"NOT READY: {', '.join(down)}")
    if not healthy:
        raise SystemExit(1)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _checks_of(response: httpx.Response) -> dict[str, Any]:
    checks = _json_object(response).get("checks")
    return checks if isinstance(checks, dict) else {}


def _render_checks(checks: dict[str, Any]) -> str:
    return " ".join(f"{name}={value}" for name, value in sorted(checks.items())) or "-"


# -- organisations and users ---------------------------------------------------------------------
@cli.group()
def org() -> None:
    """Organisations: create one with its first admin, list, show."""


@org.command("create")
@click.option("--name-ja", required=True, help="Registered name in Japanese (商号).")
@click.option("--name-en", required=True, help="Name in English.")
@click.option("--corporate-number", required=True, help="法人番号, 13 digits.")
@click.option(
    "--type",
    "business_types",
    type=click.Choice(BUSINESS_TYPES),
    multiple=True,
    required=True,
    help="Business type (repeat for several).",
)
@click.option("--scac", help="SCAC, required for a carrier.")
@click.option("--address", "address_ja", required=True, help="Address in Japanese.")
@click.option("--postal-code", help="e.g. 105-0022")
@click.option("--naccs-user-code", "naccs_user_codes", multiple=True, help="NACCS 利用者コード.")
@click.option(
    "--require-totp/--no-require-totp",
    default=True,
    show_default=True,
    help="Whether its users must use an authenticator.",
)
@click.option("--admin-email", required=True, help="The first admin, invited by mail.")
@click.option("--admin-name", required=True, help="The first admin's display name.")
@click.option("--admin-locale", type=click.Choice(["ja", "en"]), default="ja", show_default=True)
@click.option(
    "--idempotency-key",
    help="Repeat a create safely (the same key answers the first result). Default: a new one.",
)
@json_option
@pass_context
def org_create(
    ctx: Context,
    name_ja: str,
    name_en: str,
    corporate_number: str,
    business_types: tuple[str, ...],
    scac: str | None,
    address_ja: str,
    postal_code: str | None,
    naccs_user_codes: tuple[str, ...],
    require_totp: bool,
    admin_email: str,
    admin_name: str,
    admin_locale: str,
    idempotency_key: str | None,
) -> None:
    """Create an organisation and invite its first admin (the invitation goes out by mail)."""
    address: dict[str, Any] = {"line_ja": address_ja}
    if postal_code:
        address["postal_code"] = postal_code
    body: dict[str, Any] = {
        "name_ja": name_ja,
        "name_en": name_en,
        "corporate_number": corporate_number,
        "business_types": list(business_types),
        "address": address,
        "naccs_user_codes": list(naccs_user_codes),
        "require_totp": require_totp,
        "first_admin": {"email": admin_email, "display_name": admin_name, "locale": admin_locale},
    }
    if scac:
        body["scac"] = scac
    with ctx.gateway() as gateway:
        created = gateway.post(
            "/api/v1/orgs",
            json=body,
            headers={"Idempotency-Key": idempotency_key or new_idempotency_key()},
        )
    if ctx.json:
        emit_json(created)
        return
    click.echo(f"Organisation {created['id']} created: {created['name_en']} ({created['name_ja']})")
    click.echo(f"  business types: {', '.join(created['business_types'])}")
    admin = created.get("first_admin")
    if admin:
        status = admin["status"]
        note = "invitation mailed" if status == "invited" else status
        click.echo(f"  first admin: {admin['email']} ({admin['id']}), status {status}: {note}")


@org.command("list")
@click.option("--limit", type=click.IntRange(1, 200), default=50, show_default=True)
@json_option
@pass_context
def org_list(ctx: Context, limit: int) -> None:
    """Organisations (every one, for platform operators)."""
    with ctx.gateway() as gateway:
        page = gateway.get("/api/v1/orgs", params={"limit": limit})
    if ctx.json:
        emit_json(page)
        return
    click.echo(
        table(
            ["id", "name", "types", "corporate no", "totp"],
            [
                [
                    o["id"],
                    o["name_en"],
                    o["business_types"],
                    o["corporate_number"],
                    o["require_totp"],
                ]
                for o in page["items"]
            ],
        )
    )


@org.command("show")
@click.argument("org_id", type=click.UUID)
@json_option
@pass_context
def org_show(ctx: Context, org_id: Any) -> None:
    """One organisation, with its users."""
    with ctx.gateway() as gateway:
        found = gateway.get(f"/api/v1/orgs/{org_id}")
        users = gateway.get("/api/v1/users", params={"org_id": str(org_id)})
    if ctx.json:
        emit_json({**found, "users": users["items"]})
        return
    click.echo(f"{found['name_en']} ({found['name_ja']})  {found['id']}")
    click.echo(
        f"  types: {', '.join(found['business_types'])}  corporate no: {found['corporate_number']}"
    )
    click.echo(f"  require TOTP: {'yes' if found['require_totp'] else 'no'}")
    click.echo(_users_table(users["items"]))


@cli.command("users")
@click.option("--org", "org_id", type=click.UUID, help="The organisation (operators).")
@json_option
@pass_context
def users_list(ctx: Context, org_id: Any) -> None:
    """Users of an organisation (yours, or --org for operators)."""
    with ctx.gateway() as gateway:
        users = gateway.get("/api/v1/users", params={"org_id": str(org_id) if org_id else None})
    if ctx.json:
        emit_json(users)
        return
    click.echo(_users_table(users["items"]))


def _users_table(users: list[dict[str, Any]]) -> str:
    return table(
        ["email", "name", "roles", "status", "totp", "last login"],
        [
            [
                u["email"],
                u["display_name"],
                u["roles"],
                u["status"],
                u["totp_enabled"],
                when(u["last_login_at"]),
            ]
            for u in users
        ],
        empty="(no users)",
    )


# -- NACCS -------------------------------------------------------------------------------------------
@cli.group()
def naccs() -> None:
    """The NACCS bridge: the send queue."""


@naccs.command("queue")
@click.option(
    "--state",
    "states",
    type=click.Choice(SEND_STATES),
    multiple=True,
    help="Only sends in this state (repeat for several).",
)
@click.option("--org", "org_id", help="Only this organisation's sends.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@json_option
@pass_context
def naccs_queue(ctx: Context, states: tuple[str, ...], org_id: str | None, limit: int) -> None:
    """Every organisation's sends to NACCS: depth, count and oldest per state, the oldest sends."""
    with ctx.gateway() as gateway:
        overview = gateway.get(
            "/api/v1/naccs/queue", params={"status": list(states), "org_id": org_id, "limit": limit}
        )
    if ctx.json:
        emit_json(overview)
        return
    click.echo(f"depth (queued + sending + awaiting result): {overview['depth']}")
    click.echo(
        table(
            ["state", "count", "oldest", "age"],
            [
                [s["status"], s["count"], when(s["oldest_created_at"]), age(s["oldest_age_s"])]
                for s in overview["states"]
            ],
            empty="(no sends)",
        )
    )
    if overview["items"]:
        click.echo("\noldest first:")
        click.echo(
            table(
                [
                    "send",
                    "org",
                    "trade",
                    "code",
                    "state",
                    "naccs user",
                    "tries",
                    "created",
                    "error",
                ],
                [
                    [
                        i["id"],
                        i["org_id"],
                        i["trade_id"],
                        i["code"],
                        i["status"],
                        i["naccs_user_id"],
                        i["attempts"],
                        when(i["created_at"]),
                        (i["last_error"] or "")[:60] or None,
                    ]
                    for i in overview["items"]
                ],
            )
        )


# -- webhooks ----------------------------------------------------------------------------------------
@cli.group()
def webhooks() -> None:
    """Webhook subscriptions: their deliveries, and replaying events to them.

    Org admins act on their own organisation; platform operators name it with --org.
    """


def _org_param(org_id: Any) -> dict[str, Any]:
    return {"org_id": str(org_id)} if org_id else {}


def _subscriptions(gateway: Gateway, org_id: Any, subscription: Any) -> list[dict[str, Any]]:
    base = "/api/v1/notifications/webhooks"
    if subscription:
        return [gateway.get(f"{base}/{subscription}", params=_org_param(org_id))]
    found: list[dict[str, Any]] = gateway.get(base, params=_org_param(org_id))
    return found


org_option = click.option(
    "--org", "org_id", type=click.UUID, help="The organisation (platform operators must name it)."
)
subscription_option = click.option(
    "--subscription", type=click.UUID, help="One subscription (webhook endpoint id); default: all."
)


@webhooks.command("list")
@org_option
@json_option
@pass_context
def webhooks_list(ctx: Context, org_id: Any) -> None:
    """The organisation's subscriptions."""
    with ctx.gateway() as gateway:
        found = _subscriptions(gateway, org_id, None)
    if ctx.json:
        emit_json(found)
        return
    click.echo(
        table(
            ["subscription", "url", "events", "enabled", "failing since"],
            [
                [e["id"], e["url"], e["event_types"], e["enabled"], when(e["failing_since"])]
                for e in found
            ],
            empty="(no subscriptions)",
        )
    )


@webhooks.command("deliveries")
@org_option
@subscription_option
@click.option("--status", type=click.Choice(DELIVERY_STATES))
@click.option("--event", "event_id", type=click.UUID, help="Only deliveries of this event.")
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True)
@json_option
@pass_context
def webhooks_deliveries(
    ctx: Context,
    org_id: Any,
    subscription: Any,
    status: str | None,
    event_id: Any,
    limit: int,
) -> None:
    """The delivery log, newest first, of one subscription or of all."""
    params = {
        **_org_param(org_id),
        "status": status,
        "event_id": str(event_id) if event_id else None,
        "limit": limit,
    }
    rows: list[dict[str, Any]] = []
    with ctx.gateway() as gateway:
        for endpoint in _subscriptions(gateway, org_id, subscription):
            page = gateway.get(
                f"/api/v1/notifications/webhooks/{endpoint['id']}/deliveries", params=params
            )
            rows += [{**item, "url": endpoint["url"]} for item in page["items"]]
    rows.sort(key=lambda row: row["created_at"], reverse=True)
    rows = rows[:limit]
    if ctx.json:
        emit_json(rows)
        return
    click.echo(
        table(
            [
                "delivery",
                "subscription",
                "event",
                "type",
                "status",
                "tries",
                "last",
                "created",
                "replay",
            ],
            [
                [
                    d["id"],
                    d["endpoint_id"],
                    d["event_id"],
                    d["event_type"],
                    d["status"],
                    d["attempt_count"],
                    d["last_status_code"] or (d["last_error"] or "")[:40] or None,
                    when(d["created_at"]),
                    d["is_replay"],
                ]
                for d in rows
            ],
            empty="(no deliveries)",
        )
    )


@webhooks.command("replay")
@org_option
@subscription_option
@click.option("--event", "event_id", type=click.UUID, help="Replay this one event.")
@click.option("--from", "since", type=AwareTime(), help="Events received at or after this time.")
@click.option("--to", "until", type=AwareTime(), help="... and before this time (default: now).")
@json_option
@pass_context
def webhooks_replay(
    ctx: Context,
    org_id: Any,
    subscription: Any,
    event_id: Any,
    since: str | None,
    until: str | None,
) -> None:
    """Deliver events again: one (--event) or a time range (--from [--to])."""
    if event_id and (since or until):
        raise click.UsageError("Give either --event or --from/--to, not both")
    if not event_id and not since:
        raise click.UsageError("Say what to replay: --event ID, or --from TIME [--to TIME]")
    if until and not since:
        raise click.UsageError("--to needs --from")
    body: dict[str, Any] = (
        {"event_id": str(event_id)} if event_id else {"since": since, "until": until}
    )
    body = {k: v for k, v in body.items() if v is not None}
    results: list[dict[str, Any]] = []
    with ctx.gateway() as gateway:
        targets = _subscriptions(gateway, org_id, subscription)
        if not subscription:
            targets = [t for t in targets if t["enabled"]]
        for endpoint in targets:
            answer = gateway.post(
                f"/api/v1/notifications/webhooks/{endpoint['id']}/replay",
                params=_org_param(org_id),
                json=body,
            )
            results.append({"subscription": endpoint["id"], "url": endpoint["url"], **answer})
    if ctx.json:
        emit_json(results)
        return
    if not results:
        click.echo("No enabled subscription to replay to")
        return
    click.echo(
        table(
            ["subscription", "url", "scheduled"],
            [[r["subscription"], r["url"], r["scheduled"]] for r in results],
        )
    )
    click.echo(f"{sum(r['scheduled'] for r in results)} deliveries scheduled")


def main() -> None:
    cli(prog_name="minato")


if __name__ == "__main__":
    main()
