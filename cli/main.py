"""`policypush`: run everything, manage staff accounts, import data."""
from __future__ import annotations

import typer

from cli import run as run_cmd
from cli import users

app = typer.Typer(help="PolicyPush: government policy to the people it is for, through WeChat.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.command("run")(run_cmd.run)
app.add_typer(users.app, name="user")


@app.command()
def migrate() -> None:
    """Apply the database migrations (the server and `run` do this at start too)."""
    from core import migrate as migrations

    migrations.upgrade()
    typer.echo("database is up to date")


if __name__ == "__main__":
    app()
