"""Helpers for the subscriptions tests: valid credit codes and spreadsheets to import."""
from __future__ import annotations

import csv
from pathlib import Path

import openpyxl

from subscriptions import credit_code
from subscriptions.importer import COLUMNS

HEADERS = list(COLUMNS)


def code(n: int) -> str:
    """The n-th valid credit code of the tests (Huludao's region code, made-up organisation)."""
    return credit_code.complete(f"91211400{n:09d}")


def write_xlsx(path: Path, rows: list[list], headers: list[str] = HEADERS) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list], headers: list[str] = HEADERS, encoding: str = "utf-8-sig") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        writer.writerows(rows)
    return path
