"""The ASGI app: `uvicorn server:app`. It mounts each domain's router and holds no domain logic."""
from __future__ import annotations

import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI

from core import logging as structured_logging
from core import migrate
from core.settings import get_settings
from ops import api as ops_api
from staff import api as staff_api
from webhooks import api as webhook_api

ROUTERS = [
    webhook_api.router,
    staff_api.router,
    ops_api.router,
]


@asynccontextmanager
async def lifespan(_app: FastAPI):
    structured_logging.configure(get_settings().log_level)
    migrate.upgrade()
    # Everything loaded so far lives as long as the process: keep it out of the collector's scans,
    # which otherwise stall the event loop for tens of milliseconds under load.
    gc.freeze()
    yield


app = FastAPI(title="PolicyPush", summary="Government policy to the people it is for, through WeChat",
              lifespan=lifespan)
for router in ROUTERS:
    app.include_router(router)
