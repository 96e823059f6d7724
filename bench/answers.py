"""Answer quality and speed of policies.retrieval and the chat's reply policy on the shared FAQ data, for both dev
files. Run by hand; prints its figures.

    .venv/bin/python bench/answers.py [--scale N] [--repeats R]

"Held out" is 5-fold cross-validation within each dev file: the ranker's weights are fitted on four fifths and
measured on the rest; the reply thresholds are chosen on the other folds' held-out confidences.
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
from types import SimpleNamespace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from bot import answering  # noqa: E402
from policies import embeddings, rerank, retrieval, text, vectors  # noqa: E402
from policies.retrieval import Doc, Index, doc_passages  # noqa: E402
from policies.search import Candidate  # noqa: E402
from core.settings import get_settings  # noqa: E402


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


DEV_FILES = ("faq-dev.jsonl", "faq-dev2.jsonl")
# Feature groups that can be left out, to show what each earns (columns of rerank.FEATURES).
E5_RELATIVE = ["sentence meaning of question - best", "sentence meaning of answer - best",
               "1 / rank by sentence meaning of question", "1 / rank by sentence meaning of answer"]
GROUPS = {
    "e5 sentence cosines": ["sentence meaning of question", "sentence meaning of answer", *E5_RELATIVE],
    "e5 against the pool's best": E5_RELATIVE,
    "char 1-2-gram BM25": ["char pairs BM25 / best"],
    "pinyin pairs": ["sounds in question", "question sounds covered"],
    "word vectors": ["meaning of question", "meaning of answer"],
}
THRESHOLDS = ("answer_confidence", "answer_close_margin", "answer_list_confidence", "answer_list_floor")


def load_dev(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


Pool = tuple[list[str], np.ndarray]  # one question's candidate ids (first-stage order) and their features


def pools(index: Index, dev: list[dict]) -> list[Pool]:
    out = []
    for q in dev:
        top, x = index.candidates(q["question"])
        out.append(([index.docs[i].id for i in top], x))
    return out


def without(pool: list[Pool], left_out: list[str]) -> list[Pool]:
    keep = [i for i, f in enumerate(rerank.FEATURES) if f not in left_out]
    return [(ids, x[:, keep]) for ids, x in pool]


Ranked = tuple[list[str], np.ndarray]  # re-ranked ids and their confidences


def reranked(pool: Pool, weights: np.ndarray) -> Ranked:
    ids, x = pool
    if not ids:
        return [], np.zeros(0)
    p = rerank.probabilities(rerank.scores(x, weights))
    order = np.argsort(-p, kind="stable")
    return [ids[i] for i in order], p[order]


def held_out(pool: list[Pool], dev: list[dict], folds: int, repeats: int) -> list[tuple[np.ndarray, list[Ranked]]]:
    """Each question re-ranked by weights fitted on the other folds, for `repeats` shuffles."""
    examples = training(pool, dev)
    runs = []
    for seed in range(repeats):
        fold = np.random.default_rng(seed).permutation(len(dev)) % folds
        out: list[Ranked] = [([], np.zeros(0))] * len(dev)
        for f in range(folds):
            w = rerank.fit([e for e, k in zip(examples, fold) if k != f])
            for i in np.flatnonzero(fold == f):
                out[i] = reranked(pool[i], w)
        runs.append((fold, out))
    return runs


Offer = tuple[str, list[str]]  # "answer", "list" or "person", and the ids offered


def replies(run: list[Ranked], th) -> list[Offer]:
    """What the chat offers each question at thresholds `th` (bot/answering.choose, as answer_question uses it)."""
    out = []
    for ids, p in run:
        cands = [Candidate("faq", n, doc_id, "", "", float(c), True, "") for n, (doc_id, c) in enumerate(zip(ids[:answering.CHOICES], p))]
        chosen = answering.choose(cands, th)
        kind = ("person" if not chosen else
                "answer" if len(chosen) == 1 and chosen[0].confidence >= th.answer_confidence else "list")
        out.append((kind, [c.title for c in chosen]))
    return out


def policy_metrics(offers: list[Offer], dev: list[dict]) -> dict[str, float]:
    """Confident wrong (no-answer questions given one answer), answerable sent to a person, answerable whose first
    reply (answer or list) holds a right entry, answerable given one wrong answer, and the share of lists."""
    none = [o for o, q in zip(offers, dev) if not q["kb"]]
    ans = [(o, q["kb"]) for o, q in zip(offers, dev) if q["kb"]]
    return {
        "confident wrong": float(np.mean([kind == "answer" for kind, _ in none])) if none else 0.0,
        "to a person": float(np.mean([kind == "person" for (kind, _), _ in ans])),
        "first reply holds": float(np.mean([any(i in kb for i in ids) for (_, ids), kb in ans])),
        "answered wrong": float(np.mean([kind == "answer" and ids[0] not in kb for (kind, ids), kb in ans])),
        "lists": float(np.mean([kind == "list" for kind, _ in offers])),
    }


def measure(run: list[Ranked], dev: list[dict], th) -> dict[str, float]:
    return policy_metrics(replies(run, th), dev)


def grid():
    for a in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98):
        for m in (0.1,):
            for lc in (0.05, 0.1, 0.2, 0.3, 0.5):
                for fl in (0.02, 0.05, 0.1):
                    yield SimpleNamespace(answer_confidence=a, answer_close_margin=m, answer_list_confidence=lc,
                                          answer_list_floor=fl)


def pick_thresholds(run: list[Ranked], dev: list[dict]):
    """The thresholds that put the right entry in the most first replies while confident wrong answers stay at
    most 0.06 and answerable questions sent to a person at most 0.12 (else the fewest confident wrong)."""
    scored = [(measure(run, dev, th), th) for th in grid()]
    ok = [(m, th) for m, th in scored if m["confident wrong"] <= 0.06 and m["to a person"] <= 0.12]
    if ok:
        return max(ok, key=lambda e: (e[0]["first reply holds"] - 0.2 * e[0]["lists"], -e[0]["confident wrong"]))[1]
    return min(scored, key=lambda e: (e[0]["confident wrong"] + e[0]["to a person"], -e[0]["first reply holds"]))[1]


def held_out_policy(runs, dev: list[dict], folds: int) -> tuple[dict[str, float], list]:
    """Reply figures with thresholds chosen on the other folds' held-out confidences, averaged over runs."""
    figures, chosen = [], []
    for fold, run in runs:
        offers: list[Offer] = [("person", [])] * len(dev)
        for f in range(folds):
            train, test = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            th = pick_thresholds([run[i] for i in train], [dev[i] for i in train])
            chosen.append(th)
            for k, offer in zip(test, replies([run[i] for i in test], th)):
                offers[k] = offer
        figures.append(policy_metrics(offers, dev))
    return {k: float(np.mean([f[k] for f in figures])) for k in figures[0]}, chosen


