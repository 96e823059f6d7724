"""Demo data for `policypush run` on an empty database."""
from __future__ import annotations

from collections.abc import Iterator

from core.db import session_scope
from core.settings import get_settings
from staff import service as staff
from staff.models import Role, StaffUser

DEMO_PASSWORD = "policypush-demo"


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
                staff.create_user(session=session, username=f"demo-{role.value}", password=DEMO_PASSWORD,
                                  role=role, demo=True)
            yield (f"demo staff: demo-admin, demo-editor, demo-reviewer, demo-analyst "
                   f"(password {DEMO_PASSWORD})")
    from policies.seed import seed_demo as seed_library

    with session_scope() as session:
        yield from seed_library(session=session)
