"""The work behind `policypush import enterprises` and `policypush export enterprises`."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.db import session_scope
from staff import service as staff
from subscriptions import importer
from subscriptions.schemas import ImportReport


def import_file(path: Path, *, max_errors: int = 200) -> int:
    """Import, show progress, print the report; the exit code: 0 all good, 1 bad rows, 2 unreadable file."""
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
            report = importer.import_enterprises(session=session, path_or_file=path, progress=advance)
            staff.audit(session=session, actor=None, action="enterprise.import", via="cli", filename=path.name,
                        rows=report.rows, created=report.created, updated=report.updated,
                        unchanged=report.unchanged, rejected=report.rejected_rows)
    except importer.ImportFileError as exc:
        console.print(f"[red]无法导入，未写入任何数据：{exc}[/red]")
        return 2
    print_report(console, report, max_errors)
    return 1 if report.errors else 0


def print_report(console: Console, report: ImportReport, max_errors: int) -> None:
    console.print(f"rows {report.rows}: created {report.created}, updated {report.updated}, "
                  f"unchanged {report.unchanged}, rejected {report.rejected_rows} "
                  f"({len(report.errors)} errors)")
    if not report.errors:
        return
    table = Table("row", "column", "reason", title="errors (bad rows were not stored)")
    for e in report.errors[:max_errors]:
        table.add_row(str(e.row), e.column, e.reason)
    console.print(table)
    if len(report.errors) > max_errors:
        console.print(f"... and {len(report.errors) - max_errors} more errors (--max-errors to list them)")


def export_file(path: Path) -> int:
    from core import migrate

    migrate.upgrade()
    with session_scope() as session:
        count = importer.export_enterprises(session=session, path_or_file=path)
        staff.audit(session=session, actor=None, action="enterprise.export", via="cli", rows=count)
    typer.echo(f"exported {count} enterprises to {path}")
    return 0