def line(ranks, policy) -> str:
    return (f"top-1 {ranks[0]:.3f}  top-3 {ranks[1]:.3f}  MRR {ranks[2]:.3f} | confident wrong "
            f"{policy['confident wrong']:.3f}  to a person {policy['to a person']:.3f}  first reply holds "
            f"{policy['first reply holds']:.3f}  answered wrong {policy['answered wrong']:.3f}  lists {policy['lists']:.3f}")


def quality(index: Index, devs: dict[str, list[dict]], folds: int, repeats: int) -> None:
    all_runs: dict[str, list] = {}
    for name, dev in devs.items():
        pool = pools(index, dev)
        n_ans = sum(1 for q in dev if q["kb"])
        recall = sum(1 for (ids, _), q in zip(pool, dev) if q["kb"] and set(ids) & set(q["kb"])) / n_ans
        print(f"\n{name}: {n_ans} answerable and {len(dev) - n_ans} no-answer questions; the first stage has the "
              f"answer among its best {retrieval.POOL} for {recall:.3f}")
        print("  first stage alone  top-1 {:.3f}  top-3 {:.3f}  MRR {:.3f}".format(
            *rank_metrics([ids for ids, _ in pool], dev)))
        for label, left_out in {"all features": [], **{f"without {g}": f for g, f in GROUPS.items()},
                                "without e5 and char BM25": GROUPS["e5 sentence cosines"] + GROUPS["char 1-2-gram BM25"]
                                }.items():
            runs = held_out(without(pool, left_out), dev, folds, repeats)
            ranks = np.mean([rank_metrics([ids for ids, _ in run], dev) for _, run in runs], axis=0)
            policy, chosen = held_out_policy(runs, dev, folds)
            print(f"  held out, {label:28s} {line(ranks, policy)}")
            if not left_out:
                all_runs[name] = runs
                common = max(set(tuple(vars(t).values()) for t in chosen),
                             key=lambda v: sum(tuple(vars(t).values()) == v for t in chosen))
                print(f"    thresholds chosen on the training folds, most often: {dict(zip(THRESHOLDS, common))}")
        in_use = [reranked(p, rerank.WEIGHTS) for p in pool]
        th = get_settings()
        print(f"  weights and thresholds in use (fitted on both files, so not held out): "
              f"{line(rank_metrics([ids for ids, _ in in_use], dev), measure(in_use, dev, th))}")
        runs = all_runs[name]
        print(f"  held out at other thresholds (trade-off; answer_close_margin 0.1; lists of up to {answering.CHOICES}):")
        for a in (0.8, 0.9, 0.95, 0.98):
            for lc, fl in ((0.1, 0.1), (0.2, 0.02), (0.2, 0.1), (0.5, 0.1)):
                t = SimpleNamespace(answer_confidence=a, answer_close_margin=0.1, answer_list_confidence=lc,
                                    answer_list_floor=fl)
                m = {k: np.mean([measure(run, dev, t)[k] for _, run in runs]) for k in measure(runs[0][1], dev, t)}
                print(f"    answer {a:.2f} list {lc:.1f} floor {fl:.2f}: confident wrong {m['confident wrong']:.3f}  to a person "
                      f"{m['to a person']:.3f}  first reply holds {m['first reply holds']:.3f}  lists {m['lists']:.3f}")


