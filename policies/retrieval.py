"""In-memory search over FAQ entries and policies: field-weighted BM25 on words, characters and pinyin.

`Index.build(docs)` is cheap enough to call again whenever content changes; `Index.search(query)` returns
hits with a calibrated `confidence` in 0..1. Below `CONFIDENCE_THRESHOLD` the bot should say it has no answer
and offer a person.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np

from policies import text

# Below this confidence the bot says it has no answer and offers a person. On the dev questions at 0.6,
# 2 of 30 that the FAQ cannot answer still get an answer and 47% of those it can answer go to a person
# (bench/answers.py prints the trade-off for other thresholds).
CONFIDENCE_THRESHOLD = 0.6
# Logistic calibration of confidence: weights of score, margin and agreement, and the intercept.
CALIBRATION = (0.044, 0.101, 0.76, -2.68)

# Field weights per channel. Questions (title and similar questions) count most, answer text least;
# character and pinyin pairs only look at the short fields, where typos matter and bodies would be noise.
WORD_FIELDS = {"questions": 3.0, "keywords": 2.0, "category": 1.0, "interpretation": 1.0, "body": 2.0}
GRAM_FIELDS = {"questions": 1.0, "keywords": 0.7}
CHANNEL_WEIGHTS = {"words": 1.0, "chars": 0.3, "pinyin": 0.3}
# Only the start of a long body is indexed: tokenising is the cost of a build (jieba: ~200k chars/s here).
MAX_BODY_CHARS = 2000
K1 = 1.2
B = 0.75


@dataclass
class Doc:
    """One searchable item: an FAQ entry (title is its question, body its answer) or a policy."""

    id: str
    kind: Literal["faq", "policy"]
    title: str
    body: str = ""
    similar: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    category: str = ""
    interpretation: str = ""

    def fields(self) -> dict[str, str]:
        return {
            "questions": "\n".join([self.title, *self.similar]),
            "keywords": "\n".join(self.keywords),
            "category": self.category,
            "interpretation": self.interpretation,
            "body": self.body[:MAX_BODY_CHARS],
        }


@dataclass(frozen=True)
class Hit:
    """A search result: which doc, its raw score (only comparable within one query) and its confidence."""

    doc_id: str
    score: float
    confidence: float


class _Channel:
    """BM25F over one kind of term: per-field length normalisation, weighted term frequencies summed
    before saturation. Each term's contribution to each doc is precomputed and stored by term (CSR), so a
    query is one numpy addition per query term."""

    def __init__(self, field_terms: list[dict[str, list[str]]], weights: dict[str, float]) -> None:
        n = len(field_terms)
        avg = {f: max(1.0, sum(len(d[f]) for d in field_terms) / max(n, 1)) for f in weights}
        vocab: dict[str, int] = {}
        term_ids: list[int] = []
        doc_ids: list[int] = []
        tfs: list[float] = []
        for i, doc in enumerate(field_terms):
            for f, w in weights.items():
                scale = w / (1 - B + B * len(doc[f]) / avg[f])
                for term, tf in Counter(doc[f]).items():
                    term_ids.append(vocab.setdefault(term, len(vocab)))
                    doc_ids.append(i)
                    tfs.append(tf * scale)
        # Sum the fields of each (term, doc) pair, grouped by term.
        keys = np.asarray(term_ids, dtype=np.int64) * max(n, 1) + np.asarray(doc_ids, dtype=np.int64)
        pairs, where = np.unique(keys, return_inverse=True)
        tf = np.zeros(len(pairs), dtype=np.float64)
        np.add.at(tf, where, np.asarray(tfs, dtype=np.float64))
        terms_of_pair = pairs // max(n, 1)
        df = np.bincount(terms_of_pair, minlength=len(vocab))
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        self.size = n
        self.vocab = vocab
        self.indptr = np.concatenate([[0], np.cumsum(df)])
        self.docs = (pairs % max(n, 1)).astype(np.int32)
        self.values = (idf[terms_of_pair] * tf * (K1 + 1) / (tf + K1)).astype(np.float32)

    def scores(self, terms: list[str]) -> np.ndarray:
        out = np.zeros(self.size, dtype=np.float32)
        for term in set(terms):
            t = self.vocab.get(term)
            if t is not None:
                lo, hi = self.indptr[t], self.indptr[t + 1]
                out[self.docs[lo:hi]] += self.values[lo:hi]
        return out


_Terms = tuple[dict[str, list[str]], dict[str, list[str]], dict[str, list[str]]]


def _channel_terms(doc: Doc) -> _Terms:
    return _field_terms(tuple(doc.fields().items()))


@lru_cache(maxsize=100_000)
def _field_terms(items: tuple[tuple[str, str], ...]) -> _Terms:
    """Terms of a doc's fields. Cached, so rebuilding after an edit only tokenises what changed."""
    fields = dict(items)
    words = {f: text.words(fields[f]) for f in WORD_FIELDS}
    chars = {f: text.char_bigrams(fields[f]) for f in GRAM_FIELDS}
    pinyin = {f: text.pinyin_bigrams(fields[f]) for f in GRAM_FIELDS}
    return words, chars, pinyin


