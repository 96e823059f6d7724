"""The Celery app every process enqueues through; worker.py adds its includes and the beat schedule.

Tasks are short and idempotent: Redis redelivers an unacknowledged task after the visibility
timeout, and a worker killed mid-task has its task run again.
"""
from __future__ import annotations

from celery import Celery

from core.redis import celery_url, client_options, redis_url

VISIBILITY_TIMEOUT = 3 * 3600  # longer than any task may run

celery_app = Celery("policypush")
celery_app.conf.update(
    broker_url=celery_url(redis_url()),
    broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT, **client_options()},
    broker_connection_retry_on_startup=True,
    task_ignore_result=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    timezone="Asia/Shanghai",
    enable_utc=True,
    worker_hijack_root_logger=False,
)
celery_app.set_default()
