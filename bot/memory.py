"""What the chat remembers about a follower, in Redis: recent turns (attached to questions handed to
staff), the last question (for `人工`) and the last answer (for `有用`/`没用`)."""
from __future__ import annotations

import json
import time
from typing import Any

from core.redis import get_autopipeline, get_redis
from core.settings import get_settings

HISTORY_SECONDS = 2 * 24 * 3600
TURN_CHARS = 500  # a long answer is kept as its start
ANSWER_SECONDS = 24 * 3600  # feedback on an answer is taken this long after it


# Append the turns, keep the last ARGV[1], renew the expiry: one command in the webhook's pipeline.
_RECORD = """
redis.call('RPUSH', KEYS[1], unpack(ARGV, 3))
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[2])
"""


def record_turns(openid: str, *turns: tuple[str, str]) -> None:
    """Append (who, text) turns, `who` being "user" or "bot"; only the last BOT_HISTORY_SIZE are kept.
    Called on the event loop; queued with the next Redis batch, not awaited."""
    now = int(time.time())
    get_autopipeline().send(
        "EVAL", _RECORD, 1, f"bot:history:{openid}", get_settings().bot_history_size, HISTORY_SECONDS,
        *(json.dumps({"who": who, "text": text[:TURN_CHARS], "at": now}, ensure_ascii=False)
          for who, text in turns))


def recent_turns(openid: str) -> list[dict[str, Any]]:
    """Oldest first."""
    return [json.loads(t) for t in get_redis().lrange(f"bot:history:{openid}", 0, -1)]


def forget(openid: str) -> None:
    get_redis().delete(f"bot:history:{openid}", f"bot:last-question:{openid}", f"bot:last-answer:{openid}")


def remember_question(openid: str, *, text: str, asked_id: int | None, question_id: int | None = None) -> None:
    """The follower's latest question; `question_id` once it is handed to staff."""
    get_redis().set(f"bot:last-question:{openid}", json.dumps(
        {"text": text, "asked_id": asked_id, "question_id": question_id}, ensure_ascii=False),
        ex=get_settings().bot_dialog_ttl)


def last_question(openid: str) -> dict[str, Any] | None:
    raw = get_redis().get(f"bot:last-question:{openid}")
    return json.loads(raw) if raw else None


def remember_answer(openid: str, *, question: str, kind: str, answer_id: int, queued: int | None = None) -> None:
    """The answer a 有用/没用 reply would be about; `queued`: the question staff hold meanwhile, which 有用
    withdraws."""
    answer = {"question": question, "kind": kind, "id": answer_id} | ({"queued": queued} if queued else {})
    get_redis().set(f"bot:last-answer:{openid}", json.dumps(answer, ensure_ascii=False), ex=ANSWER_SECONDS)


def take_answer(openid: str) -> dict[str, Any] | None:
    """The last answer, forgotten as it is taken: one feedback per answer."""
    raw = get_redis().getdel(f"bot:last-answer:{openid}")
    return json.loads(raw) if raw else None
