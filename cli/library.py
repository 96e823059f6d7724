"""The work behind `policypush import policies|faq` and `policypush export faq`."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.db import session_scope
from policies import faq_import, policy_import, service, tabular
from policies.schemas import ImportReport
from staff import service as staff


def import_file(kind: str, path: Path, *, max_errors: int = 200) -> int:
    """Import policies or FAQ entries with a progress bar and print the report. Exit code: 0 all stored,
    1 bad rows (nothing stored), 2 the file cannot be used (nothing stored)."""
    from core import migrate

    migrate.upgrade()
    console = Console()
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=console)
    task = progress.add_task(f"导入 {path.name}", total=None)

    def advance(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    run: Callable[..., ImportReport] = (policy_import.import_policies if kind == "policies"
                                        else faq_import.import_faq)
    try:
        with progress, session_scope() as session:
            report = run(session=session, path=path, progress=advance)
            staff.audit(session=session, actor=None, action=f"{'policy' if kind == 'policies' else 'faq'}.import",
                        via="cli", filename=path.name, rows=report.rows, created=report.created,
                        updated=report.updated, unchanged=report.unchanged, rejected=report.rejected_rows)
    except (tabular.FileError, service.PolicyError) as exc:
        console.print(f"[red]无法导入，未写入任何数据：{exc}[/red]")
        return 2
    print_report(console, report, max_errors)
    return 1 if report.errors else 0


def print_report(console: Console, report: ImportReport, max_errors: int) -> None:
    console.print(f"rows {report.rows}: created {report.created}, updated {report.updated}, "
                  f"unchanged {report.unchanged}, rejected {report.rejected_rows} ({len(report.errors)} errors)")
    if report.unknown_columns:
        console.print(f"ignored unknown columns: {'、'.join(report.unknown_columns)}")
    if not report.errors:
        return
    table = Table("row", "column", "reason", title="errors: nothing was stored; fix the file and import it again")
    for e in report.errors[:max_errors]:
        table.add_row(str(e.row), e.column, e.reason)
    console.print(table)
    if len(report.errors) > max_errors:
        console.print(f"... and {len(report.errors) - max_errors} more errors (--max-errors to list them)")


def export_faq(path: Path) -> int:
    from core import migrate

    migrate.upgrade()
    with session_scope() as session:
        count = faq_import.export_faq(session=session, path_or_file=path)
        staff.audit(session=session, actor=None, action="faq.export", via="cli", rows=count)
    typer.echo(f"exported {count} FAQ entries to {path}")
    return 0
