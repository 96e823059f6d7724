"""The ASGI app: `uvicorn server:app`. It mounts each domain's router and holds no domain logic."""
from __future__ import annotations

import asyncio
import gc
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from bot import api as bot_api
from console import accounts as console_accounts
from console import assessment as console_assessment
from console import assets as console_assets
from console import audit as console_audit
from console import auth as console_auth
from console import bindings as console_bindings
from console import campaigns as console_campaigns
from console import survey_feedback as console_survey_feedback
from console import surveys as console_surveys
from console import dashboard as console_dashboard
from console import enterprises as console_enterprises
from console import followers as console_followers
from console import imports as console_imports
from console import knowledge as console_knowledge
from console import parks as console_parks
from console import policies as console_policies
from console import questions as console_questions
from console import segments as console_segments
from console import topics as console_topics
from console.errors import console_http_errors
from core import logging as structured_logging
from core import migrate, problems
from core.settings import get_settings
from ops import api as ops_api
from policies import api as policies_api
from policies import pages as policy_pages
from policies import search
from push import api as push_api
from staff import api as staff_api
from staff import uploads as staff_uploads
from subscriptions import api as subscriptions_api
from subscriptions import verification_api
from surveys import api as surveys_api
from surveys import feedback_api as survey_feedback
from surveys import form as survey_form
from webhooks import api as webhook_api

# Followers' pages first: matching walks the routes in order, and the survey form takes the load.
# console.imports before the other console areas: its forms sit at /console/<area>/import, beside their /{id}.
ROUTERS = [webhook_api.router, survey_form.router, survey_feedback.public, policy_pages.router, push_api.public,
           ops_api.router, console_assets.docs, console_auth.router, console_imports.router,
           console_dashboard.router, console_campaigns.router, console_survey_feedback.router, console_surveys.router,
           console_bindings.router, console_accounts.router, console_knowledge.router, console_questions.router,
           console_policies.router, console_audit.router, console_assessment.router, console_enterprises.router,
           console_followers.router, console_parks.router, console_topics.router, console_segments.router]
# the staff API: every route documents the shared refusals (core.problems)
STAFF_ROUTERS = [staff_api.router, staff_uploads.router, subscriptions_api.router, verification_api.router,
                 bot_api.router, policies_api.router, push_api.router, surveys_api.router,
                 survey_feedback.router]


async def _reach_every_route(app: FastAPI) -> None:
    """FastAPI builds an included router's routes on the first request that reaches it, 0.3 s for all of them
    on the event loop, which stalls the webhook then: a request that matches no route builds them all now."""
    scope = {"type": "http", "method": "GET", "path": "/-/no-such-route", "raw_path": b"/-/no-such-route",
             "query_string": b"", "headers": [], "root_path": ""}

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send(_message: dict) -> None:
        pass

    await app.router(scope, receive, send)


@asynccontextmanager
async def lifespan(_app: FastAPI):
    structured_logging.configure(get_settings().log_level)
    get_settings().check_public_base_url()  # before anything else: no server that sends links nobody can open
    migrate.upgrade()
    # Handlers that touch the database or search run in these threads (`asyncio.to_thread`).
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(32, thread_name_prefix="handler"))
    search.warm_up()  # jieba and the answer index load now, not within a follower's first 5 seconds
    await _reach_every_route(_app)
    # Everything loaded so far lives as long as the process: keep it out of the collector's scans,
    # which otherwise stall the event loop for tens of milliseconds under load.
    gc.freeze()
    yield


app = FastAPI(title="PolicyPush", summary="Government policy to the people it is for, through WeChat",
              lifespan=lifespan, docs_url=None, redoc_url=None)  # /docs and /redoc: console.assets, offline
for router in ROUTERS:
    app.include_router(router)
for router in STAFF_ROUTERS:
    app.include_router(router, responses=problems.STAFF_API)
app.mount("/console/static", console_assets.static, name="console-static")
app.add_exception_handler(StarletteHTTPException, console_http_errors)


async def client_gone(_request: Request, _exc: ClientDisconnect) -> Response:
    """A client that went away before its body ended (a closed tab, a dropped connection) is nobody's error."""
    return Response(status_code=400)


app.add_exception_handler(ClientDisconnect, client_gone)
app.add_middleware(staff_uploads.UploadLimit)
app.add_middleware(webhook_api.MessagesFirst)
