"""Surveys at scale on PostgreSQL: 100,000 recipients and 50,000 completed responses to a 15-question survey.

Run by hand: `.venv/bin/python bench/surveys.py [--recipients 100000 --responses 50000]`. Prints:
1. results (surveys.results.compute) best of 5, against the ceiling: hand-written SQL reading the same
   figures from the same tables (the answers' counts kept as responses complete, surveys.counts;
   responses per day; recipients by cell and status; drop-off), in the same run; the ratio. Also the one
   pass over every response that makes those counts again (surveys.counts.recount: the responses here
   are written in bulk, not completed one by one);
2. the .xlsx export of every response: seconds and the process's peak memory above its start;
3. form submissions from 50 connections of wrk (apt-get install wrk), the first page (eight answers) once
   for each of distinct invited recipients, against a uvicorn server on the same database, then against a
   bare FastAPI endpoint that reads the same form (bench/ceiling.py): submissions per second, the ratio and p99.
Goals: results < 1 s and within 1.5x of SQL; export < 60 s and < 300 MB; form ratio >= 0.5, p99 < 100 ms.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench.webhook import wrk, wrk_script  # noqa: E402

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
    from core import migrate
    from core.db import make_engine, session_scope, utcnow
    from staff import service as staff_service
    from staff.models import Role
    from surveys import counts, service
    from surveys.models import SurveyRecipient, SurveyResponse
    from surveys.schemas import SurveyCreate

    engine = make_engine(schema_url())
    migrate.upgrade(engine)  # as the server would at start, so the one started for the form finds it done
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
    del rows, SurveyRecipient
    with session_scope() as s:
        started = time.perf_counter()
        counts.recount(session=s, survey_id=survey_id)
    print(f"answers counted again from the {responses:,} responses (one pass): {time.perf_counter() - started:.1f} s")
    with engine.begin() as conn:
        for table in ("survey_response", "survey_recipient", "survey_answer_count"):
            conn.execute(text(f"ANALYZE {table}"))
    engine.dispose()
    return survey_id


def results_vs_sql(survey_id: int) -> None:
    from core.db import get_engine, session_scope
    from surveys import results
    from surveys.models import Survey

    answer_counts = text("SELECT question, value, industry_section, park_id, size, n FROM survey_answer_count "
                         "WHERE survey_id = :s")

    def sql() -> float:
        with get_engine().connect() as conn:
            started = time.perf_counter()
            conn.execute(answer_counts, {"s": survey_id}).all()
            conn.execute(text("SELECT day, count(*) FROM survey_response WHERE survey_id = :s GROUP BY 1"),
                         {"s": survey_id}).all()
            conn.execute(text("SELECT industry_section, park_id, size, status, count(*) FROM survey_recipient "
                              "WHERE survey_id = :s GROUP BY 1, 2, 3, 4"), {"s": survey_id}).all()
            conn.execute(text("SELECT last_question, count(*) FROM survey_recipient WHERE survey_id = :s "
                              "AND status = 'started' GROUP BY 1"), {"s": survey_id}).all()
            return time.perf_counter() - started

    times, sql_times = [], []
    # best of 5 on both sides, taken in turns: the machine is shared, and a busy spell then slows both alike
    for _ in range(5):
        with session_scope() as s:
            started = time.perf_counter()
            computed = results.compute(session=s, survey=s.get(Survey, survey_id))
            times.append(time.perf_counter() - started)
        sql_times.append(sql())
    best, ceiling = min(times), min(sql_times)
    print(f"results: {computed['responses']:,} responses, {len(computed['questions'])} questions: "
          f"{best * 1000:.0f} ms (best of 5); hand-written SQL {ceiling * 1000:.0f} ms; "
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


PAGE = {"c1": "融资", "c2": "用工", "c3": "税费", "c4": "审批", "m1": ["融资", "人才"], "m2": ["用工"],
        "r1": "4", "r2": "5", "action": "next"}  # the first page's eight answers


def form_script(tmp: Path, name: str, tokens: list[str]) -> Path:
    """A wrk script posting the first page once for each token."""
    body = urlencode(PAGE, doseq=True)
    requests = tmp / f"{name}.txt"
    requests.write_text("".join(f"/s/{token}\t{body}\n" for token in tokens))
    return wrk_script(requests, "application/x-www-form-urlencoded")


def started(survey_id: int) -> int:
    from core.db import get_engine

    with get_engine().connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM survey_recipient WHERE survey_id = :s AND status <> 'invited'"),
                           {"s": survey_id})


def forms(survey_id: int, seconds: int, clients: int) -> None:
    """wrk (C, so the load generator is not what is measured) posts the first page for distinct invited
    recipients against our server, then the same requests against a bare endpoint that only reads the form."""
    from core.db import get_engine

    with get_engine().connect() as conn:
        tokens = list(conn.scalars(text(
            "SELECT token FROM survey_recipient WHERE survey_id = :s AND status = 'invited' ORDER BY id"),
            {"s": survey_id}))
    tmp = Path(tempfile.mkdtemp(prefix="bench-surveys-"))
    warm, run = form_script(tmp, "warm", tokens[:2000]), form_script(tmp, "run", tokens[2000:])
    env = {"DATABASE_URL": schema_url(), "REDIS_URL": REDIS, "LOG_LEVEL": "WARNING",
           "WECHAT_API_BASE": "http://127.0.0.1:9/cgi-bin/"}  # no WeChat calls are made
    ours = serve("server:app", 8931, env)
    try:
        wrk("http://127.0.0.1:8931", warm, 2, clients, 2)
        before = started(survey_id)
        result = wrk("http://127.0.0.1:8931", run, seconds, clients, 2)
        accepted = started(survey_id) - before
    finally:
        ours.terminate()
        ours.wait()
    bare = serve("bench.ceiling:app", 8932, {})
    try:
        wrk("http://127.0.0.1:8932", run, 2, clients, 2)
        ceiling = wrk("http://127.0.0.1:8932", run, seconds, clients, 2)
    finally:
        bare.terminate()
        bare.wait()
    print(f"form: first pages (8 answers), {clients} connections, {seconds} s: {result['rps']:.0f}/s, "
          f"p50 {result['p50']:.0f} ms, p99 {result['p99']:.0f} ms, {accepted:,} recipients started; bare endpoint "
          f"{ceiling['rps']:.0f}/s, p99 {ceiling['p99']:.0f} ms; ratio {result['rps'] / ceiling['rps']:.2f} "
          f"(goal >= 0.5, p99 < 100 ms)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--responses", type=int, default=50_000)
    parser.add_argument("--form-seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    started = time.perf_counter()
    survey_id = build(args.recipients, args.responses)
    print(f"built {args.recipients:,} recipients and {args.responses:,} responses in {time.perf_counter() - started:.0f} s")
    results_vs_sql(survey_id)
    export(survey_id)
    forms(survey_id, args.form_seconds, args.clients)


if __name__ == "__main__":
    main()
