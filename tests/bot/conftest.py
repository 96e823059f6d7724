"""Chat helpers: talk to the real webhook as a follower would, and sign staff in."""
from __future__ import annotations

import itertools
import time

import pytest

from core.db import session_scope
from staff import service as staff_service
from staff.models import Role
from subscriptions import credit_code
from subscriptions import service as subs
from subscriptions.schemas import ParkCreate
from tests.webhooks import wx
from webhooks.protocol import parse_xml

PASSWORD = "correct horse battery"
_ids = itertools.count(int(time.time() * 1000))
_seconds = itertools.count(int(time.time()))  # events are told apart by sender and CreateTime


def post(client, xml: str):
    r = client.post("/wechat", params=wx.signed_query(), content=xml.encode())
    assert r.status_code == 200
    return r


def say(client, openid: str, text: str, msg_id: int | None = None) -> str:
    """Send a text message through the webhook; the reply's text."""
    r = post(client, wx.message(openid, msg_id=msg_id or next(_ids), Content=text))
    return parse_xml(r.content)["Content"]


def event(client, openid: str, name: str, key: str = "") -> str:
    """An event (CLICK, subscribe, SCAN …); the reply's text, or `success`."""
    r = post(client, wx.message(openid, kind="event", created=next(_seconds),
                                Event=name, EventKey=key))
    return r.text if r.text == "success" else parse_xml(r.content)["Content"]


def click(client, openid: str, key: str) -> str:
    return event(client, openid, "CLICK", key)


def staff_headers(client, role: Role) -> dict:
    username = f"u-{role.value}"
    with session_scope() as session:
        if staff_service.get_by_username(session=session, username=username) is None:
            staff_service.create_user(session=session, username=username, password=PASSWORD, role=role)
    r = client.post("/api/auth/token", data={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def topics(client):
    """The shipped topic list, numbered 1.. in the chat."""
    with session_scope() as session:
        subs.seed_reference_data(session=session)
        return [t.name for t in subs.list_topics(session=session)]


@pytest.fixture
def parks(client):
    with session_scope() as session:
        for name, scene in (("高新区", "park-gx"), ("经开区", "park-jk")):
            subs.create_park(session=session, park_in=ParkCreate(name=name, qr_scene=scene))
        return [p.name for p in subs.list_parks(session=session)]


VALID_CODE = credit_code.complete("91211400MA0XXXXX1")
OTHER_CODE = credit_code.complete("91211400MA0YYYYY2")
