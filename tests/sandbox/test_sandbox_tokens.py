"""GET /cgi-bin/token and the access_token check every other call makes."""
from __future__ import annotations

import time

import pytest


def token(sb, **params):
    config = sb.state.config
    query = {"grant_type": "client_credential", "appid": config.appid, "secret": config.secret, **params}
    return sb.client.get("/cgi-bin/token", params={k: v for k, v in query.items() if v is not None}).json()


def test_token_is_issued_and_counted(sb):
    answer = token(sb)
    assert answer["expires_in"] == 7200 and len(answer["access_token"]) > 64
    assert sb.api("menu/delete", access_token=answer["access_token"])["errcode"] == 0
    assert sb.client.get("/sandbox/stats").json()["tokens_issued"] == 2  # fixture's + this one


@pytest.mark.parametrize("params, errcode", [
    ({"grant_type": "password"}, 40002),
    ({"appid": None}, 41002),
    ({"appid": "wxsomeoneelse0001"}, 40013),
    ({"secret": None}, 41004),
    ({"secret": "wrong"}, 40001),
])
def test_token_errors(sb, params, errcode):
    answer = token(sb, **params)
    assert answer["errcode"] == errcode and "rid:" in answer["errmsg"]


def test_token_daily_limit(sb):
    sb.knobs(token_daily_limit=2)  # the fixture already took one
    assert "access_token" in token(sb)
    assert token(sb)["errcode"] == 45009


@pytest.mark.parametrize("access_token, errcode", [(None, 41001), ("", 41001), ("forged", 40001)])
def test_calls_need_a_known_token(sb, access_token, errcode):
    params = {} if access_token is None else {"access_token": access_token}
    assert sb.client.get("/cgi-bin/menu/get", params=params).json()["errcode"] == errcode


def test_expire_endpoint_gives_42001_then_refresh_works(sb):
    assert sb.client.post("/sandbox/tokens/expire").json() == {"expired": 1}
    assert sb.template()["errcode"] == 42001
    sb.token = sb.new_token()
    assert sb.template()["errcode"] == 0


def test_token_expires_after_ttl(make_sandbox, clock):
    sb = make_sandbox(clock=clock)
    clock.advance(7199)
    assert sb.template()["errcode"] == 0
    clock.advance(2)
    assert sb.template()["errcode"] == 42001


def test_previous_token_lives_five_minutes_after_a_refresh(make_sandbox, clock):
    sb = make_sandbox(clock=clock)
    old = sb.token
    sb.token = sb.new_token()
    clock.advance(299)
    assert sb.api("menu/delete", access_token=old)["errcode"] == 0
    clock.advance(2)
    assert sb.api("menu/delete", access_token=old)["errcode"] == 42001
    assert sb.api("menu/delete")["errcode"] == 0


def test_token_ttl_knob(make_sandbox, clock):
    sb = make_sandbox(clock=clock, token_ttl=60)
    assert token(sb)["expires_in"] == 60
    clock.advance(61)
    assert sb.template()["errcode"] == 42001


def test_error_rate_spares_token_calls_and_latency_applies(sb):
    sb.knobs(error_rate=1.0, latency_ms=50)
    started = time.monotonic()
    assert "access_token" in token(sb)
    assert time.monotonic() - started >= 0.05
    answer = sb.template()
    assert answer["errcode"] == -1 and answer["errmsg"].startswith("system error")
    assert sb.template()["errcode"] == -1
    assert sb.api("menu/get")["errcode"] == -1
    stats = sb.client.get("/sandbox/stats").json()
    assert stats["errors_injected"] == 3 and stats["errors"]["-1"] == 3
    assert stats["sent"]["template"] == 0
