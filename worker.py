"""The Celery app for `celery -A worker worker` and `celery -A worker beat`: includes and schedule."""
from __future__ import annotations

from core import logging as structured_logging
from core import metrics  # noqa: F401 - connects the signals that count task outcomes
from core.queue import celery_app as app
from core.settings import UnreachableLinks, get_settings

app.conf.include = ["wechat.tasks", "bot.tasks", "subscriptions.tasks", "policies.tasks", "push.tasks",
                    "staff.import_jobs"]
app.conf.beat_schedule = {
    "flush-last-seen": {"task": "subscriptions.flush_last_seen", "schedule": 60.0},
    "policy-status": {"task": "policies.refresh_status", "schedule": 3600.0},
    "sync-wechat-tags": {"task": "subscriptions.sync_wechat_tags", "schedule": 3600.0},
    "import-recover": {"task": "imports.recover", "schedule": 60.0},
    "push-tick": {"task": "push.tick", "schedule": get_settings().push_tick_seconds},
}
structured_logging.configure(get_settings().log_level)
try:  # workers send the pushes: none with links nobody can open
    get_settings().check_public_base_url()
except UnreachableLinks as exc:
    raise SystemExit(f"policypush worker: {exc}") from None
