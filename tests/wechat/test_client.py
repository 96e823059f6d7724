"""The WeChat client against the sandbox: one shared token, refreshed once, every call via the base."""
import multiprocessing
import threading

import pytest
import redis
from wechatpy.exceptions import WeChatClientException

from tests import live
from tests.conftest import TEST_REDIS_URL, TEST_WECHAT
from wechat import client as wechat_client
from wechat.client import WeChatAPI
from wechat.errors import Action, action_for

ENV = {**TEST_WECHAT, "WECHAT_AES_KEY": ""}


@pytest.fixture
def api_base(redis_client):
    with live.sandbox(ENV) as (base, state):
        yield base, state


def make_client(base: str, timeout: float = 5.0) -> WeChatAPI:
    return WeChatAPI(appid=ENV["WECHAT_APPID"], secret=ENV["WECHAT_SECRET"], api_base=base,
                     redis_client=redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True), timeout=timeout)


def test_many_threads_needing_a_token_at_once_fetch_it_once(api_base):
    base, state = api_base
    clients = [make_client(base) for _ in range(32)]
    start, tokens = threading.Barrier(len(clients)), []

    def need_token(client):
        start.wait()
        tokens.append(client.access_token)

    threads = [threading.Thread(target=need_token, args=(c,)) for c in clients]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(set(tokens)) == 1 and state.stats["tokens_issued"] == 1


def _send_from_process(base: str, start, n: int) -> None:
    client = make_client(base)
    start.wait()
    for i in range(n):
        client.message.send_text(f"oProc{i:06d}", "hello")


def test_many_processes_sending_at_once_fetch_the_token_once(api_base):
    base, state = api_base
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(6)
    procs = [ctx.Process(target=_send_from_process, args=(base, start, 5)) for _ in range(6)]
    [p.start() for p in procs]
    [p.join(60) for p in procs]
    assert [p.exitcode for p in procs] == [0] * 6
    assert state.stats["tokens_issued"] == 1
    assert len([r for r in state.records if r["kind"] == "custom"]) == 30


def test_a_rejected_token_is_refreshed_once_and_the_call_retried(api_base):
    base, state = api_base
    client = make_client(base)
    client.message.send_text("oUser000001", "one")
    state.expire_tokens()
    client.message.send_text("oUser000001", "two")
    assert state.stats["tokens_issued"] == 2


def test_a_process_reads_the_shared_token_again_only_after_a_while(api_base, monkeypatch):
    base, _ = api_base
    client = make_client(base)
    held = client.access_token
    client._redis.set(client.access_token_key, "replaced-elsewhere")
    assert client.access_token == held  # no Redis round trip for every call
    monkeypatch.setattr(wechat_client, "TOKEN_REUSE", 0)
    assert client.access_token == "replaced-elsewhere"


def test_a_held_token_rejected_after_another_process_refreshed_takes_the_new_one(api_base):
    base, state = api_base
    first, second = make_client(base), make_client(base)
    first.message.send_text("oUser000001", "one")
    state.expire_tokens()
    second.message.send_text("oUser000001", "two")  # fetches the second token
    first.message.send_text("oUser000001", "three")  # its held token is rejected: it takes the second
    assert state.stats["tokens_issued"] == 2 and first.access_token == second.access_token


def test_a_token_rejected_again_after_refresh_is_an_error_not_a_loop(api_base):
    base, state = api_base
    state.config.token_ttl = 0  # every token the sandbox issues is already expired
    state.knobs.token_ttl = 0
    client = make_client(base)
    with pytest.raises(WeChatClientException) as exc:
        client.message.send_text("oUser000001", "hello")
    assert exc.value.errcode == 42001 and state.stats["tokens_issued"] == 2


def test_a_bad_secret_is_reported(api_base):
    base, _ = api_base
    client = make_client(base)
    client.secret = "wrong"
    with pytest.raises(WeChatClientException) as exc:
        client.access_token
    assert exc.value.errcode == 40001


def test_calls_with_their_own_host_go_through_the_base(api_base):
    base, state = api_base
    client = make_client(base)
    ticket = client.qrcode.create({"action_name": "QR_LIMIT_STR_SCENE",
                                   "action_info": {"scene": {"scene_str": "park01"}}})["ticket"]
    assert client.qrcode.show(ticket).status_code == 200  # wechatpy names mp.weixin.qq.com here
    root = base.removesuffix("cgi-bin/")
    assert client._local("https://api.weixin.qq.com/datacube/getusersummary") == root + "datacube/getusersummary"


def test_against_the_real_api_urls_are_left_alone(redis_client):
    client = make_client("https://api.weixin.qq.com/cgi-bin/")
    url = "https://mp.weixin.qq.com/cgi-bin/showqrcode"
    assert client._local(url) == url


def test_a_slow_api_times_out_as_a_retryable_error(redis_client):
    with live.sandbox(ENV, latency_ms=800) as (base, _):
        client = make_client(base, timeout=0.3)
        with pytest.raises(WeChatClientException) as exc:
            client.access_token
    assert exc.value.errcode is None and action_for(exc.value) is Action.retry


def test_unreachable_api_is_a_retryable_error(redis_client):
    client = make_client(f"http://127.0.0.1:{live.free_port()}/cgi-bin/", timeout=1)
    with pytest.raises(WeChatClientException) as exc:
        client.message.send_text("oUser000001", "x")
    assert action_for(exc.value) is Action.retry


@pytest.mark.parametrize("code, action", [
    (-1, Action.retry), (40001, Action.refresh_token), (42001, Action.refresh_token),
    (40014, Action.refresh_token), (45009, Action.pause_quota), (43004, Action.drop_recipient),
    (40003, Action.drop_recipient), (40037, Action.stop_campaign), (47003, Action.stop_campaign),
    (45015, Action.other_channel),
    (48001, Action.fail),
])
def test_error_codes_map_to_what_the_caller_must_do(code, action):
    assert action_for(WeChatClientException(code, "x")) is action
