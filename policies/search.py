"""Answers from the policy library and the FAQ for a question, in any process, kept current without restarts.

Each process holds one search index built from the database. At most once a `SEARCH_REFRESH_SECONDS` a search
compares the content version in Redis (policies.content) with the one its index was built from (an empty index
at every search); when they differ, the search waits for a new index rather than answer from the old one. A
change committed by this process is searched at once, without waiting for the check. The first search of a
process builds the index (or call `warm_up()` at start-up).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Literal

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core import tabular
from core.db import session_factory
from core.settings import get_settings
from policies import content, embeddings, service
from policies.models import PARTS, FaqEntry, Policy
from policies.retrieval import Doc, Index, doc_passages

SUMMARY_CHARS = 200  # a policy's answer: the start of its interpretation's 主要内容
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    """One answer to a question: an FAQ entry or a policy, with how sure the search is and whether it is
    in force (an FAQ entry is not when the policy it rests on is not)."""

    kind: Literal["faq", "policy"]
    id: int  # FaqEntry.id or Policy.id
    title: str  # the FAQ question or the policy title
    answer: str  # the FAQ answer or a short summary of the policy
    url: str  # the H5 page, absolute
    confidence: float  # 0..1: the chance that it answers the question (bot/answering.py decides from it)
    in_force: bool
    status_note: str  # why it is not in force ("该政策已废止", "已被《…》修订"); "" when it is


@dataclass(frozen=True)
class _Snapshot:
    version: int
    index: Index
    candidates: dict[str, Candidate]  # by doc id, confidence 0


def find_answers(query: str, k: int = 3) -> list[Candidate]:
    """The best `k` answers for `query`, best first (fewer, or none, when little matches).

    Plain synchronous code, safe from any number of threads; the first call in a process builds the index."""
    snapshot = _searcher.snapshot()
    out = []
    for hit in snapshot.index.search(query, k):
        base = snapshot.candidates[hit.doc_id]
        out.append(Candidate(base.kind, base.id, base.title, base.answer, base.url,
                             min(1.0, max(0.0, float(hit.confidence))), base.in_force, base.status_note))
    return out


def on_topic(query: str, k: int = 10) -> tuple[list[Candidate], int]:
    """When `query` is a bare topic word (`公积金`): its best `k` entries and how many there are; else ([], 0)."""
    snapshot = _searcher.snapshot()
    docs = snapshot.index.topic(query)
    return [snapshot.candidates[snapshot.index.docs[i].id] for i in docs[:k]], len(docs)


def knows(query: str) -> bool:
    """Whether the library holds any word of `query` (two characters or more)."""
    return _searcher.snapshot().index.knows(query)


def warm_up() -> None:
    """Build this process's index now rather than on the first question."""
    _searcher.snapshot()


def reset() -> None:
    """Forget this process's index (after the database settings change, as in tests)."""
    _searcher.reset()


# --- docs from the database ----------------------------------------------------------------------

def page_url(kind: str, id_: int) -> str:
    """The public H5 page of an FAQ entry or a policy."""
    base = get_settings().public_base_url.rstrip("/")
    return f"{base}/p/{id_}" if kind == "policy" else f"{base}/faq/{id_}"


def load_docs(*, session: Session) -> list[Doc]:
    """Every FAQ entry (doc id `faq:<id>`) and policy (`policy:<id>`) as retrieval docs."""
    return _load(session)[0]


