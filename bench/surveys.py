"""Surveys at scale on PostgreSQL: 100,000 recipients and 50,000 completed responses to a 15-question survey.

Run by hand: `.venv/bin/python bench/surveys.py [--recipients 100000 --responses 50000]`. Prints:
1. results (surveys.results.compute) best of 3, against the ceiling: hand-written SQL over the same
   tables computing the same per-question counts (one GROUP BY per question), in the same run; the ratio;
2. the .xlsx export of every response: seconds and the process's peak memory above its start;
3. form submissions at 50 concurrent clients (one page each, against a uvicorn server on the same
   database) against a bare FastAPI endpoint that reads the same form (bench/ceiling.py): submissions per
   second, the ratio and p99.
Goals: results < 1 s and within 1.5x of SQL; export < 60 s and < 300 MB; form ratio >= 0.5, p99 < 100 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

SCHEMA = "bench_surveys"
PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
CHOICES = ["融资", "用工", "税费", "审批", "场地", "人才"]
TERMS = ["融资难", "审批慢", "希望简化流程", "用工成本高", "政策宣传不够", "补贴到位及时"]


def schema_url() -> str:
    sep = "&" if "?" in PG else "?"
    return f"{PG}{sep}options=-csearch_path%3D{SCHEMA}"


def definition() -> dict:
    """15 questions: single and multiple choice, scales, NPS, number, date, text, matrix, ranking."""
    q = []
    for i in range(1, 5):
        q.append({"type": "radiogroup", "name": f"c{i}", "title": f"单选题{i}", "choices": CHOICES[:4]})
    for i in range(1, 3):
        q.append({"type": "checkbox", "name": f"m{i}", "title": f"多选题{i}", "choices": CHOICES})
    for i in range(1, 4):
        q.append({"type": "rating", "name": f"r{i}", "title": f"满意度{i}"})
    q.append({"type": "rating", "name": "nps", "title": "推荐意愿", "rateMin": 0, "rateMax": 10})
    q.append({"type": "text", "name": "staff", "title": "员工人数", "inputType": "number", "min": 0})
    q.append({"type": "text", "name": "since", "title": "成立日期", "inputType": "date"})
    q.append({"type": "comment", "name": "advice", "title": "建议"})
    q.append({"type": "matrix", "name": "mx", "title": "服务评价", "rows": ["效率", "态度", "公开"],
              "columns": ["差", "中", "好"]})
    q.append({"type": "ranking", "name": "rank", "title": "需求排序", "choices": CHOICES[:3]})
    return {"pages": [{"name": "p1", "elements": q[:8]}, {"name": "p2", "elements": q[8:]}]}


def answers(rng: random.Random) -> dict:
    a = {f"c{i}": rng.choice(CHOICES[:4]) for i in range(1, 5)}
    a |= {f"m{i}": sorted(rng.sample(CHOICES, rng.randint(1, 3)), key=CHOICES.index) for i in range(1, 3)}
    a |= {f"r{i}": rng.randint(1, 5) for i in range(1, 4)}
    a |= {"nps": rng.randint(0, 10), "staff": rng.randint(1, 500), "since": f"20{rng.randint(10, 24)}-0{rng.randint(1, 9)}-15",
          "advice": rng.choice(TERMS), "mx": {"效率": rng.choice("差中好"), "态度": rng.choice("差中好")},
          "rank": rng.sample(CHOICES[:3], 3)}
    return a


def build(recipients: int, responses: int) -> int:
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    admin.dispose()
    os.environ.update(DATABASE_URL=schema_url(), REDIS_URL=REDIS)
    from core import models
    from core.db import make_engine, session_scope, utcnow
    from staff import service as staff_service
    from staff.models import Role
    from surveys import service
    from surveys.models import SurveyRecipient, SurveyResponse
    from surveys.schemas import SurveyCreate

    engine = make_engine(schema_url())
    models.metadata().create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO park (name, created_at) VALUES ('高新区', now()), ('开发区', now())"))
        conn.execute(text(f"""
            INSERT INTO follower (openid, state, followed_at, muted, park_id)
            SELECT 'oBenchSurvey' || lpad(i::text, 16, '0'), 'following', now(), false, 1 + i % 2
            FROM generate_series(1, {recipients}) i"""))
    with session_scope() as s:
        author = staff_service.create_user(session=s, username="bench-author", password="Quiet-Harbour-2026",
                                           role=Role.editor)
        reviewer = staff_service.create_user(session=s, username="bench-reviewer", password="Quiet-Harbour-2026",
                                             role=Role.reviewer)
        survey = service.create(session=s, author=author, survey_in=SurveyCreate(
            title="惠企政策实施效果评价", definition=definition(), public=True, anonymous=True,
            closes_at=utcnow() + timedelta(days=30)))
        service.submit(session=s, survey=survey)
        service.approve(session=s, survey=survey, reviewer=reviewer)
        service.open_survey(session=s, survey=survey)
        survey_id = survey.id
    rng, today = random.Random(7), utcnow().date()
    sections = ["C", "I", "F", "M"]
    with engine.begin() as conn:
        conn.execute(text(f"""
            INSERT INTO survey_recipient (survey_id, follower_id, token, status, industry_section, park_id, size,
                                          invited_at, reminders_sent, wants_feedback)
            SELECT {survey_id}, i, md5(i::text), CASE WHEN i <= {responses} THEN 'completed' ELSE 'invited' END,
                   (ARRAY['C','I','F','M'])[1 + i % 4], 1 + i % 2, (ARRAY['大','中','小','微'])[1 + i % 4],
                   now(), 0, false
            FROM generate_series(1, {recipients}) i"""))
        rows = [{"id": os.urandom(16).hex(), "survey_id": survey_id, "answers": answers(rng), "channel": "form",
                 "day": today - timedelta(days=i % 20), "industry_section": sections[i % 4], "park_id": 1 + i % 2,
                 "size": "大中小微"[i % 4]} for i in range(responses)]
        for i in range(0, len(rows), 5000):
            conn.execute(SurveyResponse.__table__.insert(), rows[i:i + 5000])
        conn.execute(text("ANALYZE survey_response"))
        conn.execute(text("ANALYZE survey_recipient"))
    del rows, SurveyRecipient
    engine.dispose()
    return survey_id


def results_vs_sql(survey_id: int) -> None:
    from core.db import get_engine, session_scope
    from surveys import results
    from surveys.models import Survey

    times = []
    for _ in range(3):
        with session_scope() as s:
            started = time.perf_counter()
            computed = results.compute(session=s, survey=s.get(Survey, survey_id))
            times.append(time.perf_counter() - started)
    scalar = [f"c{i}" for i in range(1, 5)] + [f"r{i}" for i in range(1, 4)] + ["nps", "staff", "since", "advice"]
    listed = ["m1", "m2", "rank"]
    sql_times = []
    for _ in range(3):
        with get_engine().connect() as conn:
            started = time.perf_counter()
            for name in scalar:
                conn.execute(text(f"SELECT answers->>'{name}', count(*) FROM survey_response "
                                  f"WHERE survey_id = :s GROUP BY 1"), {"s": survey_id}).all()
            for name in listed:
                conn.execute(text(f"SELECT v, count(*) FROM survey_response, json_array_elements_text(answers->'{name}') v "
                                  f"WHERE survey_id = :s GROUP BY 1"), {"s": survey_id}).all()
            conn.execute(text("SELECT r.key, r.value, count(*) FROM survey_response, json_each_text(answers->'mx') r "
                              "WHERE survey_id = :s GROUP BY 1, 2"), {"s": survey_id}).all()
            for cell in ("industry_section", "park_id", "size"):
                conn.execute(text(f"SELECT {cell}, answers->>'c1', count(*) FROM survey_response WHERE survey_id = :s "
                                  f"GROUP BY 1, 2"), {"s": survey_id}).all()
            conn.execute(text("SELECT day, count(*) FROM survey_response WHERE survey_id = :s GROUP BY 1"),
                         {"s": survey_id}).all()
            sql_times.append(time.perf_counter() - started)
    best, ceiling = min(times), min(sql_times)
    print(f"results: {computed['responses']:,} responses, {len(computed['questions'])} questions: "
          f"{best * 1000:.0f} ms (best of 3); hand-written SQL {ceiling * 1000:.0f} ms; "
          f"ratio {best / ceiling:.2f}x (goal < 1 s, <= 1.5x)")


def export(survey_id: int) -> None:
    from core.db import session_scope
    from surveys import export as survey_export
    from surveys.models import Survey

    me = psutil.Process()
    start_rss, peak, done = me.memory_info().rss, [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], me.memory_info().rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    with session_scope() as s:
        body = survey_export.workbook_bytes(session=s, survey=s.get(Survey, survey_id), masked=False)
    took = time.perf_counter() - started
    done.set()
    sampler.join()
    print(f"export: {len(body) / 1e6:.1f} MB .xlsx in {took:.1f} s, peak memory +{(peak[0] - start_rss) / 1e6:.0f} MB "
          f"(goal < 60 s, < 300 MB)")


def serve(app: str, port: int, env: dict) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning",
                             "--no-access-log"], cwd=ROOT, env={**os.environ, **env})
    for _ in range(900):  # start-up loads jieba and the answer index: slow on a busy machine
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code in (200, 503):
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{app} did not start")


async def hammer(url: str, tokens: list[str], clients: int) -> tuple[float, list[float], int]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for token in tokens:
        queue.put_nowait(token)
    latencies: list[float] = []
    bad = 0
    page = {"c1": "融资", "c2": "用工", "c3": "税费", "c4": "审批", "m1": ["融资", "人才"], "m2": ["用工"],
            "r1": "4", "r2": "5", "action": "next"}

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal bad
        while not queue.empty():
            token = queue.get_nowait()
            started = time.perf_counter()
            r = await http.post(f"{url}/s/{token}", data=page)
            latencies.append(time.perf_counter() - started)
            bad += r.status_code != 303

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        took = time.perf_counter() - started
    return len(tokens) / took, latencies, bad


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] * 1000


def forms(survey_id: int, count: int, clients: int) -> None:
    from core.db import get_engine

    with get_engine().connect() as conn:
        tokens = list(conn.scalars(text(
            "SELECT token FROM survey_recipient WHERE survey_id = :s AND status = 'invited' ORDER BY id LIMIT :n"),
            {"s": survey_id, "n": count}))
    env = {"DATABASE_URL": schema_url(), "REDIS_URL": REDIS, "LOG_LEVEL": "WARNING",
           "WECHAT_API_BASE": "http://127.0.0.1:9/cgi-bin/"}  # no WeChat calls are made
    ours = serve("server:app", 8931, env)
    try:
        asyncio.run(hammer("http://127.0.0.1:8931", tokens[:50], clients))  # warm-up
        rate, latencies, bad = asyncio.run(hammer("http://127.0.0.1:8931", tokens[50:], clients))
    finally:
        ours.terminate()
        ours.wait()
    bare = serve("bench.ceiling:app", 8932, {})
    try:
        ceiling, bare_latencies, _ = asyncio.run(hammer("http://127.0.0.1:8932", tokens[50:], clients))
    finally:
        bare.terminate()
        bare.wait()
    print(f"form: {len(tokens) - 50:,} page submissions, {clients} clients: {rate:.0f}/s, p99 {p99(latencies):.0f} ms, "
          f"{bad} not accepted; bare endpoint {ceiling:.0f}/s, p99 {p99(bare_latencies):.0f} ms; "
          f"ratio {rate / ceiling:.2f} (goal >= 0.5, p99 < 100 ms)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--responses", type=int, default=50_000)
    parser.add_argument("--submissions", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    started = time.perf_counter()
    survey_id = build(args.recipients, args.responses)
    print(f"built {args.recipients:,} recipients and {args.responses:,} responses in {time.perf_counter() - started:.0f} s")
    results_vs_sql(survey_id)
    export(survey_id)
    forms(survey_id, args.submissions + 50, args.clients)


if __name__ == "__main__":
    main()
