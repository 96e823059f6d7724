"""Fixtures for the subscriptions tests."""
from __future__ import annotations

import pytest

from subscriptions import service
from subscriptions.schemas import ParkCreate


@pytest.fixture
def seeded(session):
    """A session with the shipped topics and tags and two parks (高新区 with a QR scene, 经开区)."""
    service.seed_reference_data(session=session)
    service.create_park(session=session, park_in=ParkCreate(name="高新区", qr_scene="park-gx"))
    service.create_park(session=session, park_in=ParkCreate(name="经开区"))
    return session


@pytest.fixture
def staff(client):
    """Bearer headers for one staff user of each role, keyed by role name."""
    from core.db import session_scope
    from staff import service as staff_service
    from staff.models import Role
    from staff.security import issue_token

    headers = {}
    with session_scope() as s:
        for role in Role:
            user = staff_service.create_user(session=s, username=f"s-{role.value}", password="x" * 12, role=role)
            headers[role.value] = {"Authorization": f"Bearer {issue_token(user.id, role.value)}"}
    return headers


@pytest.fixture
def api_world(client):
    """The shipped topics and tags and two parks in the app's database; returns their ids."""
    from core.db import session_scope

    with session_scope() as s:
        service.seed_reference_data(session=s)
        gx = service.create_park(session=s, park_in=ParkCreate(name="高新区", qr_scene="park-gx"))
        jk = service.create_park(session=s, park_in=ParkCreate(name="经开区"))
        ids = {"gx": gx.id, "jk": jk.id}
        ids.update({t.name: t.id for t in service.list_topics(session=s)})
        ids.update({t.name: t.id for t in service.list_tags(session=s)})
    return ids
