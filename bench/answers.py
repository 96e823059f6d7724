"""Answer quality and speed of policies.retrieval on the shared FAQ data. Run by hand; prints its figures.

    .venv/bin/python bench/answers.py [--scale N]
"""

from __future__ import annotations

import argparse
import csv
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

from policies import retrieval, text  # noqa: E402
from policies.retrieval import Doc, Index  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def load_kb() -> list[Doc]:
    with open(DATA / "faq-kb.csv", encoding="utf-8-sig", newline="") as f:
        return [
            Doc(id=r["编号"], kind="faq", title=r["问题"], body=r["答案"], category=r["类目"])
            for r in csv.DictReader(f)
        ]


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


def fit_calibration(rows: list[tuple[float, float, int, bool]]) -> tuple[float, float, float, float]:
    """Logistic regression of "top hit right" on (score, margin, votes), lightly regularised."""
    x = np.array([[s / 10, m / 10, v, 1.0] for s, m, v, _ in rows])
    y = np.array([ok for *_, ok in rows], dtype=float)
    w = np.zeros(4)
    for _ in range(20000):
        p = 1 / (1 + np.exp(-x @ w))
        w -= 0.05 * (x.T @ (p - y) / len(y) + 0.01 * np.r_[w[:3], 0])
    return w[0] / 10, w[1] / 10, w[2], w[3]


def quality(index: Index, dev: list[dict]) -> None:
    ranked, rows, tops = [], [], []
    for q in dev:
        hits = index.search(q["question"], k=10)
        ids = [h.doc_id for h in hits]
        ranked.append(ids)
        right = bool(q["kb"]) and bool(ids) and ids[0] in q["kb"]
        tops.append((hits[0].confidence if hits else 0.0, bool(q["kb"]), right))
        per_channel = index.channel_scores(q["question"])
        best = int(np.argmax(index.scores(q["question"])))
        margin = hits[0].score - (hits[1].score if len(hits) > 1 else 0.0) if hits else 0.0
        votes = retrieval.agreement(per_channel, best) if hits else 0
        rows.append((hits[0].score if hits else 0.0, margin, votes, right))
    n_ans = sum(1 for q in dev if q["kb"])
    n_none = len(dev) - n_ans
    top1, top3, mrr = rank_metrics(ranked, dev)
    print(f"model     top-1 {top1:.3f}  top-3 {top3:.3f}  MRR {mrr:.3f}   ({n_ans} answerable questions)")
    for half in (0, 1):
        part = [(r, q) for i, (r, q) in enumerate(zip(ranked, dev)) if i % 2 == half]
        h1, h3, hm = rank_metrics([r for r, _ in part], [q for _, q in part])
        print(f"  {'even' if half == 0 else 'odd '} half  top-1 {h1:.3f}  top-3 {h3:.3f}  MRR {hm:.3f}")
    print(f"confidence threshold (in use: {retrieval.CONFIDENCE_THRESHOLD}):")
    for threshold in sorted({0.4, 0.5, 0.55, 0.6, 0.65, 0.7, retrieval.CONFIDENCE_THRESHOLD}):
        confident_wrong = sum(1 for c, ans, _ in tops if not ans and c >= threshold)
        refused = sum(1 for c, ans, _ in tops if ans and c < threshold)
        misled = sum(1 for c, ans, right in tops if ans and not right and c >= threshold)
        print(
            f"  {threshold:.2f}: confident wrong {confident_wrong / n_none:.3f} ({confident_wrong}/{n_none} no-answer "
            f"questions answered), wrongly refused {refused / n_ans:.3f} ({refused}/{n_ans} answerable), "
            f"answered with a wrong entry {misled / n_ans:.3f}"
        )
    a, b, c, d = fit_calibration(rows)
    print(f"calibration refit on this data: CALIBRATION = ({a:.3f}, {b:.3f}, {c:.2f}, {d:.2f})  (in use: {retrieval.CALIBRATION})")
    for half in (0, 1):  # fit on one half of the questions, report on the other
        fit = fit_calibration([r for i, r in enumerate(rows) if i % 2 == half])
        test = [(t, r) for i, (t, r) in enumerate(zip(tops, rows)) if i % 2 != half]
        conf = [retrieval.confidence(s, m, v, calibration=fit) for _, (s, m, v, _) in test]
        none = [c for c, ((_, ans, _), _) in zip(conf, test) if not ans]
        ans = [c for c, ((_, a_, _), _) in zip(conf, test) if a_]
        th = retrieval.CONFIDENCE_THRESHOLD
        print(f"  fit on {'even' if half == 0 else 'odd'} half, tested on the other at {th}: confident wrong "
              f"{sum(c >= th for c in none) / len(none):.3f}, wrongly refused {sum(c < th for c in ans) / len(ans):.3f}")


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
    print(f"scale {len(big)} docs: build {build_s:.2f} s, process memory +{rss_mb() - before:.0f} MB (RSS)")
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
    args = parser.parse_args()

    before = rss_mb()
    t0 = time.perf_counter()
    text.init()
    print(f"jieba + dictionaries init {time.perf_counter() - t0:.2f} s, +{rss_mb() - before:.0f} MB")
    docs, dev = load_kb(), load_dev()
    t0 = time.perf_counter()
    index = Index.build(docs)
    print(f"index of {len(docs)} entries built in {(time.perf_counter() - t0) * 1000:.0f} ms")
    quality(index, dev)
    baseline(docs, dev)
    if args.scale:
        scale(docs, dev, args.scale)


if __name__ == "__main__":
    main()
