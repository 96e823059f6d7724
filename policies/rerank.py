"""Second stage of a search: re-score the first stage's best candidates from how well each covers the query.

Each candidate gets a handful of general features (share of the query's rare words found in its question, in
its answer, in any field; share of its question the query covers; the same for character and sound pairs;
its first-stage score and rank). A linear score over them feeds a softmax over the candidates plus a "none
of these" option whose score is 0, so a candidate's probability is the confidence that it answers the query.
The weights are fitted by `fit` (conditional logistic regression) on questions with known answers; bench/
answers.py cross-validates the fit and prints a refit for `WEIGHTS`.
"""

from __future__ import annotations

import numpy as np

from policies import embeddings, vectors

FEATURES = (
    "words in question",  # idf share of the query's words found in the candidate's question(s)
    "question covered",  # idf share of the candidate's question words found in the query
    "words in answer",
    "words anywhere",
    "words in category",
    "chars in question",
    "question chars covered",
    "sounds in question",
    "question sounds covered",
    "meaning of question",  # cosine of the query's and the question's word vectors (policies/vectors.py)
    "meaning of answer",
    "sentence meaning of question",  # e5 cosine of the query with the closest of the candidate's questions
    "sentence meaning of answer",  # e5 cosine with its question and the start of its answer
    "char pairs BM25 / best",  # character 1-2-gram BM25 (bm25s) over questions and keywords, over the best one's
    "score / best score",
    "1 / rank",
    # The e5 cosines against the pool's best one and their rank in it: how a candidate's meaning compares with its
    # rivals', which the raw cosines (crowded near 0.9 for any text of the same field) do not tell a linear score.
    "sentence meaning of question - best",
    "sentence meaning of answer - best",
    "1 / rank by sentence meaning of question",
    "1 / rank by sentence meaning of answer",
    "bias",
)
# Fitted on the 215-entry FAQ and both dev files' questions (bench/answers.py prints the refit).
WEIGHTS = np.array([-2.946, 0.817, -0.067, 3.494, -0.572, -5.460, -2.326, 1.246, 1.425, -0.994, 0.962, 19.378, 32.017,
                    0.769, 2.554, 0.957, 8.403, 22.376, -0.007, 1.325, -50.396], dtype=np.float32)


def features(index, query: str, query_terms: dict[str, list[str]], cands: np.ndarray,
             first: np.ndarray) -> np.ndarray:
    """Feature matrix (candidates x FEATURES) for candidate doc positions `cands`, ranked by first-stage
    scores `first` (best first). Embeds the query with e5: call it in a worker thread, never on the event loop."""
    words, chars, sounds = (index.channels[c] for c in ("words", "chars", "pinyin"))
    w, w_total = words.overlap(query_terms["words"], cands)
    c, c_total = chars.overlap(query_terms["chars"], cands)
    s, s_total = sounds.overlap(query_terms["pinyin"], cands)
    q, cat, body = (words.fields.index(f) for f in ("questions", "category", "body"))
    cq, sq = chars.fields.index("questions"), sounds.fields.index("questions")
    out = np.empty((len(cands), len(FEATURES)), dtype=np.float32)
    out[:, 0] = w[:, q] / max(w_total, 1e-6)
    out[:, 1] = w[:, q] / np.maximum(words.mass[q, cands], 1e-6)
    out[:, 2] = w[:, body] / max(w_total, 1e-6)
    out[:, 3] = w[:, -1] / max(w_total, 1e-6)
    out[:, 4] = w[:, cat] / max(w_total, 1e-6)
    out[:, 5] = c[:, cq] / max(c_total, 1e-6)
    out[:, 6] = c[:, cq] / np.maximum(chars.mass[cq, cands], 1e-6)
    out[:, 7] = s[:, sq] / max(s_total, 1e-6)
    out[:, 8] = s[:, sq] / np.maximum(sounds.mass[sq, cands], 1e-6)
    meaning = vectors.embed(query_terms["words"], words.weight)
    out[:, 9] = index.meaning["questions"][cands] @ meaning
    out[:, 10] = index.meaning["body"][cands] @ meaning
    out[:, 11], out[:, 12] = index.sentences.cosines(embeddings.embed_query(query), cands)
    chars_bm25 = index.char_scores(query, cands)
    out[:, 13] = chars_bm25 / max(float(chars_bm25.max(initial=0.0)), 1e-6)
    out[:, 14] = first / max(float(first[0]), 1e-6)
    out[:, 15] = 1.0 / (1.0 + np.arange(len(cands)))
    for col, cosines in ((16, out[:, 11]), (17, out[:, 12])):
        out[:, col] = cosines - cosines.max()
        out[:, col + 2] = 1.0 / (1.0 + np.argsort(np.argsort(-cosines, kind="stable"), kind="stable"))
    out[:, 20] = 1.0
    return out


def scores(x: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Second-stage score of each candidate (only comparable within one query)."""
    return x @ (WEIGHTS if weights is None else weights)


def probabilities(z: np.ndarray) -> np.ndarray:
    """Probability that each candidate answers the query, against the others and against "none of these",
    from their `scores`."""
    top = max(float(z.max(initial=0.0)), 0.0)
    e = np.exp(z - top)
    return e / (e.sum() + np.exp(-top))


def fit(groups: list[tuple[np.ndarray, list[int]]], l2: float = 0.03, steps: int = 3000) -> np.ndarray:
    """Weights maximising the likelihood of the right candidates: each group is a query's feature matrix and
    the rows that answer it (none: the query has no answer among the candidates)."""
    k = groups[0][0].shape[1]  # FEATURES, or more when a benchmark tries extra ones
    n = max(len(x) for x, _ in groups)
    xs = np.zeros((len(groups), n, k))
    valid = np.zeros((len(groups), n), dtype=bool)
    target = np.zeros((len(groups), n + 1))  # column 0: "none of these"
    for g, (x, right) in enumerate(groups):
        xs[g, : len(x)] = x
        valid[g, : len(x)] = True
        if right:
            target[g, [r + 1 for r in right]] = 1.0
        else:
            target[g, 0] = 1.0
    # Standardise the features so that one penalty suits them all; the bias (last) stays as it is.
    rows = xs[valid]
    mean, std = rows.mean(axis=0), rows.std(axis=0)
    mean[-1], std[-1] = 0.0, 1.0
    std[std < 1e-6] = 1.0
    xs = np.where(valid[..., None], (xs - mean) / std, 0.0)
    w = np.zeros(k)
    m = np.zeros(k)
    v = np.zeros(k)
    for step in range(1, steps + 1):  # Adam on the convex loss
        z = np.where(valid, xs @ w, -np.inf)
        logits = np.concatenate([np.zeros((len(groups), 1)), z], axis=1)
        # Gradient of -log(sum of the right ones' probabilities): p - p restricted to targets, renormalised.
        # Both softmaxes are taken in log space: a right candidate can be far below the best one.
        p = _softmax(logits)
        q = _softmax(np.where(target > 0, logits, -np.inf))
        diff = (p - q)[:, 1:]
        grad = np.einsum("gn,gnk->k", diff, xs) / len(groups) + l2 * np.r_[w[:-1], 0.0]
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        w -= 0.05 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    # Back to raw features: w . (x - mean) / std = (w / std) . x - (w / std) . mean
    raw = w / std
    raw[-1] -= float(raw[:-1] @ mean[:-1])
    return raw.astype(np.float32)


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax; -inf entries get 0."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
