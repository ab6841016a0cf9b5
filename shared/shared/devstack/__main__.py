"""``python -m shared.devstack run``: the whole system in the foreground, stopped by Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from types import FrameType

import httpx

from shared.devstack.demo import DemoError, DemoWorld, operator_token, refuse_unless_local
from shared.devstack.stack import (
    ALL_SERVICES,
    DEMO_OPERATOR_EMAIL,
    DEMO_OPERATOR_PASSWORD,
    GATEWAY,
    Stack,
    options_from_env,
)


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _replicas_line(stack: Stack) -> str:
    """With ``MINATO_REPLICAS`` > 1: every gateway, and how many processes each service has."""
    if stack.options.replicas <= 1:
        return ""
    others = ", ".join(stack.replica_urls(GATEWAY)[1:])
    return (
        f"  Replicas:  {stack.options.replicas} of every service (not the NACCS stand-in); "
        f"the other gateways: {others}\n"
    )


def run() -> int:
    stack = Stack(options_from_env())
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    started = time.monotonic()
    try:
        stack.start()
        assert stack.postgres is not None
        where = "embedded PostgreSQL" if stack.postgres.embedded else "DATABASE_URL"
        print(  # noqa: T201 - this is the command's output for a person
            f"\nMinato is up in {time.monotonic() - started:.1f}s ({where}).\n"
            f"  Gateway:   {stack.gateway_url}\n"
            + _replicas_line(stack)
            + f"  API docs:  {stack.gateway_url}/docs\n"
            f"  Mail sink: {stack.processes['smtp-sink'].url}/messages\n"
            f"  Demo login (platform operator): {DEMO_OPERATOR_EMAIL} / {DEMO_OPERATOR_PASSWORD}\n"
            "  Demo world (organisations, logins, trades): `make demo` in another terminal\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        while True:
            for running in stack.processes.values():
                if running.process.poll() is not None:
                    print(  # noqa: T201
                        f"{running.name} exited with {running.process.returncode}; stopping",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(0.5)
    except _Stop:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nStopping Minato...", flush=True)  # noqa: T201
        stack.stop()
        print("Stopped.", flush=True)  # noqa: T201


def run_one(name: str) -> int:
    """One service alone, in the foreground, with its database migrated (for working on it)."""
    stack = Stack(options_from_env())
    spec = next((s for s in ALL_SERVICES if s.name == name), None)
    if spec is None:
        print(f"unknown service {name!r}; one of: {', '.join(s.name for s in ALL_SERVICES)}")  # noqa: T201
        return 2
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        stack.prepare_databases(only=spec)
        stack.start_service(spec)
        print(f"{name} on {stack.processes[name].url} (Ctrl-C stops it)", flush=True)  # noqa: T201
        return stack.processes[name].process.wait()
    except _Stop:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stack.stop()


def demo() -> int:
    """Seed the demo world into the running `make run` (MINATO_URL, MINATO_MAIL_URL)."""
    url = os.environ.get("MINATO_URL", "http://127.0.0.1:8000").rstrip("/")
    mail_url = os.environ.get("MINATO_MAIL_URL", "http://127.0.0.1:8026")
    standin_url = os.environ.get("MINATO_NACCS_STANDIN_URL", "http://127.0.0.1:8010")
    with httpx.Client(base_url=url, timeout=httpx.Timeout(30.0)) as client:
        try:
            refuse_unless_local(url)
            token = operator_token(client, DEMO_OPERATOR_EMAIL, DEMO_OPERATOR_PASSWORD)
            world = DemoWorld(
                client,
                operator_token=token,
                mail_url=mail_url,
                naccs_standin_url=standin_url,
                say=lambda line: print(line, flush=True),  # noqa: T201
            )
            world.seed()
        except DemoError as exc:
            print(f"demo: {exc}", file=sys.stderr)  # noqa: T201
            return 1
        except httpx.TransportError as exc:
            print(  # noqa: T201
                f"demo: nothing answers at {url} or {mail_url} ({exc}); start `make run` first "
                "(set MINATO_URL, MINATO_MAIL_URL, MINATO_NACCS_STANDIN_URL if it printed other ports)",
                file=sys.stderr,
            )
            return 1
    print(world.summary(url))  # noqa: T201
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.devstack")
    parser.add_argument("command", choices=["run", "service", "demo"])
    parser.add_argument("name", nargs="?", help="the service, for `service`")
    args = parser.parse_args()
    if args.command == "service":
        sys.exit(run_one(args.name or ""))
    if args.command == "demo":
        sys.exit(demo())
    sys.exit(run())


if __name__ == "__main__":
    main()
