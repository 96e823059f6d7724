"""/healthz for load balancers and /metrics for Prometheus."""
from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from core.db import get_engine
from core.redis import get_async_redis

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])
WEBHOOK_WITHOUT_REDIS = ("degraded: answers keywords and the help within WeChat's 5 s, without de-duplicating "
                         "WeChat's retries, without dialogs or conversation history")


def _database() -> None:
    with get_engine().connect() as conn:
        conn.execute(text("SELECT 1"))


def _broker() -> None:
    from core.queue import celery_app

    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


async def _check(name: str, probe) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe(), timeout=3)
        return name, "ok"
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure
        log.warning("health check failed", extra={"check": name, "error": repr(exc)})
        return name, f"error: {type(exc).__name__}"


@router.get("/healthz", summary="Database, Redis and broker reachability",
            responses={503: {"description": "something is unreachable; `checks` says what"}})
async def healthz() -> JSONResponse:
    checks = dict(await asyncio.gather(
        _check("database", lambda: asyncio.to_thread(_database)),
        _check("redis", lambda: get_async_redis().ping()),
        _check("broker", lambda: asyncio.to_thread(_broker)),
    ))
    healthy = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if healthy else "degraded", "checks": checks}
    if checks["redis"] != "ok":
        body["webhook"] = WEBHOOK_WITHOUT_REDIS
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
