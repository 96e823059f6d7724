"""Import a 100,000-row enterprise .xlsx into fresh SQLite and PostgreSQL databases.

Run by hand: `.venv/bin/python bench/import.py [--rows N] [--url POSTGRES_URL]`. Prints the time to
write the sheet, to import it (goal: under 60 s) and to import it again (everything unchanged).
"""
from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openpyxl  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from core import models  # noqa: E402
from core.db import make_engine  # noqa: E402
from subscriptions import credit_code, reference, service  # noqa: E402
from subscriptions.importer import COLUMNS, import_enterprises  # noqa: E402
from subscriptions.schemas import ParkCreate  # noqa: E402

SCHEMA = "bench_import"
PARKS = [f"园区{i}" for i in range(1, 21)]


def write_sheet(path: Path, rows: int) -> None:
    rng = random.Random(4754)
    divisions = list(reference.divisions())
    tags = [r["name"] for r in reference.seed_rows("enterprise_tags.csv")]
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("企业")
    ws.append(list(COLUMNS))
    for i in range(rows):
        ws.append([
            credit_code.complete(f"91211400{i:09d}"), f"葫芦岛市测试企业{i}有限公司", rng.choice(divisions),
            rng.choice(PARKS) if rng.random() < 0.7 else None, rng.choice("大中小微"),
            "、".join(rng.sample(tags, rng.randint(0, 2))) or None,
            "张三", f"138{rng.randrange(10**8):08d}"])
    wb.save(path)


def bench(label: str, url: str, sheet: Path) -> None:
    engine = make_engine(url)
    models.metadata().create_all(engine)
    with Session(engine) as session:
        service.seed_reference_data(session=session)
        for name in PARKS:
            service.create_park(session=session, park_in=ParkCreate(name=name))
        session.commit()
        for run in ("import", "re-import"):
            t = time.perf_counter()
            report = import_enterprises(session=session, path_or_file=sheet)
            session.commit()
            elapsed = time.perf_counter() - t
            print(f"{label:10} {run:9} {elapsed:6.1f} s  rows {report.rows:,}: created {report.created:,}, "
                  f"updated {report.updated:,}, unchanged {report.unchanged:,}, errors {len(report.errors)}"
                  f"{'   (goal < 60 s)' if run == 'import' else ''}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sheet = Path(tmp) / "enterprises.xlsx"
        t = time.perf_counter()
        write_sheet(sheet, args.rows)
        print(f"wrote {args.rows:,} rows to .xlsx in {time.perf_counter() - t:.1f} s "
              f"({sheet.stat().st_size / 2**20:.1f} MB)")
        bench("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", sheet)
        admin = create_engine(args.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        try:
            bench("postgresql", f"{args.url}{'&' if '?' in args.url else '?'}options=-csearch_path%3D{SCHEMA}",
                  sheet)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
