"""The staff console at a city's scale on PostgreSQL: how long every list and dashboard page takes the server.

    .venv/bin/python bench/console.py [--rebuild] [--runs 20]

Builds once (kept in schema `bench_console` of BENCH_POSTGRES_URL; `--rebuild` starts again) 1,000,000
enterprises in 20 parks, 100,000 followers (40,000 bound to an enterprise), 20 campaigns with 100,000
deliveries over 30 days, a 15-question survey with 50,000 responses, 2,000 policies, 500 FAQ entries,
100,000 questions asked and 5,000 handed over, 20,000 audit entries. Then signs in as an admin and requests each
page `--runs` times through the app in this process (no network: the time is the server's), and prints
the first request's time (cold: nothing cached, see FIGURES_CACHE_SECONDS) and p50/p95 of the runs after it
per page, and the load average before and after. Goal: p95 under 150 ms on every page.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

SCHEMA = "bench_console"
PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "Quiet-Harbour-2026"
BATCH = 20_000


def schema_url() -> str:
    sep = "&" if "?" in PG else "?"
    return f"{PG}{sep}options=-csearch_path%3D{SCHEMA}"


def survey_bench():
    """bench/surveys.py, for its 15-question definition and random answers (one survey at scale)."""
    spec = importlib.util.spec_from_file_location("bench_surveys", ROOT / "bench" / "surveys.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def insert_batched(conn, table, rows) -> None:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            conn.execute(insert(table), batch)
            batch.clear()
    if batch:
        conn.execute(insert(table), batch)


def build() -> None:
    from bot.models import AskedQuestion, AskOutcome, HandoverReason, Question
    from core import migrate
    from core.db import make_engine, session_scope, utcnow
    from policies.models import FaqEntry, Policy
    from push.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
    from staff import service as staff_service
    from staff.models import AuditEntry, Role
    from subscriptions.models import Enterprise, EnterpriseBinding, Follower, Park
    from subscriptions.credit_code import complete
    from surveys import counts
    from surveys import service as survey_service
    from surveys.models import SurveyRecipient, SurveyResponse
    from surveys.schemas import SurveyCreate

    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    admin.dispose()
    migrate.upgrade()  # the schema as the server finds it
    engine = make_engine(schema_url())
    rng, now = random.Random(11), utcnow()
    started = time.perf_counter()
    with engine.begin() as conn:
        insert_batched(conn, Park.__table__, ({"name": f"园区{p:02d}"} for p in range(1, 21)))
        industries = ["13", "26", "37", "65", "72", "51"]
        insert_batched(conn, Enterprise.__table__, (
            {"credit_code": complete(f"91211400{n:09d}"), "name": f"葫芦岛市第{n}号企业有限公司",
             "industry_code": industries[n % 6], "park_id": 1 + n % 20, "size": "大中小微"[n % 4],
             "contact_name": "张三", "contact_phone": f"138{n:08d}"} for n in range(1, 1_000_001)))
        print(f"  1,000,000 enterprises ({time.perf_counter() - started:.0f} s)", flush=True)
        insert_batched(conn, Follower.__table__, ({"openid": f"oBenchConsole{n:010d}", "park_id": 1 + n % 20}
                                                   for n in range(1, 100_001)))
        insert_batched(conn, EnterpriseBinding.__table__, ({"follower_id": n, "enterprise_id": n * 7}
                                                           for n in range(1, 40_001)))
    with session_scope() as s:
        author = staff_service.create_user(session=s, username="bench-admin", password=PASSWORD, role=Role.admin)
        reviewer = staff_service.create_user(session=s, username="bench-reviewer", password=PASSWORD,
                                             role=Role.reviewer)
        author_id = author.id
        bench = survey_bench()
        survey = survey_service.create(session=s, author=author, survey_in=SurveyCreate(
            title="惠企政策实施效果评价", definition=bench.definition(), public=True, anonymous=True,
            closes_at=now + timedelta(days=30)))
        survey_service.submit(session=s, survey=survey)
        survey_service.approve(session=s, survey=survey, reviewer=reviewer)
        survey_service.open_survey(session=s, survey=survey)
        survey_id = survey.id
    with engine.begin() as conn:
        insert_batched(conn, Policy.__table__, (
            {"title": f"关于支持中小企业发展的若干措施（第{n}号）", "doc_number": f"葫政发〔2025〕{n}号",
             "issuer": ["市人民政府", "市发改委", "市工信局", "市人社局"][n % 4],
             "issued_on": (now - timedelta(days=n % 365)).date(), "body": "第一条 ……"} for n in range(1, 2001)))
        insert_batched(conn, FaqEntry.__table__, ({"question": f"常见问题{n}：补贴怎么申请？", "answer": "登录政务服务网申请。",
                                                   "category": ["稳岗就业", "税费", "融资"][n % 3]}
                                                  for n in range(1, 501)))
        campaigns = [{"title": f"政策推送{c}", "author_id": author_id, "status": CampaignStatus.finished,
                      "launched_at": now - timedelta(days=c), "finished_at": now - timedelta(days=c)}
                     for c in range(1, 21)]
        conn.execute(insert(Campaign.__table__), campaigns)
        insert_batched(conn, Delivery.__table__, (
            {"campaign_id": 1 + n % 20, "follower_id": 1 + n // 20, "openid": f"oBenchConsole{1 + n // 20:010d}",
             "client_msg_id": f"b{n}", "status": DeliveryStatus.sent, "sent_at": now - timedelta(days=1 + n % 20),
             "opened_at": now - timedelta(days=1 + n % 20) if n % 5 == 0 else None} for n in range(100_000)))
        insert_batched(conn, SurveyRecipient.__table__, (
            {"survey_id": survey_id, "follower_id": n, "status": "completed" if n <= 50_000 else "invited",
             "industry_section": "CIFM"[n % 4], "park_id": 1 + n % 20} for n in range(1, 100_001)))
        insert_batched(conn, SurveyResponse.__table__, (
            {"id": os.urandom(16).hex(), "survey_id": survey_id, "answers": bench.answers(rng), "channel": "form",
             "day": (now - timedelta(days=n % 20)).date(), "industry_section": "CIFM"[n % 4], "park_id": 1 + n % 20}
            for n in range(50_000)))
        outcomes = [AskOutcome.answered, AskOutcome.answered, AskOutcome.choices, AskOutcome.low_confidence]
        insert_batched(conn, AskedQuestion.__table__, (
            {"text": f"问题{n % 3000}", "normalized": f"问题{n % 3000}", "outcome": outcomes[n % 4],
             "created_at": now - timedelta(minutes=n * 0.4)} for n in range(100_000)))
        insert_batched(conn, Question.__table__, (
            {"follower_id": 1 + n, "text": f"请问第{n}号企业的补贴什么时候到账？电话13800{n:06d}",
             "reason": HandoverReason.low_confidence, "created_at": now - timedelta(hours=n * 0.1),
             **({"status": "answered", "answer": "已到账。", "answered_at": now - timedelta(hours=n * 0.1 - 2)}
                if n % 3 else {})} for n in range(5000)))
        insert_batched(conn, AuditEntry.__table__, ({"actor_id": author_id, "action": "enterprise.update",
                                                     "target": f"enterprise:{n}", "detail": {}} for n in range(20_000)))
    with session_scope() as s:  # the responses were written in bulk: their answers counted as completion does
        counts.recount(session=s, survey_id=survey_id)
    with engine.begin() as conn:
        for table in ("enterprise", "follower", "delivery", "survey_response", "survey_recipient", "asked_question",
                      "question", "audit_entry", "policy", "survey_answer_count"):
            conn.execute(text(f"ANALYZE {table}"))
    engine.dispose()
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


def built() -> bool:
    try:
        with create_engine(schema_url()).connect() as conn:
            return conn.execute(text("SELECT count(*) FROM survey_response")).scalar() > 0
    except Exception:  # noqa: BLE001 - no schema yet
        return False


def load() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def vacuum() -> None:
    """The tables as autovacuum keeps them in service (visibility maps set, so counts can read indexes
    alone), as bench/segments.py does: the CI server runs with autovacuum off. Quick once done."""
    with create_engine(schema_url(), isolation_level="AUTOCOMMIT").connect() as conn:
        tables = conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": SCHEMA}).all()
        conn.execute(text(f"VACUUM (ANALYZE) {', '.join(tables)}"))


def pages() -> list[str]:
    from core.db import session_scope
    from policies.models import Policy
    from push.models import Campaign
    from subscriptions.models import Enterprise
    from surveys.models import Survey

    with session_scope() as s:
        campaign, survey = s.scalar(select(func.min(Campaign.id))), s.scalar(select(func.min(Survey.id)))
        policy, enterprise = s.scalar(select(func.max(Policy.id))), s.scalar(select(func.max(Enterprise.id)))
    return ["/console/", "/console/knowledge", "/console/knowledge?q=补贴", "/console/questions",
            "/console/questions/report", "/console/campaigns", f"/console/campaigns/{campaign}",
            "/console/surveys", f"/console/surveys/{survey}", f"/console/surveys/{survey}/results",
            "/console/bindings", "/console/admin/users", "/console/audit", "/console/assessment",
            "/console/policies", "/console/policies?q=中小企业", f"/console/policies/{policy}",
            "/console/enterprises", "/console/enterprises?q=第99999号", "/console/enterprises?park_id=3&size=小",
            "/console/enterprises?bound=0&industry=C", f"/console/enterprises/{enterprise}",
            "/console/enterprises/followers", "/console/enterprises/followers?park_id=3",
            "/console/enterprises/parks", "/console/enterprises/topics", "/console/segments",
            "/console/segments/new", "/console/segments/count?industries=C&parks=3&sizes=小"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    os.environ.update(DATABASE_URL=schema_url(), LOG_LEVEL="WARNING", PUBLIC_BASE_URL="http://policypush.bench",
                      REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"))
    if args.rebuild or not built():
        print("building the data (once; --rebuild to start again) ...", flush=True)
        build()
    vacuum()
    import redis
    from fastapi.testclient import TestClient

    from server import app

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()  # nothing cached from an earlier run

    with TestClient(app) as client:
        login = client.get("/console/login")
        token = login.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = client.post("/console/login", data={"username": "bench-admin", "password": PASSWORD, "csrf_token": token},
                        follow_redirects=False)
        assert r.status_code == 303, r.text[:300]
        worst = 0.0
        print(f"\nload average {load()}\n{'page':48} {'status':>6} {'first ms':>9} {'p50 ms':>8} {'p95 ms':>8}")
        for path in pages():
            started = time.perf_counter()
            status = client.get(path).status_code
            first = (time.perf_counter() - started) * 1000
            if status == 404:
                print(f"{path:48} {'404':>6}  (no such page)")
                continue
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                client.get(path)
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
            worst = max(worst, p95)
            print(f"{path:48} {status:>6} {first:9.1f} {statistics.median(times):8.1f} {p95:8.1f}", flush=True)
    print(f"\nslowest p95: {worst:.0f} ms (goal < 150 ms on every page); load average {load()}")


if __name__ == "__main__":
    main()
