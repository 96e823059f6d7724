"""Prometheus metrics shared by the server and the workers."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

WEBHOOK_REQUESTS = Counter("policypush_webhook_requests_total", "Webhook requests by outcome",
                           ["outcome"])
WEBHOOK_LATENCY = Histogram("policypush_webhook_seconds", "Webhook request latency",
                            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
TASKS = Counter("policypush_tasks_total", "Celery tasks by name and outcome", ["task", "outcome"])
