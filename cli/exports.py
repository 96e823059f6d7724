"""`policypush export ...`: write data to files. One function a kind of data, each a sub-command."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli import files

app = typer.Typer(help="Export data to files.", no_args_is_help=True)


# --- enterprises (subscriptions) -----------------------------------------------------------------

@app.command("enterprises")
def enterprises(file: Annotated[Path, typer.Argument(dir_okay=False, help="the .xlsx to write")]) -> None:
    """Every enterprise as .xlsx with the import's columns (contacts and credit codes in full:
    keep the file where only staff allowed to see them can read it)."""
    from subscriptions import importer

    raise typer.Exit(files.export_file(
        file, lambda session, path: importer.export_enterprises(session=session, path_or_file=path),
        action="enterprise.export", what="enterprises"))


# --- FAQ (policies) --------------------------------------------------------------------------------

@app.command("faq")
def faq(file: Annotated[Path, typer.Argument(dir_okay=False, help="the .xlsx to write")]) -> None:
    """Every FAQ entry as .xlsx with the import's columns (importing it again changes nothing)."""
    from policies import faq_import

    raise typer.Exit(files.export_file(
        file, lambda session, path: faq_import.export_faq(session=session, path_or_file=path),
        action="faq.export", what="FAQ entries"))
