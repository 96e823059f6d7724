"""create_app(): the WeChat API stand-in and chat simulator as one Starlette app."""
from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from sandbox import admin, cgi, oauth, simulator
from sandbox.config import SandboxConfig
from sandbox.state import State
from sandbox.webhook import WebhookPoster


async def home(request: Request) -> RedirectResponse:
    return RedirectResponse("/sandbox/")


def create_app(config: SandboxConfig, *, clock: Callable[[], float] = time.time) -> Starlette:
    """The sandbox app; `clock` lets tests move time (token expiry, 48 h window, dedupe)."""
    state = State(config, clock)
    poster = WebhookPoster(config, state.stats)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await poster.close()

    routes = [
        *cgi.routes(state, poster),
        *admin.routes(state),
        *simulator.routes(state, poster),
        *oauth.routes(state),
        Route("/", home),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sandbox = state  # for tests and embedding; the HTTP endpoints are the interface
    return app
