"""Customer-service messages sent by a real Celery worker to the sandbox."""
import time

import pytest

import redis

from tests import live
from tests.conftest import TEST_REDIS_URL, TEST_WECHAT
from wechat import allowance
from wechat.tasks import send_text

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wechat(tmp_path_factory):
    """One sandbox and one real worker for the module; each test sets the sandbox's knobs."""
    env = {**TEST_WECHAT, "REDIS_URL": TEST_REDIS_URL,
           "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('db') / 'w.db'}"}
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    with live.sandbox(env) as (base, state), live.worker({**env, "WECHAT_API_BASE": base}):
        yield state


@pytest.fixture
def sandbox_state(wechat):
    wechat.reset()
    return wechat


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def custom_messages(state, openid):
    return [r for r in state.records if r["kind"] == "custom" and r["touser"] == openid]


def wrote(*openids):
    """What the webhook notes when these followers send a message: their 48-hour allowance opens."""
    r = redis.Redis.from_url(TEST_REDIS_URL)
    for openid in openids:
        r.hset(allowance.key(openid), mapping={"m": int(time.time()), "mu": 0})


def test_late_answers_stop_when_the_allowance_is_used(sandbox_state):
    wrote("oMany000001")
    for n in range(allowance.MESSAGE_COUNT + 2):
        send_text.delay("oMany000001", f"答复{n}")
    send_text.delay("oNever00001", "从未发过消息")
    assert wait_for(lambda: len(custom_messages(sandbox_state, "oMany000001")) == allowance.MESSAGE_COUNT)
    time.sleep(1)
    assert len(custom_messages(sandbox_state, "oMany000001")) == allowance.MESSAGE_COUNT
    assert custom_messages(sandbox_state, "oNever00001") == []


def test_worker_sends_the_late_answer(sandbox_state):
    state = sandbox_state
    wrote("oLate000001")
    send_text.delay("oLate000001", "稍后的答复")
    assert wait_for(lambda: custom_messages(state, "oLate000001"))
    assert custom_messages(state, "oLate000001")[0]["text"] == "稍后的答复"


def test_worker_retries_while_wechat_is_busy(sandbox_state):
    state = sandbox_state
    state.knobs.error_rate = 1.0  # every send answered -1 until each message has failed once
    wrote(*(f"oBusy{i:06d}" for i in range(5)))
    for i in range(5):
        send_text.delay(f"oBusy{i:06d}", "x")
    assert wait_for(lambda: state.stats["errors_injected"] >= 5)
    assert not any(custom_messages(state, f"oBusy{i:06d}") for i in range(5))
    state.knobs.error_rate = 0.0
    assert wait_for(lambda: all(len(custom_messages(state, f"oBusy{i:06d}")) == 1 for i in range(5)))


def test_worker_gives_up_on_an_unfollowed_recipient(sandbox_state):
    state = sandbox_state
    state.knobs.unfollowed = {"oGone000001"}
    wrote("oGone000001", "oHere000001")
    send_text.delay("oGone000001", "x")
    send_text.delay("oHere000001", "y")
    assert wait_for(lambda: custom_messages(state, "oHere000001"))
    time.sleep(0.5)
    assert custom_messages(state, "oGone000001") == []


def test_task_outcomes_are_counted_for_metrics(sandbox_state):
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    import core.metrics  # noqa: F401 - registers the collector in this process

    def samples(name):
        return [s for family in text_string_to_metric_families(generate_latest().decode())
                for s in family.samples if s.name == name]

    wrote("oCount00001")
    send_text.delay("oCount00001", "x")
    assert wait_for(lambda: custom_messages(sandbox_state, "oCount00001"))
    assert wait_for(lambda: any(s.labels == {"task": "wechat.send_text", "outcome": "success"} and s.value >= 1
                                for s in samples("policypush_tasks_total")))
    assert len(samples("policypush_queue_length")) == 1
