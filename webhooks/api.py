"""GET /wechat verifies the URL; POST /wechat receives messages and events."""
from __future__ import annotations

import asyncio
import inspect
import logging
import time
from functools import lru_cache

import redis.exceptions
from fastapi import APIRouter, Request, Response
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from core.metrics import WEBHOOK_LATENCY, WEBHOOK_REQUESTS
from core.redis import get_autopipeline
from core.settings import get_settings
from webhooks import dedupe
from webhooks.protocol import MAX_BODY, Codec, Rejected, check_signature, render
from webhooks.routing import route
from wechat.messages import Answer, Inbound, as_text

log = logging.getLogger(__name__)
SUCCESS = "success"  # what WeChat expects when there is no passive reply
DRAIN = 16 * MAX_BODY  # beyond this the connection is simply dropped
SORRY = Answer(text="系统繁忙，请稍后再试。")
_running_late: set[asyncio.Future] = set()  # answers past their budget, held until they are queued


@lru_cache
def codec() -> Codec:
    s = get_settings()
    return Codec(s.wechat_token, s.wechat_aes_key, s.wechat_appid)


def _reject(exc: Rejected, request: Request) -> Response:
    outcome = {400: "bad_request", 403: "forbidden", 413: "too_large"}.get(exc.status, "rejected")
    WEBHOOK_REQUESTS.labels(outcome).inc()
    log.warning("webhook request rejected", extra={
        "reason": exc.reason, "status": exc.status, "client": request.client.host if request.client else None})
    return Response(exc.reason, status_code=exc.status, media_type="text/plain")


async def verify(request: Request) -> Response:
    params = dict(request.query_params)
    try:
        check_signature(get_settings().wechat_token, params, get_settings().wechat_max_clock_skew)
    except Rejected as exc:
        return _reject(exc, request)
    WEBHOOK_REQUESTS.labels("verified").inc()
    return Response(params.get("echostr", ""), media_type="text/plain")


async def receive(request: Request) -> Response:
    started = time.perf_counter()
    try:
        params = dict(request.query_params)
        settings = get_settings()
        check_signature(settings.wechat_token, params, settings.wechat_max_clock_skew)
        envelope = codec().open(params, await _read_body(request))
        msg = Inbound.from_fields(envelope.fields)
        if not msg.openid or not msg.kind:
            raise Rejected(400, "message without FromUserName or MsgType")
    except Rejected as exc:
        return _reject(exc, request)
    keep = dedupe.keep_for(int(params["timestamp"]), int(time.time()), settings.wechat_max_clock_skew)
    reply, outcome = await _reply(msg, settings.wechat_reply_budget, keep)
    WEBHOOK_REQUESTS.labels(outcome).inc()
    WEBHOOK_LATENCY.observe(time.perf_counter() - started)
    if reply == SUCCESS:
        return Response(SUCCESS, media_type="text/plain")
    return Response(codec().seal(reply, envelope.encrypted), media_type="application/xml")


async def _read_body(request: Request) -> bytes:
    """At most MAX_BODY bytes; a larger body is read to the end (up to DRAIN) so that the sender
    sees the 413 instead of a reset connection, but none of it is kept."""
    declared = request.headers.get("content-length", "")
    body, size = bytearray(), 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size <= MAX_BODY:
                body += chunk
            elif size > DRAIN:
                break
    except ClientDisconnect:
        raise Rejected(400, "the sender went away before the body ended") from None
    if size > MAX_BODY or (declared.isdigit() and int(declared) > MAX_BODY):
        raise Rejected(413, f"body of {declared or size} bytes is over {MAX_BODY}")
    return bytes(body)


async def _reply(msg: Inbound, budget: float, keep: int) -> tuple[str, str]:
    """The reply XML (or `success`) for a message, handling it only if no earlier try (or replay of the
    same signed request within `keep` seconds) did."""
    started = time.monotonic()
    r = get_autopipeline()
    try:
        earlier = await dedupe.claim(r, msg, int(time.time()), keep)
    except redis.exceptions.RedisError:
        log.exception("dedupe unavailable; handling without it")
        r, earlier = None, None
    if earlier is not None:
        if earlier == dedupe.PENDING:
            earlier = await dedupe.wait_for_reply(r, msg.dedupe_key, budget)
        return earlier or SUCCESS, "retry"
    # the budget counts from the request, so time lost to a failing Redis is not added to WeChat's wait
    reply, outcome = await _handle(msg, budget - (time.monotonic() - started))
    if r is not None:
        dedupe.store(r, msg.dedupe_key, reply, keep)
    return reply, outcome


async def _handle(msg: Inbound, budget: float) -> tuple[str, str]:
    """Async handlers run on the event loop; plain functions (database work, search) in a thread."""
    handler = route(msg)
    if inspect.iscoroutinefunction(handler):
        running = asyncio.ensure_future(handler(msg))
    else:
        running = asyncio.ensure_future(asyncio.to_thread(handler, msg))
    done, _ = await asyncio.wait([running], timeout=budget)
    if not done:
        late = asyncio.ensure_future(_answer_late(msg, running))
        _running_late.add(late)
        late.add_done_callback(_running_late.discard)
        log.info("handler over budget; answering later", extra={"openid": msg.openid, "route": msg.route})
        return SUCCESS, "late"
    try:
        answer = running.result()
    except Exception:
        log.exception("handler failed", extra={"openid": msg.openid, "route": msg.route})
        answer, outcome = SORRY, "error"
    else:
        outcome = "replied" if answer else "empty"
    if answer is None:
        return SUCCESS, outcome
    return render(answer, to=msg.openid, account=msg.account), outcome


# A plain Starlette route: WeChat's protocol is not the staff API. Its POSTs never reach the router (below).
router = APIRouter()
router.add_route("/wechat", verify, methods=["GET"], include_in_schema=False)


class MessagesFirst:
    """ASGI middleware that hands WeChat's POSTs to `receive` straight away, past FastAPI's route matching,
    exception middleware and per-request exit stack, which took a third of the time of each reply.
    `receive` answers every client error itself; anything it raises still reaches the server error handler."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, asgi_receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/wechat":
            response = await receive(Request(scope, asgi_receive))
            await response(scope, asgi_receive, send)
        else:
            await self.app(scope, asgi_receive, send)


async def _answer_late(msg: Inbound, running: asyncio.Future) -> None:
    """A slow handler's answer goes out from a worker as a customer-service message."""
    try:
        answer = await running
    except Exception:
        log.exception("handler failed after its budget", extra={"openid": msg.openid, "route": msg.route})
        return
    if answer is not None:
        await asyncio.to_thread(_queue_late, msg.openid, as_text(answer))


def _queue_late(openid: str, text: str) -> None:
    from wechat.tasks import send_text  # imports the Celery app only where it is needed

    try:
        send_text.delay(openid, text)
    except Exception:
        log.exception("late answer not queued", extra={"openid": openid})
