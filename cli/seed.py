"""Demo data for `policypush run` on an empty database."""
from __future__ import annotations

from collections.abc import Iterator

from core.db import session_scope
from core.settings import get_settings
from staff import service as staff
from staff.models import Role, StaffUser
from subscriptions import service as followers

DEMO_PASSWORD = "policypush-demo"


def demo_openid(role: Role) -> str:
    """The sandbox follower a demo account comes bound to (28 characters, as WeChat's openids)."""
    return f"oDemo{role.value.capitalize()}".ljust(28, "0")


def seed_demo() -> Iterator[str]:
    """Loads what an empty database lacks; yields a line for each thing it did. Demo staff accounts
    (with a published password) only against the sandbox: never where the real WeChat API is set."""
    with session_scope() as session:
        if session.query(StaffUser).first() is not None:
            pass
        elif get_settings().uses_real_wechat:
            yield "no demo staff accounts against the real WeChat API: `policypush user create` makes an account"
        else:
            for role in Role:
                followers.follow(session=session, openid=demo_openid(role))
                staff.create_user(session=session, username=f"demo-{role.value}", password=DEMO_PASSWORD,
                                  role=role, openid=demo_openid(role), demo=True)
            yield (f"demo staff: demo-admin, demo-editor, demo-reviewer, demo-analyst "
                   f"(password {DEMO_PASSWORD}), each bound to a sandbox follower ({demo_openid(Role.editor)} …) "
                   f"whose chat shows their test sends")
    from policies.seed import seed_demo as seed_library

    with session_scope() as session:
        yield from seed_library(session=session)
