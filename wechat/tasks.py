"""Outbound WeChat calls that must not run inside a web request."""
from __future__ import annotations

import logging

from wechatpy.exceptions import WeChatClientException

from core.queue import celery_app
from core.redis import get_redis
from wechat import allowance
from wechat.client import get_client
from wechat.errors import Action, action_for

log = logging.getLogger(__name__)


@celery_app.task(name="wechat.send_text", bind=True, max_retries=5)
def send_text(self, openid: str, text: str) -> None:
    """A customer-service text message (a late answer), within the follower's allowance."""
    try:
        allowance.send_text(get_client(), get_redis(), openid, text)
    except allowance.Refused as exc:
        log.warning("custom message not sent: no allowance left", extra={"openid": openid, "errcode": exc.errcode})
    except WeChatClientException as exc:
        if action_for(exc) in (Action.retry, Action.refresh_token):
            raise self.retry(exc=exc, countdown=2 ** self.request.retries) from exc
        log.warning("custom message not sent", extra={"openid": openid, "errcode": exc.errcode})
