"""Server-sent events for what a client follows until it ends (a campaign's progress): every `interval` the
current state is read in the threadpool (database calls block) and sent as one event; once the state says it
is final, a `finished` event ends the stream. Between reads no thread is held, so open pages cost nothing."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

FINISHED = "finished"


def event(name: str, data: str) -> str:
    """One event; every line of `data` gets its own `data:` field, as the format requires."""
    return f"event: {name}\n" + "".join(f"data: {line}\n" for line in data.splitlines() or [""]) + "\n"


def follow(request: Request, read: Callable[[], tuple[str, bool]], *, name: str, interval: float) -> StreamingResponse:
    """Stream `read()`'s data as `name` events until it says final (then `finished`) or the client leaves."""
    async def events() -> AsyncIterator[str]:
        while True:
            data, final = await run_in_threadpool(read)
            yield event(name, data)
            if final:
                yield event(FINISHED, "")
                return
            await asyncio.sleep(interval)
            if await request.is_disconnected():
                return

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
