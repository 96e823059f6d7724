"""Webhook throughput and latency under load, against the ceiling of a bare FastAPI endpoint.

    .venv/bin/python bench/webhook.py [--seconds 10] [--connections 50] [--database-url URL] [--modes plain,survey]

Rows `plain` and `safe` send `你好` (a chat keyword). With the FAQ knowledge base
(../shared/data/faq-kb.csv) imported first, rows `answered` send a question it answers (the search,
the question log written), rows `handover` one it cannot (the search, then the question queued for
staff with the follower's conversation: three database writes). Rows `survey` answer `1` to a public
15-question survey that each of the 5,000 senders started with `问卷` just before the run (the dialog
engine, the answer validated and saved to the database at once). The server runs on a copy of a seeded
SQLite file per run, or with --database-url on that (empty) PostgreSQL database, seeded once.

Needs `wrk` (Debian: apt-get install wrk) and Redis (REDIS_URL, default the local one, db 13).
Every request is a distinct text message (its own MsgId), signed as WeChat signs it; in safe mode
each body is encrypted beforehand, so the load generator only replays bytes. The server answers
with the bot's reply; the ceiling answers a fixed reply after reading the body. Both run under the
same uvicorn with the same number of processes, on this machine, beside wrk.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
import httpx
from wechatpy.crypto import WeChatCrypto

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.live import free_port, process  # noqa: E402

KB = ROOT.parent / "shared" / "data" / "faq-kb.csv"
TEXTS = {"plain": "你好", "safe": "你好", "answered": "怎样提出申请", "handover": "明天的天气怎么样", "survey": "1"}
SENDERS = 5000  # distinct followers; line i comes from sender i % SENDERS
SURVEY = """
from datetime import timedelta
from core.db import session_scope, utcnow
from staff import service as staff
from staff.models import Role
from surveys import service
from surveys.schemas import SurveyCreate
choices = ["非常需要", "需要", "一般", "不需要"]
definition = {"title": "惠企政策需求调查", "pages": [{"name": "p1", "elements": [
    {"type": "radiogroup", "name": f"q{i}", "title": f"第{i}项政策的需求程度", "isRequired": True, "choices": choices}
    for i in range(1, 16)]}]}
with session_scope() as s:
    author = staff.create_user(session=s, username="bench-author", password="Tq7-vault-lantern-93", role=Role.editor)
    reviewer = staff.create_user(session=s, username="bench-reviewer", password="Tq7-vault-lantern-93",
                                 role=Role.reviewer)
    survey = service.create(session=s, survey_in=SurveyCreate(title="惠企政策需求调查", definition=definition,
                                                               public=True, closes_at=utcnow() + timedelta(days=7)),
                            author=author)
    service.submit(session=s, survey=survey)
    service.approve(session=s, survey=survey, reviewer=reviewer)
    service.open_survey(session=s, survey=survey)
