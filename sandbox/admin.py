"""/sandbox/ control and record endpoints: knobs, reset, token expiry, sent messages, stats."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.state import SENT_KINDS, State


def routes(state: State) -> list[Route]:
    async def knobs(request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                changes = await request.json()
                if not isinstance(changes, dict):
                    raise ValueError("send a JSON object of knob: value")
                staged = state.knobs.copy()  # all or nothing
                staged.update(changes)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            state.knobs = staged
        return JSONResponse(state.knobs.to_json())

    async def reset(request: Request) -> JSONResponse:
        state.reset()
        return JSONResponse({"ok": True})

    async def expire_tokens(request: Request) -> JSONResponse:
        state.expire_tokens()
        return JSONResponse({"expired": len(state.tokens)})

    async def sent(request: Request) -> JSONResponse:
        q = request.query_params
        kind = q.get("kind") or None
        if kind is not None and kind not in SENT_KINDS:
            return JSONResponse({"error": f"kind must be one of {sorted(SENT_KINDS)}"}, 400)
        try:
            limit, offset = int(q.get("limit", 50)), int(q.get("offset", 0))
        except ValueError:
            return JSONResponse({"error": "limit and offset must be integers"}, 400)
        found = state.sent(touser=q.get("touser") or None, kind=kind,
                           limit=max(1, min(limit, 1000)), offset=max(0, offset))
        return JSONResponse({"messages": found, "limit": limit, "offset": offset})

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(stats_json(state))

    return [
        Route("/sandbox/knobs", knobs, methods=["GET", "POST"]),
        Route("/sandbox/reset", reset, methods=["POST"]),
        Route("/sandbox/tokens/expire", expire_tokens, methods=["POST"]),
        Route("/sandbox/messages", sent),
        Route("/sandbox/stats", stats),
    ]


def stats_json(state: State) -> dict[str, Any]:
    s, now = state.stats, state.clock()
    return {
        "sent": {kind: s[kind] for kind in sorted(SENT_KINDS)},
        "template_deduped": s["template_deduped"],
        "tokens_issued": s["tokens_issued"],
        "tokens_valid": sum(1 for expires in state.tokens.values() if expires > now),
        "api_calls": s["api_calls"],
        "errors_injected": s["errors_injected"],
        "errors": {str(code): n for code, n in sorted(state.errors.items())},
        "receipts": {k: s[f"receipts_{k}"] for k in ("sent", "failed", "dropped")},
        "today": {"template": state.daily[("template", state.today())],
                  "tokens": state.daily[("token", state.today())]},
        "mass_this_month": state.monthly[("mass", state.this_month())],
    }
