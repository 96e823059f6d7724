"""Staff's answers to handed-over questions, sent from a worker as customer-service messages."""
from __future__ import annotations

import logging

from wechatpy.exceptions import WeChatClientException

from bot import service
from bot.models import QuestionStatus
from core.db import session_scope
from core.queue import celery_app
from core.redis import get_redis
from wechat import allowance
from wechat.client import get_client
from wechat.errors import Action, action_for

log = logging.getLogger(__name__)


@celery_app.task(name="bot.send_answer", bind=True, max_retries=5)
def send_answer(self, question_id: int, text: str) -> None:
    """Send staff's answer; when WeChat will not take it the question goes back to staff as undelivered,
    saying why (the answer is kept)."""
    with session_scope() as session:
        question = service.get_question(session=session, question_id=question_id)
        if question is None or question.status is not QuestionStatus.answered:
            return
        openid = question.follower.openid
    try:
        allowance.send_text(get_client(), get_redis(), openid, text)
        return
    except allowance.Refused as exc:
        reason = str(exc)
    except WeChatClientException as exc:
        if action_for(exc) in (Action.retry, Action.refresh_token) and self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=2 ** self.request.retries) from exc
        reason = f"微信未接收该消息（错误码{exc.errcode}：{exc.errmsg}）。"
    log.warning("staff answer not delivered", extra={"question": question_id, "openid": openid})
    with session_scope() as session:
        question = service.get_question(session=session, question_id=question_id)
        service.mark_undelivered(session=session, question=question, reason=reason)
