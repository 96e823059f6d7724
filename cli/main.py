"""`policypush`: run everything, manage staff accounts, import data."""
from __future__ import annotations

import typer

from cli import campaigns, exports, imports, users
from cli import run as run_cmd

app = typer.Typer(help="PolicyPush: government policy to the people it is for, through WeChat.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.command("run")(run_cmd.run)
app.add_typer(users.app, name="user")
app.add_typer(imports.app, name="import")
app.add_typer(exports.app, name="export")
app.add_typer(campaigns.app, name="campaign")


@app.command()
def migrate() -> None:
    """Apply the database migrations (the server and `run` do this at start too)."""
    from core import migrate as migrations

    typer.echo(migrations.loaded_text(migrations.upgrade()))


@app.command("menu")
def publish_menu() -> None:
    """Replace the account's custom menu with the chat's (`bot/menu.py`), through WECHAT_API_BASE."""
    from bot import menu

    menu.publish()
    typer.echo("menu published")


if __name__ == "__main__":
    app()
