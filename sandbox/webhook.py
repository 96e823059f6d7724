"""Posting to the project's webhook as WeChat's servers do: signed, retried, receipts in background."""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from sandbox.config import SandboxConfig
from sandbox.signing import ReplyError, Signer, XmlFields

log = logging.getLogger("sandbox.webhook")
RECEIPT_WORKERS = 8
RECEIPT_BACKLOG = 20_000  # beyond this receipts are dropped (and counted), never blocking a send


@dataclass
class Delivery:
    """What happened to one message posted to the webhook."""

    attempts: int = 0
    status: int | None = None  # last HTTP status
    reply: XmlFields | None = None  # decrypted reply fields; None for "success" or empty
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.problems


class WebhookPoster:
    def __init__(self, config: SandboxConfig, stats: Any) -> None:
        self.url, self.stats = config.webhook_url, stats
        self.timeout, self.tries = config.webhook_timeout, config.webhook_tries
        self.signer = Signer(config.token, config.aes_key, config.appid, config.encrypt_mode)
        self._client: httpx.AsyncClient | None = None
        self._queue: asyncio.Queue[tuple[float, XmlFields]] | None = None
        self._workers: list[asyncio.Task[None]] = []

    def _ensure_started(self) -> None:
        # Started lazily so the app also works without a lifespan (tests, mounting).
        if self._client is None:
            limits = httpx.Limits(max_connections=RECEIPT_WORKERS + 16)
            self._client = httpx.AsyncClient(timeout=self.timeout, limits=limits)
        if self._queue is None:
            self._queue = asyncio.Queue(RECEIPT_BACKLOG)
            self._workers = [asyncio.create_task(self._work()) for _ in range(RECEIPT_WORKERS)]

    async def close(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers, self._queue = [], None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def deliver(self, fields: XmlFields, *, tries: int | None = None) -> Delivery:
        """Post one message and read the reply; retried on timeouts and errors like WeChat."""
        result = Delivery()
        if not self.url:
            result.problems.append("未配置 webhook_url")
            return result
        self._ensure_started()
        assert self._client is not None
        for _ in range(tries or self.tries):
            result.attempts += 1
            params, body = self.signer.envelope(fields)
            try:
                resp = await self._client.post(self.url, params=params, content=body.encode(),
                                               headers={"Content-Type": "text/xml"})
            except httpx.HTTPError as exc:
                result.status, result.problems = None, [f"{type(exc).__name__}: {exc}"]
                continue
            result.status = resp.status_code
            if resp.status_code != 200:
                result.problems = [f"HTTP {resp.status_code}"]
                continue
            try:
                result.reply, result.problems = self.signer.open_reply(resp.text), []
            except ReplyError as exc:
                result.problems = [str(exc)]
            break
        return result

    def enqueue_receipt(self, fields: XmlFields, delay: float) -> None:
        """Post `fields` after `delay` seconds, in the background; never blocks the API reply."""
        if not self.url:
            return
        self._ensure_started()
        assert self._queue is not None
        try:
            self._queue.put_nowait((time.monotonic() + delay, fields))
        except asyncio.QueueFull:
            self.stats["receipts_dropped"] += 1

    async def _work(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            due, fields = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:  # FIFO with one delay knob: due order, near enough
                await asyncio.sleep(wait)
            try:
                done = await self.deliver(fields, tries=1)
            except Exception:  # noqa: BLE001 - a worker must outlive any one receipt
                log.exception("receipt post failed")
                self.stats["receipts_failed"] += 1
                continue
            self.stats["receipts_sent" if done.ok else "receipts_failed"] += 1
            if not done.ok:
                log.warning("receipt %s for %s: %s", fields.get("Event"),
                            fields.get("FromUserName"), "; ".join(done.problems))
