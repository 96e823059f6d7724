"""What the sandbox is (account identity) and how it behaves (knobs), both plain dataclasses."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sandbox.templates import DEFAULT_TEMPLATES, parse_knob



@dataclass(kw_only=True)
class Knobs:
    """Behaviour that tests and benchmarks change at run time through /sandbox/knobs."""

    latency_ms: float = 0.0  # added to every /cgi-bin/ call, token calls included
    error_rate: float = 0.0  # share of calls answered -1 "system error" (token calls excluded)
    daily_quota: int = 100_000  # successful template sends per day, then 45009
    unfollowed: set[str] = field(default_factory=set)  # 43004 on sends
    blocked: set[str] = field(default_factory=set)  # sends succeed, receipt says "failed:user block"
    outside_window: set[str] = field(default_factory=set)  # 45015 on customer-service sends
    # the account's templates, {id: {"title", "content"}}: another id is 40037, a value breaking its key 47003
    templates: dict[str, dict[str, str]] = field(default_factory=lambda: parse_knob(DEFAULT_TEMPLATES))
    receipts: bool = True  # post TEMPLATESENDJOBFINISH / MASSSENDJOBFINISH to the webhook
    receipt_delay_ms: float = 200.0  # WeChat reports delivery a moment after the API answered
    system_fail_rate: float = 0.0  # share of template receipts saying "failed: system failed"
    mass_monthly_limit: int = 4  # a service account's mass sends per month, then 45028
    token_ttl: int = 7200  # seconds an access_token lives
    token_daily_limit: int = 2000  # access_token issues per day, then 45009

    def copy(self) -> Knobs:
        return Knobs(**{f.name: _copy(getattr(self, f.name)) for f in dataclasses.fields(Knobs)})

    def to_json(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(Knobs)}

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial JSON update; sets and templates are replaced, not merged. Raises ValueError."""
        types = {f.name: type(getattr(self, f.name)) for f in dataclasses.fields(Knobs)}
        unknown = sorted(set(changes) - set(types))
        if unknown:
            raise ValueError(f"unknown knobs: {', '.join(unknown)}")
        for name, value in changes.items():
            kind = types[name]
            if kind is dict:
                setattr(self, name, parse_knob(value))
            elif kind is set:
                if not isinstance(value, (list, tuple, set)):
                    raise ValueError(f"{name} must be a list of strings")
                setattr(self, name, {str(v) for v in value})
            elif kind is bool:
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
                setattr(self, name, value)
            else:
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ValueError(f"{name} must be a non-negative number")
                if name.endswith("_rate") and value > 1:
                    raise ValueError(f"{name} is a share between 0 and 1")
                setattr(self, name, kind(value))


@dataclass(kw_only=True)
class SandboxConfig(Knobs):
    """The account the sandbox pretends to be, plus the knobs it starts (and resets) with."""

    appid: str = "wxsandbox00000001"
    secret: str = "sandbox-secret"
    token: str = "policypush"  # the webhook's WECHAT_TOKEN, used to sign what we post to it
    aes_key: str | None = None  # EncodingAESKey (43 chars); None posts plaintext
    encrypt_mode: str = "safe"  # with aes_key: "safe" (Encrypt only) or "compat" (both side by side)
    webhook_url: str | None = None  # the project's /wechat endpoint
    account: str = "gh_policypush"  # ToUserName of everything followers send
    webhook_timeout: float = 5.0  # WeChat waits 5 s for a reply, then retries
    webhook_tries: int = 3
    followers: tuple[str, ...] = ("oPolicyDemoEnterprise01", "oPolicyDemoCitizen0002")
    max_records: int = 200_000  # oldest sent-message records are dropped beyond this

    def knobs(self) -> Knobs:
        return Knobs.copy(self)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: dict(v) for k, v in value.items()}
    return set(value) if isinstance(value, (set, frozenset)) else value


def _jsonable(value: Any) -> Any:
    return sorted(value) if isinstance(value, (set, frozenset)) else value
