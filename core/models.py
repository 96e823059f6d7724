"""Imports every domain's models so that Alembic and the tests see the whole schema."""
from __future__ import annotations

import importlib

from sqlalchemy import MetaData

DOMAIN_MODELS = ["staff.models", "subscriptions.models", "bot.models", "policies.models", "push.models",
                 "surveys.models"]


def metadata() -> MetaData:
    from core.db import Base

    for name in DOMAIN_MODELS:
        importlib.import_module(name)
    return Base.metadata
