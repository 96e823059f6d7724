"""Prometheus metrics. The webhook's are per server process; task counts are kept in Redis by the
workers (signals below), so any server's /metrics shows the whole cluster's tasks and queue."""
from __future__ import annotations

from celery import signals
from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from core.redis import get_redis

WEBHOOK_REQUESTS = Counter("policypush_webhook_requests_total", "Webhook requests by outcome",
                           ["outcome"])
WEBHOOK_LATENCY = Histogram("policypush_webhook_seconds", "Webhook request latency",
                            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
TASK_COUNTS = "metrics:tasks"  # Redis hash "task|outcome" -> count
QUEUE = "celery"


def _count(task, outcome: str) -> None:
    name = getattr(task, "name", None) or str(task)
    try:
        get_redis().hincrby(TASK_COUNTS, f"{name}|{outcome}", 1)
    except Exception:  # noqa: BLE001 - metrics must never fail a task
        pass


@signals.task_success.connect
def _on_success(sender=None, **_):
    _count(sender, "success")


@signals.task_retry.connect
def _on_retry(sender=None, **_):
    _count(sender, "retry")


@signals.task_failure.connect
def _on_failure(sender=None, **_):
    _count(sender, "failure")


class TaskCollector(Collector):
    """Task outcomes and queue depth, read from Redis at scrape time."""

    def collect(self):
        r = get_redis()
        try:
            counts, waiting = r.hgetall(TASK_COUNTS), r.llen(QUEUE)
        except Exception:  # noqa: BLE001 - /healthz reports Redis; /metrics still shows the rest
            return
        tasks = CounterMetricFamily("policypush_tasks", "Celery tasks by name and outcome",
                                    labels=["task", "outcome"])
        for key, value in counts.items():
            task, _, outcome = key.rpartition("|")
            tasks.add_metric([task, outcome], float(value))
        yield tasks
        yield GaugeMetricFamily("policypush_queue_length", "Tasks waiting in the broker queue",
                                value=waiting)


REGISTRY.register(TaskCollector())
