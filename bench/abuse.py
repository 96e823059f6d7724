"""Hostile uploads while the webhook is under load: does the server stay up, fast and small?

    .venv/bin/python bench/abuse.py [--rate 100] [--port 8150]

Starts the server (`uvicorn server:app`, one process) and a worker (`celery -A worker worker`, one process),
on SQLite in a temporary directory and Redis from REDIS_URL (default db 13, flushed), sends distinct signed text messages (`你好`) at `--rate` a second from 20 connections,
measures the webhook's latency for a quiet period, then again while a staff editor uploads, one after another:
a dimension bomb (one cell at XFD1048576, declared and hidden), a shared-strings bomb, a zip bomb, a
1,000,000-row enterprise list as .xlsx and as .csv, to the enterprise, FAQ and policy imports, and last a good
200,000-row enterprise list (the default limit), which is imported. An upload the server accepts (202) is
followed to its job's end. Prints each upload's answer, the webhook's p50/p99 in both periods, and the peak RSS
during the uploads of the server and of the worker, each with its child processes (the sheet readers). Goals:
the server stays up, p99 under 100 ms, memory under 1 GB.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from subscriptions import credit_code  # noqa: E402
from tests.core import hostile_files  # noqa: E402
from tests.live import process  # noqa: E402

TOKEN, APPID, SECRET = "benchToken", "wxbench000000001", "bench-secret-key-" + "x" * 32
ENTERPRISE_HEADER = ["统一社会信用代码", "企业名称", "行业代码", "园区", "规模", "标签", "联系人", "联系电话"]
HEADERS = {"enterprises": ENTERPRISE_HEADER, "faq": ["问题", "答案"], "policies": ["标题", "文号"]}
ROW = ["91211400000000001X", "葫芦岛市测试企业有限公司", "13", "", "小", "", "张三", "13800000000"]


def signed(i: int) -> tuple[str, str]:
    ts, nonce = str(int(time.time())), f"n{i}"
    query = (f"signature={hashlib.sha1(''.join(sorted((TOKEN, ts, nonce))).encode()).hexdigest()}"
             f"&timestamp={ts}&nonce={nonce}&openid=oAbuse{i % 500:04d}")
    body = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[oAbuse{i % 500:04d}]]>"
            f"</FromUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[你好]]></Content><MsgId>{int(ts) * 10**6 + i}</MsgId></xml>")
    return query, body


class Load:
    """Paced webhook traffic; latencies are kept per phase."""

    def __init__(self, base: str, rate: float, connections: int = 20) -> None:
        self.base, self.rate, self.connections = base, rate, connections
        self.phase = "warm-up"
        self.latencies: dict[str, list[float]] = {}
        self.failures: dict[str, int] = {}
        self.stop = False

    async def run(self) -> None:
        counter = iter(range(10**9))
        async with httpx.AsyncClient(base_url=self.base, timeout=10,
                                     limits=httpx.Limits(max_connections=self.connections)) as client:
            async def worker() -> None:
                interval = self.connections / self.rate
                next_at = time.perf_counter()
                while not self.stop:
                    query, body = signed(next(counter))
                    start = time.perf_counter()
                    try:
                        r = await client.post(f"/wechat?{query}", content=body.encode(),
                                              headers={"Content-Type": "text/xml"})
                        ok = r.status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    elapsed = time.perf_counter() - start
                    if ok:
                        self.latencies.setdefault(self.phase, []).append(elapsed * 1000)
                    else:
                        self.failures[self.phase] = self.failures.get(self.phase, 0) + 1
                    next_at += interval
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

            await asyncio.gather(*(worker() for _ in range(self.connections)))


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else float("nan")


def peak_rss(pid: int, done: threading.Event, peak: list[int]) -> None:
    """The largest RSS of a process plus its children, sampled every 20 ms."""
    parent = psutil.Process(pid)
    while not done.is_set():
        try:
            total = parent.memory_info().rss
            for child in parent.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            return
        peak[0] = max(peak[0], total)
        time.sleep(0.02)


def bombs(tmp: Path) -> list[tuple[str, str, Path]]:
    """(what, import, file), written now."""
    files = []
    for kind, header in HEADERS.items():
        files.append(("dimension bomb", kind, hostile_files.dimension_bomb(tmp / f"dim-{kind}.xlsx", header)))
    files.append(("hidden dimension bomb", "enterprises",
                  hostile_files.dimension_bomb(tmp / "dim-hidden.xlsx", ENTERPRISE_HEADER, declared=False)))
    files.append(("shared-strings bomb", "faq", hostile_files.shared_strings_bomb(tmp / "sst.xlsx", HEADERS["faq"])))
    files.append(("zip bomb (1 GB of zeros)", "policies",
                  hostile_files.zip_bomb(tmp / "zip.xlsx", HEADERS["policies"], megabytes=1024)))
    files.append(("1,000,000 rows .xlsx", "enterprises",
                  hostile_files.many_rows(tmp / "rows.xlsx", ENTERPRISE_HEADER, 1_000_000, ROW)))
    files.append(("1,000,000 rows .xlsx, size not declared", "enterprises",
                  hostile_files.many_rows(tmp / "rows-hidden.xlsx", ENTERPRISE_HEADER, 1_000_000, ROW, declared=False)))
    with open(tmp / "rows.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(ENTERPRISE_HEADER)
        writer.writerows([ROW] * 1_000_000)
    files.append(("1,000,000 rows .csv", "enterprises", tmp / "rows.csv"))
    with open(tmp / "limit.csv", "w", newline="", encoding="utf-8") as fh:  # a real import at the row limit
        writer = csv.writer(fh)
        writer.writerow(ENTERPRISE_HEADER)
        writer.writerows([credit_code.complete(f"91211400{n:09d}"), f"企业{n}", *ROW[2:]] for n in range(200_000))
    files.append(("200,000 good rows .csv (the limit)", "enterprises", tmp / "limit.csv"))
    return files


def finished(staff: httpx.Client, url: str) -> str:
    """How an accepted import's job ended."""
    while True:
        job = staff.get(url).json()
        if job["status"] not in ("queued", "running"):
            report = job["report"]
            outcome = f"{report['rows']} rows, {report['created']} created" if report else job["error"]
            return f"{job['status']}: {outcome}"[:140]
        time.sleep(0.2)


