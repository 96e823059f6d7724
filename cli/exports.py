"""`policypush export ...`: write data to files. One function a kind of data, each a sub-command."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Export data to files.", no_args_is_help=True)


# --- enterprises (subscriptions) -----------------------------------------------------------------

@app.command("enterprises")
def enterprises(file: Annotated[Path, typer.Argument(dir_okay=False, help="the .xlsx to write")]) -> None:
    """Every enterprise as .xlsx with the import's columns (contacts and credit codes in full:
    keep the file where only staff allowed to see them can read it)."""
    from cli.enterprises import export_file

    raise typer.Exit(export_file(file))


# --- FAQ (policies) --------------------------------------------------------------------------------

@app.command("faq")
def faq(file: Annotated[Path, typer.Argument(dir_okay=False, help="the .xlsx to write")]) -> None:
    """Every FAQ entry as .xlsx with the import's columns (importing it again changes nothing)."""
    from cli.library import export_faq

    raise typer.Exit(export_faq(file))
