"""The work behind `policypush import …` and `policypush export …`: migrations first, a progress bar,
the row report, and an audit entry for every file in or out."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from core.db import session_scope
from core.imports import ImportReport
from staff import service as staff

Importer = Callable[[Session, Path, Callable[[int, int | None], None]], ImportReport]


def import_file(path: Path, run: Importer, *, action: str, unreadable: tuple[type[Exception], ...],
                all_or_nothing: bool, max_errors: int = 200) -> int:
    """Import with a progress bar and print the report. Exit code: 0 all stored, 1 bad rows (the others
    stored, or nothing when `all_or_nothing`), 2 the file cannot be used (nothing stored)."""
    from core import migrate

    migrate.upgrade()
    console = Console()
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("rows"), TimeElapsedColumn(), console=console)
    task = progress.add_task(f"导入 {path.name}", total=None)  # a .csv's length is unknown until read

    def advance(done: int, total: int | None) -> None:
        progress.update(task, completed=done, total=total)

    try:
        with progress, session_scope() as session:
            report = run(session, path, advance)
            staff.audit(session=session, actor=None, action=action, via="cli", filename=path.name,
                        rows=report.rows, created=report.created, updated=report.updated,
                        unchanged=report.unchanged, rejected=report.rejected_rows)
    except unreadable as exc:
        console.print(f"[red]无法导入，未写入任何数据：{exc}[/red]")
        return 2
    stored = "nothing was stored; fix the file and import it again" if all_or_nothing else "bad rows were not stored"
    print_report(console, report, max_errors, stored, _save_bad_rows(path, report))
    return 1 if report.rejected_rows else 0


def _save_bad_rows(path: Path, report: ImportReport) -> Path | None:
    """Every bad row, beside the imported file, to correct and import again."""
    data = report.bad_rows_xlsx()
    if data is None:
        return None
    out = path.with_name(f"{path.stem}-bad-rows.xlsx")
    out.write_bytes(data)
    return out


def print_report(console: Console, report: ImportReport, max_errors: int, stored: str,
                 bad_rows: Path | None = None) -> None:
    console.print(f"rows {report.rows}: created {report.created}, updated {report.updated}, "
                  f"unchanged {report.unchanged}, rejected {report.rejected_rows} ({report.error_count} errors)")
    if report.unknown_columns:
        console.print(f"ignored unknown columns: {'、'.join(report.unknown_columns)}")
    if not report.error_count:
        return
    console.print("errors by reason: " + ", ".join(f"{code} {n}" for code, n in report.errors_by_code.items()))
    table = Table("row", "column", "reason", title=f"errors: {stored}")
    for e in report.errors[:max_errors]:
        table.add_row(str(e.row), e.column, e.reason)
    console.print(table)
    if report.error_count > min(max_errors, len(report.errors)):
        console.print(f"... and {report.error_count - min(max_errors, len(report.errors))} more errors")
    if bad_rows is not None:
        console.print(f"every bad row, with its reasons: {bad_rows}")


def export_file(path: Path, run: Callable[[Session, Path], int], *, action: str, what: str) -> int:
    from core import migrate

    migrate.upgrade()
    with session_scope() as session:
        count = run(session, path)
        staff.audit(session=session, actor=None, action=action, via="cli", rows=count)
    typer.echo(f"exported {count} {what} to {path}")
    return 0
