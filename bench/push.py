"""Push campaigns end to end: real Celery workers, Redis and PostgreSQL, the sandbox as WeChat.

Run by hand: `.venv/bin/python bench/push.py [--followers 100000] [--million]`. Prints:
1. a clean campaign to N followers through 2 worker processes (sandbox: 20 ms per call, no receipts):
   deliveries per second, total time (launch -> finished), peak memory of the workers; then the
   ceiling: a bare concurrent HTTP loop (pooled requests.Session, same processes x threads) sending
   the same calls to the same sandbox; and the ratio;
2. the same with 10% `-1` errors and one worker SIGKILLed halfway and restarted: delivered and
   duplicates counted from the sandbox's own record;
3. with --million: 1,000,000 followers, peak worker memory against run 1's.
Goals: N=100,000 in < 60 s, >= 0.7 of the ceiling, delivered = N, duplicates = 0, memory at 1M <= 1.5x.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
import redis  # noqa: E402
import requests  # noqa: E402
from requests.adapters import HTTPAdapter  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

SCHEMA = "bench_push"
PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
WECHAT = {"WECHAT_APPID": "wxbench000000001", "WECHAT_SECRET": "benchSecret", "WECHAT_TOKEN": "benchToken"}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def schema_url() -> str:
    sep = "&" if "?" in PG else "?"
    return f"{PG}{sep}options=-csearch_path%3D{SCHEMA}"


def build(followers: int) -> None:
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    admin.dispose()
    from core import models
    from core.db import make_engine

    engine = make_engine(schema_url())
    models.metadata().create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO park (name, created_at) VALUES ('基准园区', now()), ('百万园区', now())"))
        add_followers(conn, 1, followers, park=1)
    engine.dispose()


def add_followers(conn, first: int, last: int, park: int) -> None:
    conn.execute(text(f"""
        INSERT INTO follower (openid, state, followed_at, muted, park_id)
        SELECT 'oBenchPush' || lpad(i::text, 18, '0'), 'following', now(), false, {park}
        FROM generate_series({first}, {last}) i"""))
    conn.execute(text("ANALYZE follower"))


def approved_campaign(park_ids: list[int]) -> int:
    from core.db import session_scope
    from policies.models import PARTS, Interpretation, Policy
    from push import service
    from push.schemas import CampaignCreate
    from staff import service as staff_service
    from staff.models import Role

    tag = os.urandom(3).hex()
    with session_scope() as s:
        policy = Policy(title="关于支持中小企业发展的若干措施", issuer="市人民政府办公室", body="……")
        policy.interpretation = Interpretation(**{f: f"{label}……" for f, label in PARTS.items()})
        s.add(policy)
        author = staff_service.create_user(session=s, username=f"author-{tag}", password="x" * 12, role=Role.editor)
        reviewer = staff_service.create_user(session=s, username=f"rev-{tag}", password="x" * 12, role=Role.reviewer)
        s.flush()
        campaign = service.create(session=s, author=author, campaign_in=CampaignCreate(
            title="中小企业扶持政策解读", policy_id=policy.id, segment_filter={"parks": park_ids}))
        service.submit(session=s, campaign=campaign, require_test_send=False)
        service.approve(session=s, campaign=campaign, reviewer=reviewer)
        return campaign.id


def launch(campaign_id: int) -> float:
    from core.db import session_scope
    from push import flows, service
    from push.models import Campaign

    with session_scope() as s:
        campaign = service.launch(session=s, campaign=s.get(Campaign, campaign_id))
    started = time.monotonic()
    flows.after_launch(campaign)
    return started


def status(campaign_id: int) -> str:
    from core.db import session_scope
    from push.models import Campaign

    with session_scope() as s:
        return str(s.get(Campaign, campaign_id).status)


class Workers:
    def __init__(self, env: dict, concurrency: int) -> None:
        self.env, self.concurrency = env, concurrency
        self.procs: dict[str, subprocess.Popen] = {}
        self.peak: dict[str, int] = Counter()
        self.peak_total = 0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def start(self, name: str) -> None:
        args = [sys.executable, "-m", "celery", "-A", "worker", "worker", "--concurrency", str(self.concurrency),
                "--hostname", f"{name}-{os.urandom(2).hex()}@%h", "--loglevel", "ERROR",
                "--without-gossip", "--without-mingle", "--without-heartbeat"]
        self.procs[name] = subprocess.Popen(args, cwd=ROOT, env=self.env, start_new_session=True,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def beat(self, schedule: Path) -> None:
        args = [sys.executable, "-m", "celery", "-A", "worker", "beat", "--loglevel", "ERROR", "-s", str(schedule)]
        self.procs["beat"] = subprocess.Popen(args, cwd=ROOT, env=self.env, start_new_session=True,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait()

    def rss(self, name: str) -> int:
        try:
            p = psutil.Process(self.procs[name].pid)
            return sum(q.memory_info().rss for q in [p, *p.children(recursive=True)])
        except psutil.NoSuchProcess:
            return 0

    def reset_peaks(self) -> None:
        self.peak, self.peak_total = Counter(), 0

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            names = [n for n in list(self.procs) if n != "beat"]
            now = {n: self.rss(n) for n in names}
            for n, v in now.items():
                self.peak[n] = max(self.peak[n], v)
            self.peak_total = max(self.peak_total, sum(now.values()))

    def stop(self) -> None:
        self._stop.set()
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def sandbox_records(admin: str) -> Counter:
    """Template messages per openid, from the sandbox's record (1000 a page)."""
    counts: Counter = Counter()
    offset = 0
    with httpx.Client(timeout=60) as http:
        while True:
            page = http.get(f"{admin}/messages", params={"kind": "template", "limit": 1000,
                                                         "offset": offset}).json()["messages"]
            counts.update(m["touser"] for m in page)
            if len(page) < 1000:
                return counts
            offset += len(page)