def _load(session: Session) -> tuple[list[Doc], dict[str, Candidate]]:
    docs: list[Doc] = []
    candidates: dict[str, Candidate] = {}
    policies = list(session.scalars(select(Policy).options(
        selectinload(Policy.interpretation), selectinload(Policy.topics), selectinload(Policy.superseded_by))))
    by_number = {p.doc_number: p for p in policies if p.doc_number}
    for p in policies:
        doc_id = f"policy:{p.id}"
        interp = p.interpretation
        keywords = [p.doc_number] if p.doc_number else []
        if interp is not None:
            keywords += tabular.split_list(interp.keywords)
        docs.append(Doc(id=doc_id, kind="policy", title=p.title, body=p.body, keywords=keywords,
                        category="\n".join(t.name for t in p.topics),
                        interpretation="\n".join(getattr(interp, f) for f in PARTS if f != "keywords")
                        if interp else ""))
        candidates[doc_id] = Candidate("policy", p.id, p.title, _summary(p), page_url("policy", p.id), 0.0,
                                       p.in_force, service.status_note(p))
    for e in session.scalars(select(FaqEntry).order_by(FaqEntry.id)):
        doc_id = f"faq:{e.id}"
        docs.append(Doc(id=doc_id, kind="faq", title=e.question, body=e.answer, similar=list(e.similar),
                        keywords=list(e.keywords), category=e.category))
        policy = by_number.get(e.policy_number) if e.policy_number else None
        in_force, note = True, ""
        if policy is not None and not policy.in_force:
            in_force = False
            note = service.status_note(policy).replace("该政策", f"相关政策《{policy.title}》", 1)
        candidates[doc_id] = Candidate("faq", e.id, e.question, e.answer, page_url("faq", e.id), 0.0,
                                       in_force, note)
    return docs, candidates


def _summary(p: Policy) -> str:
    text = (p.interpretation.main_content if p.interpretation else "") or p.body
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS - 1] + "…"


# --- the per-process index -----------------------------------------------------------------------

class _Searcher:
    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self._after_fork)

    def reset(self) -> None:
        self._build_lock = threading.Lock()  # one build at a time; searches that need it wait for it
        self._snapshot: _Snapshot | None = None
        self._checked_at = 0.0

    def _after_fork(self) -> None:
        # a build running in the parent does not exist in the child; the snapshot is still good
        self._build_lock = threading.Lock()

    def snapshot(self) -> _Snapshot:
        snap = self._snapshot
        if snap is None or 0 <= snap.version < content.bumped_here():  # this process's own commit: at once
            return self._rebuild(snap)
        now = time.monotonic()
        # An empty index is checked at every search: the content may be arriving right now (an import at start).
        if len(snap.index) == 0 or now - self._checked_at >= get_settings().search_refresh_seconds:
            self._checked_at = now
            try:
                version = content.current_version()
            except redis.RedisError:
                log.warning("content version unavailable; searching the current index")
                return snap
            if version != snap.version:
                return self._rebuild(snap)
        return snap

    def _rebuild(self, stale: _Snapshot | None) -> _Snapshot:
        """A snapshot newer than `stale`: built here, or by the search that was already building one."""
        with self._build_lock:
            if self._snapshot is not stale and self._snapshot is not None:
                return self._snapshot
            try:
                self._snapshot = self._build()
            except Exception:  # noqa: BLE001 - answer from the old index; the next check retries
                if stale is None:
                    raise
                log.exception("search index rebuild failed")
                return stale
            self._checked_at = time.monotonic()
            return self._snapshot

    @staticmethod
    def _build() -> _Snapshot:
        started = time.perf_counter()
        try:  # read first: a change committed while loading then triggers another build
            version = content.current_version()
        except redis.RedisError:
            version = -1  # unknown: rebuild once Redis answers
        with session_factory()() as session:
            docs, candidates = _load(session)
            # Stored when each entry was written; embedded (once, then stored) only for content written before
            # the table existed.
            texts = [t for d in docs for t in doc_passages(d)]
            vectors = embeddings.stored(session=session, texts=texts)
            if len(vectors) < len(set(texts)):
                log.info("embedding passages written before their vectors were kept",
                         extra={"passages": len(set(texts)) - len(vectors)})
                vectors = embeddings.store(session=session, texts=texts)
                session.commit()
        index = Index.build(docs, vectors)
        log.info("search index built", extra={"version": version, "docs": len(docs),
                                               "seconds": round(time.perf_counter() - started, 3)})
        return _Snapshot(version, index, candidates)


_searcher = _Searcher()
