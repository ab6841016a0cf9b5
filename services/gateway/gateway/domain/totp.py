"""TOTP (RFC 6238: 30-second steps, 6 digits, SHA-1 as every authenticator app expects).

One step either side is accepted for clock drift (§5.2), and a code is accepted only for a step later
than the last accepted one, so the same code (or an earlier one) never works twice."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

STEP_S = 30
DIGITS = 6
DRIFT_STEPS = 1
ISSUER = "Minato"


def time_step(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_S


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S).at(moment)


def accepted_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S)
    current = time_step(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S).provisioning_uri(
        name=email, issuer_name=ISSUER
    )