def refit(index: Index, devs: dict[str, list[dict]], folds: int, repeats: int) -> None:
    """The weights and thresholds to ship: fitted on both files together (held-out confidences for the thresholds)."""
    both = [q for dev in devs.values() for q in dev]
    pool = pools(index, both)
    weights = rerank.fit(training(pool, both))
    runs = held_out(pool, both, folds, repeats)
    th = pick_thresholds([r for _, run in runs for r in run], both * len(runs))
    own = own_questions(index)
    probs = [rerank.probabilities(rerank.scores(x, weights)) for x, _ in own]
    top1 = np.mean([int(np.argmax(p)) in right for p, (_, right) in zip(probs, own)])
    print(f"\nrefit on both dev files: WEIGHTS = [" + ", ".join(f"{w:.3f}" for w in weights) + "]")
    print(f"  thresholds: {vars(th)}; each FAQ entry's own question asked as it is, refit weights: top-1 {top1:.3f}")


def scale(docs: list[Doc], devs: dict[str, list[dict]], size: int) -> None:
    questions = [q["question"] for dev in devs.values() for q in dev]
    real = [doc_passages(d) for d in docs]
    t0 = time.perf_counter()
    vectors = dict(zip((t for p in real for t in p), embeddings.embed_passages([t for p in real for t in p])))
    per_passage = (time.perf_counter() - t0) / len(vectors)
    big = synthesise(docs, size)
    by_title = {d.title: d for d in docs}
    rng = np.random.default_rng(7)
    for d in big[len(docs):]:  # a spliced doc's passages: a mix of real vectors, as stored ones would be
        for t in doc_passages(d):
            v = vectors[rng.choice(list(vectors))] + 0.3 * rng.standard_normal(embeddings.DIMS).astype(np.float32)
            vectors[t] = v / np.linalg.norm(v)
    passages = sum(len(doc_passages(d)) for d in big)
    before = rss_mb()
    t0 = time.perf_counter()
    index = Index.build(big, vectors)
    build_s = time.perf_counter() - t0
    print(f"\nscale {len(big)} docs ({passages} passages): index build with stored embeddings {build_s:.2f} s, "
          f"process memory +{rss_mb() - before:.0f} MB (RSS); without them it would add {passages} passages x "
          f"{per_passage * 1000:.1f} ms = {passages * per_passage:.0f} s of embedding (measured on the real "
          f"{len(real)} entries' passages, one thread)")
    t0 = time.perf_counter()
    edited = [Doc(d.id, d.kind, d.title, d.body + "（已更新）", category=d.category) if i % 100 == 0 else d
              for i, d in enumerate(big)]
    for d in edited[::100]:
        for t in doc_passages(d):
            vectors.setdefault(t, vectors[doc_passages(big[edited.index(d)])[0]])
    Index.build(edited, vectors)
    print(f"  rebuild after editing 1% of the docs: {time.perf_counter() - t0:.2f} s (unchanged docs' tokens cached)")
    for q in questions[:20]:
        index.search(q)  # warm-up
    times = []
    for q in questions:
        t = time.perf_counter()
        index.search(q)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    p50, p99 = statistics.median(times), times[math.ceil(0.99 * len(times)) - 1]
    e5 = []
    for q in questions[:200]:
        t = time.perf_counter()
        embeddings.embed_query(q)
        e5.append((time.perf_counter() - t) * 1000)
    e5.sort()
    print(f"  one question, one thread: p50 {p50:.1f} ms  p99 {p99:.1f} ms  max {times[-1]:.1f} ms over {len(times)} "
          f"questions; of which the e5 query embedding p50 {statistics.median(e5):.1f} ms  p99 "
          f"{e5[math.ceil(0.99 * len(e5)) - 1]:.1f} ms")


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