def run_campaign(label: str, park_ids: list[int], expected: int, workers: Workers, admin: str,
                 kill_at: float | None = None) -> dict:
    cid = approved_campaign(park_ids)
    workers.reset_peaks()
    started = launch(cid)
    killed, shown = False, 0
    while status(cid) != "finished":
        time.sleep(0.2)
        if kill_at is not None and not killed:
            sent = httpx.get(f"{admin}/stats").json()["sent"]["template"]
            if sent >= expected * kill_at:
                workers.kill("w1")
                workers.start("w1")  # restarted at once; its lost batch is re-sent after the lease
                killed = True
                print(f"  [{label}] w1 SIGKILLed at {sent:,} sent (t={time.monotonic() - started:.1f} s), restarted")
        waited = time.monotonic() - started
        if waited > max(1800, expected / 100):  # slower than 100 deliveries/s: something is stuck
            raise TimeoutError(f"{label}: campaign {cid} still {status(cid)} after {waited:.0f} s")
        if waited // 60 > shown:
            shown = waited // 60
            sent = httpx.get(f"{admin}/stats").json()["sent"]["template"]
            print(f"  [{label}] {sent:,} sent at t={waited:.0f} s", flush=True)
    elapsed = time.monotonic() - started
    return {"campaign": cid, "elapsed": elapsed, "rate": expected / elapsed, "peak_total": workers.peak_total,
            "peak": dict(workers.peak)}


# --- the ceiling: the same calls, bare -----------------------------------------------------------------

