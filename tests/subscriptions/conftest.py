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
