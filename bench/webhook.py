"""Webhook throughput and latency under load, against the ceiling of a bare FastAPI endpoint.

    .venv/bin/python bench/webhook.py [--seconds 10] [--connections 50] [--database-url URL]

Rows `plain` and `safe` send `你好` (a chat keyword). With the FAQ knowledge base
(../shared/data/faq-kb.csv) imported first, rows `answered` send a question it answers (the search,
the question log written), rows `handover` one it cannot (the search, then the question queued for
staff with the follower's conversation: three database writes). The server runs on a copy of a
seeded SQLite file per run, or with --database-url on that (empty) PostgreSQL database, seeded once.

Needs `wrk` (Debian: apt-get install wrk) and Redis (REDIS_URL, default the local one, db 13).
Every request is a distinct text message (its own MsgId), signed as WeChat signs it; in safe mode
each body is encrypted beforehand, so the load generator only replays bytes. The server answers
with the bot's reply; the ceiling answers a fixed reply after reading the body. Both run under the
same uvicorn with the same number of processes, on this machine, beside wrk.
"""
from __future__ import annotations

import argparse
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
from wechatpy.crypto import WeChatCrypto

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.live import free_port, process  # noqa: E402

KB = ROOT.parent / "shared" / "data" / "faq-kb.csv"
TEXTS = {"plain": "你好", "safe": "你好", "answered": "怎样提出申请", "handover": "明天的天气怎么样"}
TOKEN, APPID, AES = "benchToken", "wxbench000000001", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
LUA = r"""
local queries, bodies, n = {}, {}, 0
local file = io.open("%(requests)s")
for line in file:lines() do
  local tab = line:find("\t", 1, true)
  queries[#queries + 1] = line:sub(1, tab - 1)
  bodies[#bodies + 1] = line:sub(tab + 1)
end
file:close()
local counter = 0
setup = function(thread) counter = counter + 1; thread:set("tid", counter) end
init = function() n = tid - 1 end
request = function()
  local i = (n %% #bodies) + 1
  n = n + %(threads)d
  return wrk.format("POST", "/wechat?" .. queries[i], {["Content-Type"] = "text/xml"}, bodies[i])
end
"""


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def text_xml(i: int, ts: int, text: str) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[oBench{i % 5000:06d}]]>"
            f"</FromUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{ts}{i:09d}</MsgId></xml>")


def requests_file(tmp: Path, mode: str, count: int, text: str) -> Path:
    """One request a line, `query<TAB>body`, each a distinct message signed as WeChat signs it."""
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
            fh.write(f"{line_query}\t{xml}\n")
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


def outcomes(url: str) -> dict[str, int]:
    """Questions in the chat's question log, by outcome."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(sa.text("SELECT outcome, count(*) FROM asked_question GROUP BY outcome")).all())
    finally:
        engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--database-url", help="an empty PostgreSQL database for the webhook (default: SQLite)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-webhook-"))
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
    threads = 2
    count = args.seconds * 6000  # more distinct messages than the server can take in the run
    seeded = tmp / "kb.db"
    subprocess.run([sys.executable, "-m", "cli.main", "import", "faq", str(KB)], cwd=ROOT, check=True,
                   capture_output=True, env={**os.environ, "DATABASE_URL": args.database_url or f"sqlite:///{seeded}",
                                             "REDIS_URL": redis_url, "DATA_DIR": str(tmp)})
    if not args.database_url:
        with sqlite3.connect(seeded) as conn:  # into the file itself, so that copies of it hold the KB
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rows = []
    for mode, text in TEXTS.items():
        script = tmp / f"{mode}.lua"
        lines = requests_file(tmp, "safe" if mode == "safe" else "plain", count, text)
        script.write_text(LUA % {"requests": lines, "threads": threads})
        for procs in (1, 2):
            result = {}
            for target, app in (("webhook", "server:app"), ("ceiling", "bench.ceiling:app")):
                subprocess.run(["redis-cli", "-u", redis_url, "flushdb"], capture_output=True)
                port = free_port()
                db = args.database_url or f"sqlite:///{shutil.copy(seeded, tmp / f'{target}-{mode}-{procs}.db')}"
                before = outcomes(db)
                env = {"WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID, "REDIS_URL": redis_url,
                       "WECHAT_AES_KEY": AES if mode == "safe" else "", "LOG_LEVEL": "WARNING",
                       "DATABASE_URL": db, "DATA_DIR": str(tmp)}
                cmd = [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--workers", str(procs),
                       "--log-level", "warning", "--no-access-log"]
                with process(cmd, env, f"http://127.0.0.1:{port}/healthz"):
                    wrk(f"http://127.0.0.1:{port}", script, 2, args.connections, threads)  # warm-up
                    result[target] = wrk(f"http://127.0.0.1:{port}", script, args.seconds, args.connections,
                                         threads)
                if target == "webhook" and mode in ("answered", "handover"):  # what the chat did with them
                    after = outcomes(db)
                    result["outcomes"] = {k: n - before.get(k, 0) for k, n in after.items() if n > before.get(k, 0)}
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
