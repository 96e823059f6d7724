"""Quiet hours ("22:00-08:00" local time): when nothing is sent, and when sending may go on."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def _parse(spec: str) -> tuple[time, time]:
    start, end = spec.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def quiet_until(spec: str | None, tz: str, now: datetime) -> datetime | None:
    """The end of the quiet window `now` falls in (UTC), or None when sending is allowed."""
    if not spec:
        return None
    start, end = _parse(spec)
    if start == end:
        return None
    local = now.astimezone(ZoneInfo(tz))
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    ends = datetime.combine(local.date(), end, tzinfo=local.tzinfo)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(UTC)


def next_midnight(tz: str, now: datetime) -> datetime:
    """When WeChat's daily quotas reset (midnight China time)."""
    local = now.astimezone(ZoneInfo(tz))
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0, 0), tzinfo=local.tzinfo)
    return midnight.astimezone(UTC)
