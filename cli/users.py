"""`policypush user create USERNAME --role ROLE [--password P] [--by CREATOR]`."""
from __future__ import annotations

from typing import Annotated

import typer

from core.db import session_scope
from staff import service
from staff.models import Role

app = typer.Typer(help="Staff accounts.", no_args_is_help=True)


@app.command("create")
def create(username: str,
           role: Annotated[Role, typer.Option(help="admin, editor, reviewer or analyst")],
           password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                                 help="prompted for when omitted")],
           openid: Annotated[str | None, typer.Option(help="their own WeChat openid, for test sends")] = None,
           by: Annotated[str | None, typer.Option(
               help="username of the staff member asking for the account: recorded as its creator, who "
                    "cannot approve their own campaigns with it")] = None,
           ) -> None:
    """Create a staff account."""
    from core import migrate

    migrate.upgrade()
    try:
        with session_scope() as session:
            creator = None
            if by is not None:
                creator = service.get_by_username(session=session, username=by)
                if creator is None:
                    raise service.Invalid(f"创建人账号不存在：{by}（--by）")
            user = service.create_user(session=session, username=username, password=password, role=role,
                                       openid=openid, created_by=creator)
            service.audit(session=session, actor=creator, action="user.create", target=f"user:{user.id}",
                          role=role.value, via="cli")
    except service.StaffError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created {role.value} {username}")
