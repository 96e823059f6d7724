"""Segment preview and recipient streaming on PostgreSQL at 1,000,000 enterprises and followers.

Run by hand: `.venv/bin/python bench/segments.py [--url URL] [--reuse]`. Builds its data in the
schema `bench_segments` with generate_series (about a minute), then prints:
- the preview of a three-key filter (enterprise count, reachable-follower count, sample) against a
  hand-written SQL COUNT of the same predicate, the ceiling to compare with (goal: within 2x, < 300 ms);
- streaming every recipient of a ~200,000-follower segment (goal: < 3 s, < 200 MB).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from core import models  # noqa: E402
from core.db import make_engine  # noqa: E402
from subscriptions import reference, service  # noqa: E402
from subscriptions.segments import preview, recipient_batches  # noqa: E402

SCHEMA = "bench_segments"
N = 1_000_000
PARKS = 20


def build(url: str) -> None:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    engine = make_engine(_schema_url(url))
    models.metadata().create_all(engine)
    divisions = "ARRAY[" + ",".join(f"'{d}'" for d in reference.divisions()) + "]"
    steps = [
        ("parks", f"INSERT INTO park (name, qr_scene, created_at) SELECT '园区' || i, 'park-' || i, now() "
                  f"FROM generate_series(1, {PARKS}) i"),
        ("enterprises", f"""
            INSERT INTO enterprise (credit_code, name, industry_code, park_id, size, contact_name,
                                    contact_phone, created_at, updated_at)
            SELECT '9121140' || lpad(i::text, 10, '0') || 'X', '企业' || i,
                   ({divisions})[1 + (hashint4(i) & 2147483647) % 97],
                   CASE WHEN r1 < 0.7 THEN 1 + (hashint4(i + 7) & 2147483647) % {PARKS} END,
                   CASE WHEN r2 < 0.02 THEN '大' WHEN r2 < 0.10 THEN '中' WHEN r2 < 0.50 THEN '小' ELSE '微' END,
                   '联系人', '13800000000', now(), now()
            FROM (SELECT i, random() r1, random() r2 FROM generate_series(1, {N}) i) g"""),
        ("tags", """
            INSERT INTO enterprise_tag_link (enterprise_id, tag_id)
            SELECT DISTINCT id, 1 + (hashint4(id * 3) & 2147483647) % 12 FROM enterprise WHERE random() < 0.3
            UNION
            SELECT id, 1 + (hashint4(id * 5) & 2147483647) % 12 FROM enterprise WHERE random() < 0.1"""),
        ("followers", f"""
            INSERT INTO follower (openid, state, followed_at, muted, muted_until)
            SELECT 'oBench' || lpad(i::text, 22, '0'),
                   CASE WHEN r < 0.08 THEN 'unfollowed' ELSE 'following' END, now(),
                   r BETWEEN 0.08 AND 0.11,
                   CASE WHEN r BETWEEN 0.11 AND 0.13 THEN now() + interval '1 day'
                        WHEN r BETWEEN 0.13 AND 0.15 THEN now() - interval '1 day' END
            FROM (SELECT i, random() r FROM generate_series(1, {N}) i) g"""),
        ("bindings", f"""
            INSERT INTO enterprise_binding (follower_id, enterprise_id, bound_at)
            SELECT id, 1 + (hashint4(id) & 2147483647) % {N}, now() FROM follower WHERE random() < 0.85
            UNION
            SELECT id, 1 + (hashint4(id * 11) & 2147483647) % {N}, now() FROM follower WHERE random() < 0.10"""),
        ("subscriptions", """
            INSERT INTO subscription (follower_id, topic_id, created_at)
            SELECT DISTINCT f.id, 1 + (hashint4(f.id * k) & 2147483647) % 13, now()
            FROM follower f, generate_series(1, 3) k WHERE random() < 0.5"""),
    ]
    with Session(engine) as session:
        service.seed_reference_data(session=session)
        session.commit()
    with engine.begin() as conn:
        conn.execute(text("SET session_replication_role = replica"))  # skip FK triggers: the ids are right
        for name, sql in steps:
            t = time.perf_counter()
            conn.execute(text(sql))
            print(f"  generated {name:14} {time.perf_counter() - t:6.1f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        t = time.perf_counter()
        conn.execute(text("VACUUM ANALYZE"))
        print(f"  vacuum analyze          {time.perf_counter() - t:6.1f} s")
    engine.dispose()


def _schema_url(url: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{SCHEMA}"


def _best(fn, runs: int = 7) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


HAND_COUNT = """
SELECT count(*) FROM follower f
WHERE f.state = 'following' AND NOT f.muted AND (f.muted_until IS NULL OR f.muted_until <= now())
  AND EXISTS (SELECT 1 FROM enterprise_binding b JOIN enterprise e ON e.id = b.enterprise_id
              WHERE b.follower_id = f.id AND e.industry_code = ANY(:divisions)
                AND e.park_id = ANY(:parks) AND e.size = ANY(:sizes))"""
HAND_ENTERPRISES = """
SELECT count(*) FROM enterprise e
WHERE e.industry_code = ANY(:divisions) AND e.park_id = ANY(:parks) AND e.size = ANY(:sizes)"""


def run(url: str) -> None:
    engine = make_engine(_schema_url(url))
    with Session(engine) as session:
        three = {"industries": ["C"], "parks": [1, 2, 3, 4, 5], "sizes": ["小", "微"]}
        params = {"divisions": list(reference.expand_industry("C")), "parks": three["parks"],
                  "sizes": three["sizes"]}
        t_hand, hand = _best(lambda: session.execute(text(HAND_COUNT), params).scalar())
        t_hand_e, hand_e = _best(lambda: session.execute(text(HAND_ENTERPRISES), params).scalar())
        t_prev, result = _best(lambda: preview(session=session, filter=three))
        assert result.followers == hand and result.enterprises == hand_e, (result, hand, hand_e)
        print(f"\npreview {three}")
        print(f"  matching enterprises {result.enterprises:,}, reachable followers {result.followers:,}")
        print(f"  hand-written SQL COUNT (followers)   {t_hand * 1000:7.1f} ms")
        print(f"  hand-written SQL COUNT (enterprises) {t_hand_e * 1000:7.1f} ms")
        print(f"  preview (both counts + sample)       {t_prev * 1000:7.1f} ms   "
              f"= {t_prev / t_hand:.2f}x the follower COUNT, "
              f"{t_prev / (t_hand + t_hand_e):.2f}x both hand-written counts  (goal < 300 ms, < 2x)")

        segment = {"industries": ["C"], "exclude": {"sizes": ["大", "中"]}}
        for batch, window, wrows in ((5000, 100_000, 100_000), (1000, 20_000, 20_000)):
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            t = time.perf_counter()
            count, last, ordered = 0, 0, True
            for rows in recipient_batches(session=session, filter=segment, batch=batch,
                                              window=window, window_rows=wrows):
                ordered &= rows[0].follower_id > last
                count += len(rows)
                last = rows[-1].follower_id
            elapsed = time.perf_counter() - t
            rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print(f"\nstream {segment} batch={batch} window={window:,} window_rows={wrows:,}")
            print(f"  {count:,} recipients in {elapsed:.2f} s  (ordered: {ordered}; goal < 3 s)")
            print(f"  process peak RSS {rss_after / 1024:.0f} MB (grew {max(rss_after - rss_before, 0) / 1024:.0f} MB "
                  f"while streaming)")
        tracemalloc.start()
        count = sum(len(rows) for rows in recipient_batches(session=session, filter=segment, batch=5000))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  Python heap peak while streaming (tracemalloc, batch=5000): {peak / 2**20:.1f} MB "
              f"(goal < 200 MB)")
        hand_stream = """SELECT count(*) FROM follower f WHERE f.state = 'following' AND NOT f.muted
            AND (f.muted_until IS NULL OR f.muted_until <= now()) AND EXISTS (
              SELECT 1 FROM enterprise_binding b JOIN enterprise e ON e.id = b.enterprise_id
              WHERE b.follower_id = f.id AND e.industry_code = ANY(:d)
                AND (e.size IS NULL OR e.size NOT IN ('大', '中')))"""
        t_hs, hs = _best(lambda: session.execute(
            text(hand_stream), {"d": list(reference.expand_industry("C"))}).scalar(), runs=3)
        assert hs == count, (hs, count)
        print(f"  (hand-written COUNT of the same segment: {t_hs * 1000:.0f} ms)")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run")
    args = parser.parse_args()
    if not args.reuse:
        print(f"building {N:,} enterprises and {N:,} followers in schema {SCHEMA}")
        build(args.url)
    run(args.url)


if __name__ == "__main__":
    main()
