"""Prometheus metrics of deliveries (exposed at ``/metrics`` with the HTTP ones)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