class Index:
    """An immutable search index over a list of docs. Build a new one when the content changes."""

    def __init__(self, docs: list[Doc], channels: dict[str, _Channel]) -> None:
        self.docs = docs
        self.channels = channels
        self._by_id = {d.id: d for d in docs}
        if len(self._by_id) != len(docs):
            raise ValueError("doc ids must be unique")

    def doc(self, doc_id: str) -> Doc:
        """The doc a hit points to."""
        return self._by_id[doc_id]

    @classmethod
    def build(cls, docs: list[Doc]) -> Index:
        text.init()
        per_doc = [_channel_terms(d) for d in docs]
        channels = {
            "words": _Channel([p[0] for p in per_doc], WORD_FIELDS),
            "chars": _Channel([p[1] for p in per_doc], GRAM_FIELDS),
            "pinyin": _Channel([p[2] for p in per_doc], GRAM_FIELDS),
        }
        return cls(list(docs), channels)

    def __len__(self) -> int:
        return len(self.docs)

    def channel_scores(self, query: str) -> dict[str, np.ndarray]:
        """Score of every doc for `query` in each channel (words, chars, pinyin), before weighting."""
        terms = {"words": text.words(query), "chars": text.char_bigrams(query), "pinyin": text.pinyin_bigrams(query)}
        return {name: self.channels[name].scores(terms[name]) for name in CHANNEL_WEIGHTS}

    def scores(self, query: str) -> np.ndarray:
        """Combined score of every doc for `query` (higher is better; 0 means nothing in common)."""
        return _combine(self.channel_scores(query))

    def search(self, query: str, k: int = 3) -> list[Hit]:
        """The best `k` docs for `query`, best first; empty when nothing matches or the query is blank."""
        if not self.docs or not text.normalize(query):
            return []
        per_channel = self.channel_scores(query)
        total = _combine(per_channel)
        n = min(k + 1, len(self.docs))  # one more than asked: the margin of the last hit needs its follower
        top = np.argpartition(-total, n - 1)[:n] if n < len(self.docs) else np.arange(n)
        top = top[np.argsort(-total[top], kind="stable")]
        ranked = [float(total[i]) for i in top] + [0.0]
        hits = []
        for rank, i in enumerate(top[:k]):
            score = ranked[rank]
            if score <= 0:
                break
            rival = ranked[1] if rank == 0 else ranked[0]
            votes = agreement(per_channel, int(i))
            hits.append(Hit(self.docs[i].id, score, confidence(score, score - rival, votes)))
        return hits


def _combine(per_channel: dict[str, np.ndarray]) -> np.ndarray:
    total = np.zeros_like(next(iter(per_channel.values())))
    for name, weight in CHANNEL_WEIGHTS.items():
        total += weight * per_channel[name]
    return total


def agreement(per_channel: dict[str, np.ndarray], i: int) -> int:
    """How many of the independent views (words, sounds) rank doc `i` first on their own."""
    return sum(1 for name in ("words", "pinyin") if per_channel[name][i] > 0 and per_channel[name][i] == per_channel[name].max())


def confidence(score: float, margin: float, votes: int, calibration: tuple[float, ...] | None = None) -> float:
    """Probability that a hit answers the question, from its score, its lead over the best other doc and
    how many views rank it first.

    A logistic fit of "top hit is right" on the 215-entry FAQ and the dev questions (bench/answers.py prints
    a refit); BM25 scores grow slowly with the size of the index, so refit when the knowledge base changes
    a lot."""
    a, b, c, intercept = calibration or CALIBRATION
    z = a * score + b * margin + c * votes + intercept
    return 1.0 / (1.0 + math.exp(-z))
