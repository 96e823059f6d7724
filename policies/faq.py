"""The FAQ knowledge base: entries staff write, import or grow from the answers they give in the chat."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from policies import content  # noqa: F401 - bumps the content version after commits
from policies.models import FaqEntry
from policies.schemas import FaqCreate, FaqUpdate


class FaqError(ValueError):
    """An FAQ change that cannot be made; the message (Chinese) says why."""


def get(*, session: Session, entry_id: int) -> FaqEntry | None:
    return session.get(FaqEntry, entry_id)


def get_by_external_id(*, session: Session, external_id: str) -> FaqEntry | None:
    return session.scalar(select(FaqEntry).where(FaqEntry.external_id == external_id))


def get_by_question(*, session: Session, question: str) -> FaqEntry | None:
    return session.scalar(select(FaqEntry).where(FaqEntry.question == question).order_by(FaqEntry.id).limit(1))


def search(*, session: Session, q: str | None = None, category: str | None = None, limit: int = 50,
           offset: int = 0, after_id: int | None = None) -> tuple[int, list[FaqEntry]]:
    """Entries whose 编号, question or answer contains `q`, optionally in one category; total and a page
    (by `offset`, or after the last id of the previous page)."""
    stmt = select(FaqEntry)
    if q and q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(FaqEntry.question.ilike(like), FaqEntry.answer.ilike(like),
                              FaqEntry.external_id.ilike(like)))
    if category:
        stmt = stmt.where(FaqEntry.category == category)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if after_id is not None:
        stmt = stmt.where(FaqEntry.id > after_id)
    return total, list(session.scalars(stmt.order_by(FaqEntry.id).limit(limit).offset(offset)))


def categories(*, session: Session) -> list[tuple[str, int]]:
    """Each category and its number of entries."""
    rows = session.execute(select(FaqEntry.category, func.count()).group_by(FaqEntry.category)
                           .order_by(FaqEntry.category))
    return [(c, n) for c, n in rows]


def _check_unique(session: Session, entry: FaqEntry | None, external_id: str | None) -> None:
    if external_id:
        other = get_by_external_id(session=session, external_id=external_id)
        if other is not None and other is not entry:
            raise FaqError(f"编号“{external_id}”已被条目 {other.id} 使用")


def create(*, session: Session, entry_in: FaqCreate, actor_id: int | None = None) -> FaqEntry:
    values = _clean(entry_in.model_dump())
    _check_unique(session, None, values["external_id"])
    entry = FaqEntry(**values, created_by=actor_id)
    session.add(entry)
    session.flush()
    return entry


def update(*, session: Session, entry: FaqEntry, entry_in: FaqUpdate) -> dict[str, list[Any]]:
    """Change the fields given; returns field -> [old, new] for what changed."""
    values = _clean(entry_in.model_dump(exclude_unset=True))
    for required in ("question", "answer"):
        if required in values and not values[required]:
            raise FaqError(f"{'问题' if required == 'question' else '答案'}不能为空")
    if "external_id" in values:
        _check_unique(session, entry, values["external_id"])
    changes = {k: [getattr(entry, k), v] for k, v in values.items() if getattr(entry, k) != v}
    for field, (_old, new) in changes.items():
        setattr(entry, field, new)
    session.flush()
    return changes


def delete(*, session: Session, entry: FaqEntry) -> None:
    session.delete(entry)
    session.flush()


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if isinstance(value, str):
            value = value.strip()
            if key in ("external_id", "policy_number"):
                value = value or None
        out[key] = value
    return out


def add_from_answer(*, session: Session, question: str, answer: str, category: str | None = None,
                    actor_id: int | None = None) -> FaqEntry:
    """Grow the FAQ from a question a follower asked and the answer staff gave: a new entry, or, when
    an entry already has exactly this question, that entry with the new answer. Flushes, does not commit;
    every process's search index picks it up after the commit."""
    question, answer = question.strip(), answer.strip()
    if not question or not answer:
        raise FaqError("问题和答案都不能为空")
    if len(question) > 500:
        raise FaqError("问题超过500字")
    entry = get_by_question(session=session, question=question)
    if entry is not None:
        update(session=session, entry=entry,
               entry_in=FaqUpdate(answer=answer, **({"category": category} if category else {})))
        return entry
    return create(session=session, entry_in=FaqCreate(question=question, answer=answer, category=category or ""),
                  actor_id=actor_id)