def _ceiling_proc(api: str, token: str, openids: list[str], threads: int, out) -> None:
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=threads))
    it = iter(openids)
    lock = threading.Lock()

    def loop() -> None:
        while True:
            with lock:
                openid = next(it, None)
            if openid is None:
                return
            body = {"touser": openid, "template_id": "POLICY_NOTICE_TPL", "url": "http://127.0.0.1:8000/t/1a.0123456789abcdef",
                    "client_msg_id": f"ceiling-{openid}",
                    "data": {"thing1": {"value": "中小企业扶持政策解读"}, "thing2": {"value": "市人民政府办公室"},
                             "date3": {"value": "2024年5月1日"}, "thing4": {"value": "支持企业研发投入"}}}
            session.post(f"{api}message/template/send", params={"access_token": token}, json=body, timeout=10).json()

    pool = [threading.Thread(target=loop) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put(len(openids))


def ceiling(api: str, n: int, processes: int, threads: int) -> float:
    token = requests.get(f"{api}token", params={"grant_type": "client_credential", "appid": WECHAT["WECHAT_APPID"],
                                                "secret": WECHAT["WECHAT_SECRET"]}).json()["access_token"]
    openids = [f"oBenchPush{i:018d}" for i in range(1, n + 1)]
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_ceiling_proc, args=(api, token, openids[k::processes], threads, out))
             for k in range(processes)]
    started = time.monotonic()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return n / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--followers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (celery workers)")
    parser.add_argument("--concurrency", type=int, default=1, help="prefork children per worker")
    parser.add_argument("--threads", type=int, default=24, help="send threads per batch task")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--million", action="store_true", help="also run 1,000,000 followers (memory)")
    parser.add_argument("--skip-faults", action="store_true")
    args = parser.parse_args()
    n = args.followers

    port = free_port()
    api, admin = f"http://127.0.0.1:{port}/cgi-bin/", f"http://127.0.0.1:{port}/sandbox"
    chains = args.workers * args.concurrency
    env = {**os.environ, **WECHAT, "DATABASE_URL": schema_url(), "REDIS_URL": REDIS, "WECHAT_API_BASE": api,
           "PUSH_RATE": "100000", "PUSH_LEASE_SECONDS": "10", "PUSH_TICK_SECONDS": "1",
           "PUSH_PARALLEL_BATCHES": str(chains), "PUSH_SEND_THREADS": str(args.threads),
           "PUSH_BATCH_SIZE": str(args.batch), "PUSH_QUIET_HOURS": "", "PUSH_RETRY_SECONDS": "0.05",
           "PUSH_MAX_ATTEMPTS": "20", "LOG_LEVEL": "ERROR", "SECRET_KEY": "b" * 40}
    os.environ.update(env)  # this process launches campaigns through the same settings
    redis.Redis.from_url(REDIS).flushdb()
    print(f"building {n:,} followers in PostgreSQL schema {SCHEMA} ...")
    build(n)
    sandbox = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", str(port), "--latency-ms",
                                str(args.latency_ms), "--no-receipts", "--webhook-url", ""], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    workers = Workers(env, args.concurrency)
    try:
        for _ in range(100):
            try:
                httpx.get(f"{admin}/stats")
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        httpx.post(f"{admin}/knobs", json={"daily_quota": 100_000_000})
        for k in range(1, args.workers + 1):
            workers.start(f"w{k}")
        workers.beat(Path(f"/tmp/bench-push-beat-{port}"))
        time.sleep(3)
        concurrency = chains * args.threads
        print(f"{args.workers} workers x {args.concurrency} process(es) x {args.threads} threads = {concurrency} "
              f"sends in flight; sandbox latency {args.latency_ms:g} ms; {os.cpu_count()} CPUs")

        clean = run_campaign("clean", [1], n, workers, admin)
        stats = httpx.get(f"{admin}/stats").json()
        sent = sandbox_records(admin)
        print(f"\n1. clean run: {n:,} followers in {clean['elapsed']:.1f} s = {clean['rate']:,.0f} deliveries/s; "
              f"peak worker memory {clean['peak_total'] / 2**20:.0f} MB "
              f"({', '.join(f'{k} {v / 2**20:.0f} MB' for k, v in sorted(clean['peak'].items()))})")
        print(f"   sandbox: {len(sent):,} followers reached, duplicates {sum(sent.values()) - len(sent)}, "
              f"tokens issued {stats['tokens_issued']}, api calls {stats['api_calls']:,}")

        httpx.post(f"{admin}/reset")
        httpx.post(f"{admin}/knobs", json={"daily_quota": 100_000_000})
        top = ceiling(api, n, chains, args.threads)
        print(f"   ceiling (bare loop, {chains} processes x {args.threads} threads, pooled requests.Session): "
              f"{top:,.0f} calls/s")
        print(f"   ratio: {clean['rate'] / top:.2f} of the ceiling (goal >= 0.7); "
              f"{'under' if clean['elapsed'] < 60 else 'OVER'} 60 s")

        if not args.skip_faults:
            httpx.post(f"{admin}/reset")
            httpx.post(f"{admin}/knobs", json={"daily_quota": 100_000_000, "error_rate": 0.1})
            faulty = run_campaign("faults", [1], n, workers, admin, kill_at=0.5)
            stats = httpx.get(f"{admin}/stats").json()
            sent = sandbox_records(admin)
            print(f"\n2. 10% -1 errors and w1 killed halfway: {faulty['elapsed']:.1f} s = "
                  f"{faulty['rate']:,.0f} deliveries/s")
            print(f"   delivered = {len(sent):,} (goal {n:,}), duplicates = {sum(sent.values()) - len(sent)} (goal 0); "
                  f"-1 injected {stats['errors_injected']:,}; re-sends answered by client_msg_id "
                  f"{stats['template_deduped']}; tokens issued {stats['tokens_issued']}")

        if args.million:
            httpx.post(f"{admin}/reset")
            httpx.post(f"{admin}/knobs", json={"daily_quota": 100_000_000, "error_rate": 0})
            engine = create_engine(schema_url())
            with engine.begin() as conn:
                add_followers(conn, n + 1, 1_000_000, park=2)
            engine.dispose()
            big = run_campaign("million", [1, 2], 1_000_000, workers, admin)
            print(f"\n3. 1,000,000 followers: {big['elapsed']:.1f} s = {big['rate']:,.0f} deliveries/s; peak worker "
                  f"memory {big['peak_total'] / 2**20:.0f} MB = {big['peak_total'] / clean['peak_total']:.2f}x "
                  f"the {n:,} run (goal <= 1.5x)")
    finally:
        workers.stop()
        os.killpg(sandbox.pid, signal.SIGTERM)


if __name__ == "__main__":
    main()
