"""Fixtures for push tests: followers in a park of their own, a policy with its interpretation,
staff, and (for the engine tests) a module's database, sandbox, beat and killable real workers."""
from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import redis
from sqlalchemy import create_engine, insert, text

from core.db import session_scope
from policies.models import PARTS, Interpretation, Policy
from push import service
from push.models import Campaign, CampaignKind
from push.schemas import CampaignCreate
from staff import service as staff_service
from staff.models import Role, StaffUser
from subscriptions.models import Follower, Park
from tests import live
from tests.conftest import BACKENDS, PG_ADMIN_URL, TEST_REDIS_URL, TEST_WECHAT, build_schema, clear_caches

_seq = itertools.count(1)


def make_park(session, name: str | None = None) -> Park:
    park = Park(name=name or f"园区-{uuid.uuid4().hex[:8]}")
    session.add(park)
    session.flush()
    return park


def make_followers(session, park: Park, n: int, prefix: str | None = None) -> list[str]:
    """n followers in `park` (a filter {"parks": [park.id]} reaches exactly them); returns openids."""
    prefix = prefix or f"o{uuid.uuid4().hex[:10]}"
    openids = [f"{prefix}{i:06d}" for i in range(n)]
    for i in range(0, n, 5000):
        session.execute(insert(Follower), [{"openid": o, "park_id": park.id} for o in openids[i:i + 5000]])
    session.flush()
    return openids


def make_policy(session, *, complete: bool = True) -> Policy:
    policy = Policy(title=f"关于支持中小企业发展的若干措施{next(_seq)}", issuer="市人民政府办公室",
                    doc_number=f"葫政办发〔2024〕{uuid.uuid4().int % 100000}号", body="第一条 ……")
    parts = {f: f"{label}的内容" for f, label in PARTS.items()}
    if not complete:
        parts["benefits"] = parts["changes"] = ""
    policy.interpretation = Interpretation(**parts)
    session.add(policy)
    session.flush()
    return policy


def make_staff(session, role: Role, openid: str | None = None) -> StaffUser:
    return staff_service.create_user(session=session, username=f"{role.value}-{uuid.uuid4().hex[:8]}",
                                     password="x" * 12, role=role, **({"openid": openid} if openid else {}))


def approved_campaign(session, *, park: Park, author: StaffUser, reviewer: StaffUser, **values) -> Campaign:
    """A campaign taken through submit and approval by the service (no test send needed here)."""
    if values.get("kind", CampaignKind.policy) is CampaignKind.policy and "policy_id" not in values:
        values["policy_id"] = make_policy(session).id
    values.setdefault("segment_filter", {"parks": [park.id]})
    values.setdefault("title", "政策推送")
    campaign = service.create(session=session, campaign_in=CampaignCreate(**values), author=author)
    service.submit(session=session, campaign=campaign, require_test_send=False)
    service.approve(session=session, campaign=campaign, reviewer=reviewer)
    return campaign


# --- the engine: real workers, beat, Redis, a database and the sandbox ---------------------------------

# The engine tests' own Redis database: other suites flush theirs, and their workers must not take
# our tasks (nor ours theirs). TEST_ENGINE_REDIS_URL picks another when test runs share the server.
ENGINE_REDIS_URL = os.environ.get("TEST_ENGINE_REDIS_URL") or TEST_REDIS_URL.rsplit("/", 1)[0] + "/9"
ENGINE_ENV = {
    "PUSH_LEASE_SECONDS": "6", "PUSH_TICK_SECONDS": "1", "PUSH_RATE": "5000", "PUSH_BATCH_SIZE": "100",
    "PUSH_PARALLEL_BATCHES": "2", "PUSH_SEND_THREADS": "8", "PUSH_QUIET_HOURS": "", "PUSH_RETRY_SECONDS": "0.05",
    "PUBLIC_BASE_URL": "http://policypush.test", "SECRET_KEY": "k" * 40, "LOG_LEVEL": "WARNING",
}


@dataclass
class Engine:
    env: dict
    state: object
    procs: list[subprocess.Popen] = field(default_factory=list)

    def start_worker(self, name: str, concurrency: int = 2) -> subprocess.Popen:
        proc = live.killable_worker(self.env, name, concurrency)
        self.procs.append(proc)
        time.sleep(0.5)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.procs.clear()


def _database(backend: str, tmp_path_factory):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('push') / 'push.db'}", None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_ADMIN_URL else "?"
    return f"{PG_ADMIN_URL}{sep}options=-csearch_path%3D{schema}", (admin, schema)


@contextmanager
def engine_world(backend: str, tmp_path_factory):
    url, pg = _database(backend, tmp_path_factory)
    build_schema(url)
    redis.Redis.from_url(ENGINE_REDIS_URL).flushdb()
    env = {**TEST_WECHAT, **ENGINE_ENV, "DATABASE_URL": url, "REDIS_URL": ENGINE_REDIS_URL}
    mp = pytest.MonkeyPatch()
    _broker(ENGINE_REDIS_URL)
    try:
        with live.sandbox(env, receipts=False) as (base, state):
            env["WECHAT_API_BASE"] = base
            for key, value in env.items():
                mp.setenv(key, value)
            clear_caches()
            world = Engine(env, state)
            beat_args = [sys.executable, "-m", "celery", "-A", "worker", "beat", "--loglevel", "WARNING",
                         "-s", str(tmp_path_factory.mktemp("beat") / "schedule")]
            beat = subprocess.Popen(beat_args, cwd=live.ROOT, env={**os.environ, **env}, start_new_session=True)
            world.procs.append(beat)
            try:
                yield world
            finally:
                world.stop_all()
    finally:
        clear_caches()
        mp.undo()
        _broker(TEST_REDIS_URL)
        if pg is not None:
            admin, schema = pg
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def _broker(url: str) -> None:
    """Point this process's Celery producer at `url` (Celery caches its pool on first use)."""
    from core.queue import celery_app

    celery_app.conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture(scope="module", params=BACKENDS)
def engine_env(request, tmp_path_factory):
    with engine_world(request.param, tmp_path_factory) as world:
        world.start_worker("w1")
        yield world


@pytest.fixture
def eng(engine_env):
    """The module's engine with the sandbox reset and the shared token forgotten."""
    engine_env.state.reset()
    redis.Redis.from_url(ENGINE_REDIS_URL).delete(f"wechat:token:{TEST_WECHAT['WECHAT_APPID']}")
    return engine_env


def wait_for(predicate, timeout: float = 60.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return predicate()


def campaign_status(campaign_id: int) -> str:
    with session_scope() as s:
        return str(s.get(Campaign, campaign_id).status)


def template_records(state, openids=None) -> dict[str, int]:
    """Template messages the sandbox recorded, counted per openid."""
    counts: dict[str, int] = {}
    wanted = set(openids) if openids is not None else None
    for r in list(state.records):
        if r["kind"] == "template" and (wanted is None or r["touser"] in wanted):
            counts[r["touser"]] = counts.get(r["touser"], 0) + 1
    return counts
