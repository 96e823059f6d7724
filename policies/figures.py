"""The policy library's figures over time, for the assessment: policies issued and their interpretations."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from policies.models import Policy


def published_by_month(*, session: Session, since: date, until: date) -> list[dict]:
    """Policies issued in [since, until), by month (YYYY-MM) and issuing department: how many, and how many
    with every part of their interpretation (三同步)."""
    figures: dict[tuple[str, str], dict] = {}
    policies = session.scalars(select(Policy).options(selectinload(Policy.interpretation))
                               .where(Policy.issued_on >= since, Policy.issued_on < until))
    for p in policies:
        key = (p.issued_on.strftime("%Y-%m"), p.issuer)
        row = figures.setdefault(key, {"month": key[0], "issuer": key[1], "published": 0, "complete": 0})
        row["published"] += 1
        row["complete"] += not p.missing_parts()
    return list(figures.values())
