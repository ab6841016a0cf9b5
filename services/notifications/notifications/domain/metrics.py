"""Prometheus metrics of deliveries (exposed at ``/metrics`` with the HTTP ones)."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import Counter, Gauge, Histogram

from notifications.db.backlog import read_delivery_backlog

WEBHOOK_ATTEMPTS = Counter(
    "minato_webhook_attempts_total",
    "Webhook delivery attempts, by outcome (delivered, failed, gone, refused_target, timeout, error)",
    ["outcome"],
)
WEBHOOK_ATTEMPT_DURATION = Histogram(
    "minato_webhook_attempt_duration_seconds",
    "Time a partner endpoint took to answer a delivery",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0),
)
WEBHOOK_ENDPOINTS_DISABLED = Counter(
    "minato_webhook_endpoints_disabled_total",
    "Webhook endpoints disabled automatically, by reason (gone, failing)",
    ["reason"],
)
EMAILS = Counter(
    "minato_notification_emails_total", "Mail sending attempts, by outcome", ["outcome"]
)
INBOUND_FORWARDS = Counter(
    "minato_partner_inbound_forwards_total",
    "Partner S/I forwarding attempts to the forms service, by outcome",
    ["outcome"],
)

# Read from the database at scrape time (the same from every replica).
WEBHOOKS_PENDING = Gauge(
    "minato_webhook_deliveries_pending", "Webhook deliveries waiting to be made or retried"
)
WEBHOOKS_OLDEST_PENDING_AGE = Gauge(
    "minato_webhook_oldest_pending_age_seconds",
    "Age of the oldest webhook delivery still pending; 0 when there is none",
)
EMAILS_PENDING = Gauge("minato_notification_emails_pending", "Mails waiting to be sent or retried")
EMAILS_OLDEST_PENDING_AGE = Gauge(
    "minato_notification_emails_oldest_pending_age_seconds",
    "Age of the oldest mail still pending; 0 when there is none",
)


async def delivery_backlog_probe(app: FastAPI) -> None:
    backlog = await read_delivery_backlog(app.state.engine)
    WEBHOOKS_PENDING.set(backlog.webhooks.pending)
    WEBHOOKS_OLDEST_PENDING_AGE.set(backlog.webhooks.oldest_age_s)
    EMAILS_PENDING.set(backlog.emails.pending)
    EMAILS_OLDEST_PENDING_AGE.set(backlog.emails.oldest_age_s)