"""
TOKEN, APPID, AES = "benchToken", "wxbench000000001", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
LUA = r"""
local paths, bodies, n = {}, {}, 0
local file = io.open("%(requests)s")
for line in file:lines() do
  local tab = line:find("\t", 1, true)
  paths[#paths + 1] = line:sub(1, tab - 1)
  bodies[#bodies + 1] = line:sub(tab + 1)
end
file:close()
local counter = 0
setup = function(thread) counter = counter + 1; thread:set("tid", counter) end
init = function() n = tid - 1 end
request = function()
  local i = (n %% #bodies) + 1
  n = n + %(threads)d
  return wrk.format("POST", paths[i], {["Content-Type"] = "%(content_type)s"}, bodies[i])
end
"""


def wrk_script(requests: Path, content_type: str, threads: int = 2) -> Path:
    """A wrk script POSTing the lines of `requests` (`path<TAB>body`) in turn, each thread its own stride."""
    script = requests.with_suffix(".lua")
    script.write_text(LUA % {"requests": requests, "threads": threads, "content_type": content_type})
    return script


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def text_xml(i: int, ts: int, text: str) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[oBench{i % SENDERS:06d}]]>"
            f"</FromUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{ts}{i:09d}</MsgId></xml>")


def requests_file(tmp: Path, mode: str, count: int, text: str) -> Path:
    """One request a line, `path<TAB>body`, each a distinct message signed as WeChat signs it."""
    ts, nonce = int(time.time()), "20261126"
    query = f"signature={sign(TOKEN, str(ts), nonce)}&timestamp={ts}&nonce={nonce}&openid=oBench"
    crypto = WeChatCrypto(TOKEN, AES, APPID)
    path = tmp / f"{mode}-{hashlib.sha1(text.encode()).hexdigest()[:8]}.txt"
    with path.open("w") as fh:
        for i in range(count):
            xml, line_query = text_xml(i, ts, text), query
            if mode == "safe":  # msg_signature covers the ciphertext, so every line has its own
                sealed = crypto.encrypt_message(xml, nonce, str(ts))
                enc = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", sealed).group(1)
                xml = f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
                line_query += f"&encrypt_type=aes&msg_signature={sign(TOKEN, str(ts), nonce, enc)}"
            fh.write(f"/wechat?{line_query}\t{xml}\n")
    return path


def wrk(url: str, script: Path, seconds: int, connections: int, threads: int) -> dict:
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency",
                          "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = {p: _ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": pct["50"], "p99": pct["99"], "non2xx": int(errors.group(1)) if errors else 0}


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def counts(url: str, query: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(sa.text(query)).all())
    finally:
        engine.dispose()


OUTCOMES = {  # what the chat did with a mode's messages, counted in the database before and after
    "answered": "SELECT outcome, count(*) FROM asked_question GROUP BY outcome",
    "handover": "SELECT outcome, count(*) FROM asked_question GROUP BY outcome",
    # each answer moves its sender's last_question on by one (q1 ... q15)
    "survey": "SELECT 'answers saved', sum(CAST(substr(last_question, 2) AS INTEGER)) FROM survey_recipient",
}


async def start_surveys(url: str, connections: int) -> None:
    """Each sender sends `问卷`, which starts the one open survey: their next `1` answers its first question."""
    ts, nonce = int(time.time()) + 1, "20261127"  # MsgIds apart from the run's
    query = f"signature={sign(TOKEN, str(ts), nonce)}&timestamp={ts}&nonce={nonce}&openid=oBench"
    senders, late, started = iter(range(SENDERS)), [0], time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        async def send() -> None:
            for i in senders:
                r = await client.post(f"/wechat?{query}", content=text_xml(i, ts, "问卷").encode())
                late[0] += "第 1/15 题" not in r.text  # answered later by a customer-service message
        await asyncio.gather(*(send() for _ in range(connections)))
    print(f"  {SENDERS} senders started the survey in {time.perf_counter() - started:.1f} s "
          f"({late[0]} answered late)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--database-url", help="an empty PostgreSQL database for the webhook (default: SQLite)")
    ap.add_argument("--modes", default=",".join(TEXTS), help=f"which rows, comma-separated (default {','.join(TEXTS)})")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
    threads = 2
    count = args.seconds * 6000  # more distinct messages than the server can take in the run
    seeded = tmp / "kb.db"
    subprocess.run([sys.executable, "-m", "cli.main", "import", "faq", str(KB)], cwd=ROOT, check=True,
                   capture_output=True, env={**os.environ, "DATABASE_URL": args.database_url or f"sqlite:///{seeded}",
                                             "REDIS_URL": redis_url, "DATA_DIR": str(tmp)})
    subprocess.run([sys.executable, "-c", SURVEY], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "DATABASE_URL": args.database_url or f"sqlite:///{seeded}",
                        "REDIS_URL": redis_url, "DATA_DIR": str(tmp)})
    if not args.database_url:
        with sqlite3.connect(seeded) as conn:  # into the file itself, so that copies of it hold the KB
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rows = []
    for mode in args.modes.split(","):
        text = TEXTS[mode]
        script = wrk_script(requests_file(tmp, "safe" if mode == "safe" else "plain", count, text), "text/xml",
                            threads)
        for procs in (1, 2):
            result = {}
            for target, app in (("webhook", "server:app"), ("ceiling", "bench.ceiling:app")):
                subprocess.run(["redis-cli", "-u", redis_url, "flushdb"], capture_output=True)
                port = free_port()
                db = args.database_url or f"sqlite:///{shutil.copy(seeded, tmp / f'{target}-{mode}-{procs}.db')}"
                query = OUTCOMES.get(mode) if target == "webhook" else None
                before = counts(db, query) if query else {}
                env = {"WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID, "REDIS_URL": redis_url,
                       "WECHAT_AES_KEY": AES if mode == "safe" else "", "LOG_LEVEL": "WARNING",
                       "DATABASE_URL": db, "DATA_DIR": str(tmp),
                       # passive replies only: no WeChat API is called, and links may point at this machine
                       "WECHAT_API_BASE": f"http://127.0.0.1:{port + 1}/cgi-bin/",
                       "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
                cmd = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--workers", str(procs),
                       "--log-level", "warning", "--no-access-log"]
                with process(cmd, env, f"http://127.0.0.1:{port}/healthz"):
                    if mode == "survey" and target == "webhook":
                        asyncio.run(start_surveys(f"http://127.0.0.1:{port}", args.connections))
                    wrk(f"http://127.0.0.1:{port}", script, 2, args.connections, threads)  # warm-up
                    result[target] = wrk(f"http://127.0.0.1:{port}", script, args.seconds, args.connections,
                                         threads)
                if query:
                    after = counts(db, query)
                    result["outcomes"] = {k: n - (before.get(k) or 0) for k, n in after.items()
                                          if (n or 0) > (before.get(k) or 0)}
            rows.append((mode, procs, result))
            print(f"{mode}, {procs} process(es): {result['webhook']['rps']:.0f} msg/s, ceiling "
                  f"{result['ceiling']['rps']:.0f}/s", flush=True)
    print(f"\nwebhook vs bare FastAPI endpoint, {args.connections} connections, {args.seconds} s each, "
          f"{os.cpu_count()} cores shared with wrk")
    print(f"{'mode':8} {'procs':>5} {'msg/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'ceiling/s':>10} "
          f"{'c.p99 ms':>8} {'ratio':>6} {'non-2xx':>7}")
    for mode, procs, r in rows:
        w, c = r["webhook"], r["ceiling"]
        print(f"{mode:8} {procs:>5} {w['rps']:>8.0f} {w['p50']:>7.1f} {w['p99']:>7.1f} {c['rps']:>10.0f} "
              f"{c['p99']:>8.1f} {w['rps'] / c['rps']:>6.2f} {w['non2xx']:>7}  {r.get('outcomes', '')}")


if __name__ == "__main__":
    main()
