"""`policypush campaign ...`: watch and list push campaigns from a terminal."""
from __future__ import annotations

import time
from typing import Annotated

import typer

app = typer.Typer(help="Push campaigns: list them, watch one's delivery.", no_args_is_help=True)
TERMINAL = {"finished", "cancelled"}


def _snapshot(campaign_id: int):
    from core.db import session_scope
    from push import service
    from push.models import Campaign

    with session_scope() as s:
        campaign = s.get(Campaign, campaign_id)
        if campaign is None:
            return None
        return (campaign.title, str(campaign.status), campaign.pause_detail, campaign.materialized_at is not None,
                service.counts(session=s, campaign_id=campaign_id))


@app.command("status")
def status(campaign_id: int,
           interval: Annotated[float, typer.Option(help="seconds between refreshes")] = 1.0,
           once: Annotated[bool, typer.Option(help="print the counts once and exit")] = False) -> None:
    """A live progress bar of the campaign's delivery until it ends (Ctrl-C stops watching, not sending)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console()
    snap = _snapshot(campaign_id)
    if snap is None:
        console.print(f"[red]campaign {campaign_id} not found")
        raise typer.Exit(1)

    def line(st, detail, c) -> str:
        extra = f" — {detail}" if detail else ""
        return (f"{st}{extra} · sent {c.sent} · delivered {c.delivered} · failed {c.failed} · "
                f"skipped {c.skipped} · opened {c.opened}")

    if once:
        title, st, detail, _, c = snap
        console.print(f"[bold]{title}[/] ({c.targeted} targeted)\n{line(st, detail, c)}")
        for reason, n in {**c.failed_by_reason, **c.skipped_by_reason}.items():
            console.print(f"  {reason}: {n}")
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("{task.fields[line]}"), console=console) as progress:
        task = progress.add_task(snap[0], total=snap[4].targeted or None, line="")
        try:
            while True:
                title, st, detail, materialized, c = _snapshot(campaign_id)
                progress.update(task, completed=c.done, total=(c.targeted if materialized else None) or None,
                                line=line(st, detail, c))
                if st in TERMINAL:
                    break
                time.sleep(interval)
        except KeyboardInterrupt:
            console.print("stopped watching; the campaign goes on")


@app.command("list")
def list_(limit: Annotated[int, typer.Option(min=1, max=200)] = 20) -> None:
    """The latest campaigns with their status."""
    from core.db import session_scope
    from push import service

    with session_scope() as s:
        for c in service.list_campaigns(session=s, limit=limit):
            typer.echo(f"{c.id:>6}  {c.status:<10}  {c.channel:<8}  {c.title}")