def main() -> None:
    global DATA
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=10_000, help="docs in the scale test (0 skips it)")
    parser.add_argument("--repeats", type=int, default=2, help="shuffles of the cross-validation")
    parser.add_argument("--no-quality", action="store_true", help="only the scale test")
    parser.add_argument("--data", type=Path, default=DATA, help=f"the shared data folder (default {DATA})")
    args = parser.parse_args()
    DATA = args.data

    before = rss_mb()
    t0 = time.perf_counter()
    text.init()
    print(f"start-up: jieba + dictionaries init {time.perf_counter() - t0:.2f} s, +{rss_mb() - before:.0f} MB", end="")
    before = rss_mb()
    t0 = time.perf_counter()
    vectors.init()
    print(f"; word vectors {time.perf_counter() - t0:.2f} s, +{rss_mb() - before:.0f} MB", end="")
    before = rss_mb()
    t0 = time.perf_counter()
    embeddings.embed_query("预热")
    print(f"; e5 model {time.perf_counter() - t0:.2f} s, +{rss_mb() - before:.0f} MB")
    docs = load_kb()
    devs = {name: load_dev(name) for name in DEV_FILES}
    if not args.no_quality:
        t0 = time.perf_counter()
        index = Index.build(docs)
        print(f"index of {len(docs)} entries built in {time.perf_counter() - t0:.1f} s, embedding their passages")
        quality(index, devs, 5, args.repeats)
        for name, dev in devs.items():
            print(name, end=" ")
            baseline(docs, dev)
        refit(index, devs, 5, args.repeats)
    if args.scale:
        scale(docs, devs, args.scale)


if __name__ == "__main__":
    main()