def upload_all(base: str, token: str, files: list[tuple[str, str, Path]], load: Load) -> None:
    """Each file to its import, one after another, followed to its job's end; the load's phase names the upload."""
    with httpx.Client(base_url=base, timeout=600, headers={"Authorization": f"Bearer {token}"}) as staff:
        for what, kind, path in files:
            load.phase = f"upload: {what}"
            start = time.perf_counter()
            try:
                with path.open("rb") as fh:
                    r = staff.post(f"/api/{kind}/import", files={"file": (path.name, fh)})
                answer = f"{r.status_code} {r.text[:110]}"
                if r.status_code == 202:
                    answer = f"202, then {finished(staff, r.headers['Location'])}"
            except httpx.RemoteProtocolError:  # a body over IMPORT_MAX_MB is answered 413 and cut off early
                answer = "connection closed while sending (413 before the body was read)"
            except httpx.HTTPError as exc:
                answer = f"failed: {exc!r}"
            p99 = percentile(load.latencies.get(load.phase, []), 99)
            print(f"  {what:40} -> /api/{kind}/import {time.perf_counter() - start:6.1f} s  p99 {p99:5.0f} ms  "
                  f"{answer}", flush=True)


def editor_token(env: dict) -> str:
    code = ("from core import migrate; migrate.upgrade()\n"
            "from core.db import session_scope\nfrom staff import service\nfrom staff.models import Role\n"
            "from staff.security import issue_token\n"
            "with session_scope() as s:\n"
            "    u = service.create_user(session=s, username='bench-editor', password='Tq7-vault-lantern-93', "
            "role=Role.editor)\n    s.flush()\n    print(issue_token(u.id, 'editor'))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, check=True,
                         capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=100, help="webhook messages a second")
    ap.add_argument("--port", type=int, default=8150)
    ap.add_argument("--quiet-seconds", type=float, default=10)
    ap.add_argument("--database-url", help="an empty database to use (default: SQLite in a temporary directory)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-abuse-"))
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
    subprocess.run(["redis-cli", "-u", redis_url, "flushdb"], capture_output=True)
    env = {"WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID, "REDIS_URL": redis_url, "SECRET_KEY": SECRET,
           "DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'abuse.db'}", "DATA_DIR": str(tmp), "LOG_LEVEL": "WARNING",
           # passive replies only: no WeChat API is called, and links may point at this machine
           "WECHAT_API_BASE": f"http://127.0.0.1:{args.port + 1}/cgi-bin/",
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{args.port}"}
    print("writing the hostile files ...", flush=True)
    files = bombs(tmp)
    for what, kind, path in files:
        print(f"  {what:40} {kind:12} {path.stat().st_size / 2**20:8.2f} MB", flush=True)
    token = editor_token(env)
    base = f"http://127.0.0.1:{args.port}"
    cmd = [sys.executable, "-m", "uvicorn", "server:app", "--port", str(args.port), "--log-level", "warning",
           "--no-access-log"]
    worker_cmd = [sys.executable, "-m", "celery", "-A", "worker", "worker", "--concurrency", "1",
                  "--loglevel", "WARNING", "--without-gossip", "--without-mingle"]
    with process(cmd, env, f"{base}/healthz") as server, process(worker_cmd, env) as worker:
        load = Load(base, args.rate)
        running = asyncio.create_task(load.run())
        await asyncio.sleep(3)
        load.phase = "quiet"
        await asyncio.sleep(args.quiet_seconds)
        done, peak, worker_peak = threading.Event(), [0], [0]
        for pid, into in ((server.pid, peak), (worker.pid, worker_peak)):
            threading.Thread(target=peak_rss, args=(pid, done, into), daemon=True).start()
        print("\nuploads (while the webhook is under load; the webhook's p99 during each):")
        # the uploads go from a thread of their own, so that sending them never delays the load's event loop
        await asyncio.to_thread(upload_all, base, token, files, load)
        done.set()
        load.phase = "after"
        await asyncio.sleep(2)
        up = server.poll() is None
        try:
            health = httpx.get(f"{base}/healthz", timeout=5).status_code
        except httpx.HTTPError as exc:
            health = repr(exc)
        load.stop = True
        await running
    print(f"\nserver still running: {up} (healthz {health})")
    print(f"webhook at {args.rate:.0f} msg/s from {load.connections} connections:")
    uploads = [v for phase, values in load.latencies.items() if phase.startswith("upload: ") for v in values]
    failed = sum(n for phase, n in load.failures.items() if phase.startswith("upload: "))
    for phase, values, failures in (("quiet", load.latencies.get("quiet", []), load.failures.get("quiet", 0)),
                                    ("uploads", uploads, failed),
                                    ("after", load.latencies.get("after", []), load.failures.get("after", 0))):
        print(f"  {phase:8} {len(values):6} answered, {load.failures.get(phase, 0):4} failed, "
              f"p50 {percentile(values, 50):6.1f} ms, p99 {percentile(values, 99):6.1f} ms, "
              f"max {max(values, default=float('nan')):7.1f} ms")
    print(f"peak RSS during the uploads, with child processes: server {peak[0] / 2**20:.0f} MB, "
          f"worker {worker_peak[0] / 2**20:.0f} MB")
    print(f"load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    asyncio.run(main())
