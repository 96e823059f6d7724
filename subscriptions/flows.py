"""Multi-step work of the subscriptions domain that calls WeChat (the tag mirror is in tags.py)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from subscriptions import service
from subscriptions.models import Park


def create_park_qrcode(*, session: Session, client, park: Park) -> Park:
    """Make the park's permanent QR code (QR_LIMIT_STR_SCENE) and record its ticket and URL.

    A park without a scene gets `park-<id>`. A code already made for the current scene is kept:
    permanent codes are limited per account and never expire. Raises WeChatClientException.
    """
    scene = service.park_scene(session=session, park=park)
    if park.qr_ticket:
        return park
    result = client.qrcode.create({"action_name": "QR_LIMIT_STR_SCENE",
                                   "action_info": {"scene": {"scene_str": scene}}})
    return service.record_park_qrcode(session=session, park=park, ticket=result["ticket"], url=result["url"])
