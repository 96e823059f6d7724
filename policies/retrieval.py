"""In-memory search over FAQ entries and policies, in two stages.

First, field-weighted BM25 on words, character pairs and pinyin pairs picks the best `POOL` docs; then
policies/rerank.py re-scores them from how well each covers the query (words, characters, sounds, meaning)
and turns the scores into a `confidence` in 0..1: the probability that a hit answers the question, against
the other candidates and against "none of these"; bot/answering.py decides from it what to reply (the
`ANSWER_*` settings). `Index.build(docs)` is cheap enough to call again whenever content changes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import bm25s
import numpy as np

from policies import embeddings, rerank, text, vectors

# How many of the first stage's best docs the second stage (policies/rerank.py) re-scores.
POOL = 20

# Field weights per channel. Questions (title and similar questions) count most, answer text least;
# character and pinyin pairs only look at the short fields, where typos matter and bodies would be noise.
WORD_FIELDS = {"questions": 3.0, "keywords": 2.0, "category": 1.0, "interpretation": 1.0, "body": 2.0}
GRAM_FIELDS = {"questions": 1.0, "keywords": 0.7}
CHANNEL_WEIGHTS = {"words": 1.0, "chars": 0.3, "pinyin": 0.3}
# Only the start of a long body is indexed: tokenising is the cost of a build (jieba: ~200k chars/s here).
MAX_BODY_CHARS = 2000
# A one-word query that these fields of several docs hold is a topic to offer (`Index.topic`).
TOPIC_FIELDS = ("questions", "keywords", "category")
# Fields whose meaning (policies/vectors.py) is compared with the query's in the second stage.
MEANING_FIELDS = ("questions", "body")
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
    """A search result: which doc, its score (only comparable within one query) and its confidence."""

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
        bits: list[int] = []
        for i, doc in enumerate(field_terms):
            for bit, (f, w) in enumerate(weights.items()):
                scale = w / (1 - B + B * len(doc[f]) / avg[f])
                for term, tf in Counter(doc[f]).items():
                    term_ids.append(vocab.setdefault(term, len(vocab)))
                    doc_ids.append(i)
                    tfs.append(tf * scale)
                    bits.append(1 << bit)
        # Sum the fields of each (term, doc) pair, grouped by term; remember which fields hold the term.
        keys = np.asarray(term_ids, dtype=np.int64) * max(n, 1) + np.asarray(doc_ids, dtype=np.int64)
        pairs, where = np.unique(keys, return_inverse=True)
        tf = np.zeros(len(pairs), dtype=np.float64)
        np.add.at(tf, where, np.asarray(tfs, dtype=np.float64))
        masks = np.zeros(len(pairs), dtype=np.uint8)
        np.bitwise_or.at(masks, where, np.asarray(bits, dtype=np.uint8))
        terms_of_pair = pairs // max(n, 1)
        df = np.bincount(terms_of_pair, minlength=len(vocab))
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        self.size = n
        self.fields = list(weights)
        self.vocab = vocab
        self.indptr = np.concatenate([[0], np.cumsum(df)])
        self.docs = (pairs % max(n, 1)).astype(np.int32)
        self.values = (idf[terms_of_pair] * tf * (K1 + 1) / (tf + K1)).astype(np.float32)
        self.masks = masks
        self.idf = idf.astype(np.float32)
        self.unseen_idf = float(np.log(1 + (n + 0.5) / 0.5))  # a query term no doc has: as rare as can be
        # Idf mass of each doc's distinct terms, per field (to tell how much of a doc's question a query covers).
        self.mass = np.zeros((len(weights), n), dtype=np.float32)
        for bit in range(len(weights)):
            held = ((masks >> bit) & 1).astype(np.float32)
            self.mass[bit] = np.bincount(self.docs, weights=self.idf[terms_of_pair] * held, minlength=n)

    def weight(self, term: str) -> float:
        """Idf of a term (the rarest possible for an unknown one)."""
        t = self.vocab.get(term)
        return self.unseen_idf if t is None else float(self.idf[t])

    def overlap(self, terms: list[str], cands: np.ndarray) -> tuple[np.ndarray, float]:
        """Idf mass of the query's distinct terms found in each candidate doc, per field plus a last column
        for any field, and the idf mass of the whole query (unknown terms count as the rarest)."""
        matched = np.zeros((len(cands), len(self.fields) + 1), dtype=np.float32)
        shifts = np.arange(len(self.fields), dtype=np.uint8)
        total = 0.0
        for term in set(terms):
            t = self.vocab.get(term)
            if t is None:
                total += self.unseen_idf
                continue
            idf = self.idf[t]
            total += idf
            lo, hi = self.indptr[t], self.indptr[t + 1]
            docs = self.docs[lo:hi]
            pos = np.minimum(np.searchsorted(docs, cands), len(docs) - 1)
            found = docs[pos] == cands
            if not found.any():
                continue
            mask = np.where(found, self.masks[lo + pos], 0)
            matched[:, :-1] += idf * ((mask[:, None] >> shifts) & 1)
            matched[:, -1] += idf * found
        return matched, total

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

    def __init__(self, docs: list[Doc], channels: dict[str, _Channel], meaning: dict[str, np.ndarray],
                 sentences: embeddings.DocVectors, char_bm25: bm25s.BM25 | None) -> None:
        self.docs = docs
        self.channels = channels
        self.meaning = meaning  # per field, one unit vector per doc (policies/vectors.py)
        self.sentences = sentences  # e5 vectors of each doc's passages (policies/embeddings.py)
        self.char_bm25 = char_bm25  # character 1-2-gram BM25 over questions and keywords; None when empty
        self._by_id = {d.id: d for d in docs}
        if len(self._by_id) != len(docs):
            raise ValueError("doc ids must be unique")
        # A query that is one doc's question (its title or a similar question) as written is that doc's, for
        # sure; a question two docs share points to neither.
        askers: dict[str, set[int]] = {}
        for pos, doc in enumerate(docs):
            for question in (doc.title, *doc.similar):
                askers.setdefault(_question_key(question), set()).add(pos)
        self._exact = {key: pos for key, (pos, *more) in askers.items() if key and not more}

    def doc(self, doc_id: str) -> Doc:
        """The doc a hit points to."""
        return self._by_id[doc_id]

    @classmethod
    def build(cls, docs: list[Doc], passage_vectors: dict[str, np.ndarray] | None = None) -> Index:
        """The index of `docs`, with the stored e5 vectors of their passages by text (policies.embeddings);
        None embeds them here, which takes a while (tests, benchmarks)."""
        text.init()
        vectors.init()
        per_doc = [_channel_terms(d) for d in docs]
        channels = {
            "words": _Channel([p[0] for p in per_doc], WORD_FIELDS),
            "chars": _Channel([p[1] for p in per_doc], GRAM_FIELDS),
            "pinyin": _Channel([p[2] for p in per_doc], GRAM_FIELDS),
        }
        weight = channels["words"].weight
        meaning = {
            f: np.array([vectors.embed(p[0][f], weight) for p in per_doc], dtype=np.float32).reshape(-1, vectors.DIMS)
            for f in MEANING_FIELDS
        }
        sentences = embeddings.DocVectors.of([doc_passages(d) for d in docs], passage_vectors)
        char_bm25 = None
        if docs:
            char_bm25 = bm25s.BM25()
            char_bm25.index([text.char_ngrams(d.fields()["questions"] + "\n" + d.fields()["keywords"]) or ["_"]
                             for d in docs], show_progress=False)
        return cls(list(docs), channels, meaning, sentences, char_bm25)

    def __len__(self) -> int:
        return len(self.docs)

    def query_terms(self, query: str) -> dict[str, list[str]]:
        return {"words": text.words(query), "chars": text.char_bigrams(query), "pinyin": text.pinyin_bigrams(query)}

    def scores(self, query: str) -> np.ndarray:
        """First-stage score of every doc for `query` (higher is better; 0 means nothing in common)."""
        return self._scores(self.query_terms(query))

    def _scores(self, terms: dict[str, list[str]]) -> np.ndarray:
        total = np.zeros(len(self.docs), dtype=np.float32)
        for name, weight in CHANNEL_WEIGHTS.items():
            total += weight * self.channels[name].scores(terms[name])
        return total

    def candidates(self, query: str, n: int = POOL) -> tuple[np.ndarray, np.ndarray]:
        """The first stage's best `n` docs (positions, best first) with their re-ranking features."""
        terms = self.query_terms(query)
        total = self._scores(terms)
        n = min(n, int(np.count_nonzero(total)))
        top = np.argpartition(-total, n - 1)[:n] if 0 < n < len(total) else np.flatnonzero(total)
        top = top[np.argsort(-total[top], kind="stable")]
        if not len(top):
            return top, np.zeros((0, len(rerank.FEATURES)), dtype=np.float32)
        return top, rerank.features(self, query, terms, top, total[top])

    def char_scores(self, query: str, cands: np.ndarray) -> np.ndarray:
        """Character 1-2-gram BM25 scores of the candidate docs."""
        if self.char_bm25 is None:
            return np.zeros(len(cands), dtype=np.float32)
        known = [t for t in text.char_ngrams(query) if t in self.char_bm25.vocab_dict]
        if not known:
            return np.zeros(len(cands), dtype=np.float32)
        return self.char_bm25.get_scores(known)[cands].astype(np.float32)

    def topic(self, query: str) -> np.ndarray:
        """When the query is one word that the questions, keywords or category of several docs hold (a bare topic
        such as `公积金`): those docs' positions, best first. Otherwise empty."""
        word = text.single_word(query)
        words = self.channels["words"]
        t = words.vocab.get(word) if word else None
        if t is None:
            return np.zeros(0, dtype=np.int64)
        lo, hi = words.indptr[t], words.indptr[t + 1]
        fields = sum(1 << words.fields.index(f) for f in TOPIC_FIELDS)
        docs = words.docs[lo:hi][(words.masks[lo:hi] & fields) > 0]
        if len(docs) < 2:
            return np.zeros(0, dtype=np.int64)
        total = self.scores(query)
        return docs[np.argsort(-total[docs], kind="stable")].astype(np.int64)

    def knows(self, query: str) -> bool:
        """Whether any word of two or more characters in the query occurs in some doc."""
        vocab = self.channels["words"].vocab
        return any(len(w) > 1 and not w.startswith("#") and w in vocab for w in text.words(query))

    def search(self, query: str, k: int = 3) -> list[Hit]:
        """The best `k` docs for `query`, best first; empty when nothing matches or the query is blank."""
        if not self.docs or not text.normalize(query):
            return []
        top, x = self.candidates(query)
        if not len(top):
            return []
        z = rerank.scores(x)
        probs = rerank.probabilities(z)
        exact = self._exact.get(_question_key(query))
        if exact is not None and exact in top:
            i = int(np.flatnonzero(top == exact)[0])
            z[i], probs[i] = z.max() + 1, 1.0
        order = np.argsort(-z, kind="stable")[:k]
        return [Hit(self.docs[top[i]].id, float(z[i]), float(probs[i])) for i in order]


def doc_passages(doc: Doc) -> list[str]:
    """What of a doc has an e5 vector (policies/embeddings.py)."""
    return embeddings.passages(doc.title, doc.similar, doc.body)


def _question_key(question: str) -> str:
    """A question as written, give or take width, case, punctuation and spaces."""
    return text.normalize(question).replace(" ", "")
