"""The retrieval engine: tokenizer, ranking, confidence and rebuilds, on small hand-made docs."""

from __future__ import annotations

import pytest

import numpy as np

from core.settings import get_settings
from policies import rerank, retrieval, text, vectors
from policies.retrieval import Doc, Index

DOCS = [
    Doc("f1", "faq", "领取失业保险金的条件是什么?", "失业前缴纳失业保险费满一年,非因本人意愿中断就业,已办理失业登记。",
        category="社会保险"),
    Doc("f2", "faq", "失业保险金的标准是多少?", "按照低于当地最低工资标准、高于城市居民最低生活保障标准的水平确定。",
        category="社会保险"),
    Doc("f3", "faq", "社会保障卡丢失后如何补办?", "携带身份证到社保经办机构或合作银行网点挂失并补办。",
        category="社会保险"),
    Doc("f4", "faq", "企业申请稳岗返还应满足什么条件?", "参加失业保险并足额缴费满12个月,上年度未裁员或裁员率不高于标准。",
        category="就业创业"),
    Doc("f5", "faq", "提取住房公积金需要符合哪些条件?", "购买、建造、翻建、大修自住住房,离休、退休,租房等情形可以提取。",
        category="住房公积金"),
    Doc("f6", "faq", "如何认定专精特新中小企业?", "企业按要求申报,经省级主管部门评审认定,可享受资金奖补和融资支持。",
        category="企业扶持"),
    Doc("p1", "policy", "关于进一步优化营商环境的若干措施", "推行一网通办,压缩企业开办时间。",
        keywords=["营商环境", "一网通办"], interpretation="企业开办一天办结,全程网上办理。"),
]


@pytest.fixture(scope="module")
def index() -> Index:
    text.init()
    return Index.build(DOCS)


def test_tokenizer_keeps_domain_terms_whole() -> None:
    words = text.words("专精特新企业怎么申请高新技术企业认定")
    assert "专精特新" in words
    assert "高新企业" in words  # 高新技术企业 is one word, folded to its synonym group's head


def test_tokenizer_folds_synonyms() -> None:
    assert "社保" in text.words("社会保险怎么交")
    assert "公积金" in text.words("住房公积金")
    assert "个税" in text.words("个人所得税汇算")
    assert text.words("有没有补助") == text.words("有没有补贴")


def test_tokenizer_drops_stop_words_and_punctuation() -> None:
    words = text.words("请问一下，那个公积金吗？")
    assert words[0] == "公积金"
    assert not {"请问", "一下", "那个", "吗"} & set(words)


def test_normalize_full_width_case_and_punctuation() -> None:
    assert text.normalize("ＡＢＣ１２３，社保！ Hello") == "abc123 社保 hello"
    assert text.normalize("  \t\n ") == ""


def test_pinyin_bigrams_match_homophones() -> None:
    assert text.pinyin_bigrams("事业金") == text.pinyin_bigrams("失业金")


def test_init_is_idempotent_and_thread_safe() -> None:
    import threading

    threads = [threading.Thread(target=text.init) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert text.words("社保卡")[0] == "社保卡"


def test_word_vectors_put_related_words_closer() -> None:
    one = lambda w: 1.0  # noqa: E731
    spouse = vectors.embed(["老公"], one)
    assert spouse @ vectors.embed(["配偶"], one) > spouse @ vectors.embed(["发票"], one)
    assert np.linalg.norm(vectors.embed(["失业金", "条件"], one)) == pytest.approx(1.0, abs=1e-5)
    assert not vectors.embed([], one).any()


def test_unknown_word_falls_back_to_its_characters() -> None:
    vec = vectors.embed(["稳岗返还补贴通知书"], lambda w: 1.0)  # not a word in the table
    assert np.linalg.norm(vec) == pytest.approx(1.0, abs=1e-5)


def test_rerank_fit_learns_which_feature_marks_the_answer() -> None:
    rng = np.random.default_rng(0)
    groups = []
    for g in range(60):
        x = rng.random((5, len(rerank.FEATURES))).astype(np.float32)
        x[:, -1] = 1.0
        right = [] if g % 4 == 0 else [int(rng.integers(5))]
        x[:, 0] = 0.1
        for r in right:
            x[r, 0] = 0.9  # the first feature gives the answer away; none of these when no row has it
        groups.append((x, right))
    w = rerank.fit(groups)
    x, right = groups[1]
    p = rerank.probabilities(rerank.scores(x, w))
    assert int(np.argmax(p)) == right[0] and p[right[0]] > 0.5
    x, _ = groups[0]
    assert rerank.probabilities(rerank.scores(x, w)).max() < 0.5
    assert rerank.probabilities(rerank.scores(x, w)).sum() < 1.0


def test_rerank_fit_survives_a_right_candidate_far_below_the_best() -> None:
    # exp(-800) is 0 in float64: renormalising the right rows' probabilities by their sum would give NaN.
    logits = np.array([[0.0, -800.0, -np.inf]])
    assert rerank._softmax(logits).tolist() == [[1.0, 0.0, 0.0]]
    assert rerank._softmax(np.where([[False, True, False]], logits, -np.inf)).tolist() == [[0.0, 1.0, 0.0]]


def test_candidates_carry_one_feature_row_each(index: Index) -> None:
    top, x = index.candidates("失业保险金的条件")
    assert x.shape == (len(top), len(rerank.FEATURES))
    assert index.docs[top[0]].id in {"f1", "f2"}
    empty, none = index.candidates("今天天气")
    assert len(empty) == 0 and none.shape[0] == 0


def test_confidences_are_shares_of_one(index: Index) -> None:
    hits = index.search("失业保险金", k=7)
    assert sum(h.confidence for h in hits) <= 1.0 + 1e-6


def test_exact_question_ranks_first_with_confidence(index: Index) -> None:
    hits = index.search("企业申请稳岗返还应满足什么条件?")
    assert hits[0].doc_id == "f4"
    assert hits[0].confidence >= get_settings().answer_confidence


def test_question_as_written_is_answered_for_sure(index: Index) -> None:
    # width, case, punctuation and spaces aside, the entry's own question: no doubt which entry it is
    [hit] = index.search(" 企业申请稳岗返还，应满足什么条件？", k=1)
    assert (hit.doc_id, hit.confidence) == ("f4", 1.0)
    assert index.search("企业申请稳岗返还应满足什么条件呢", k=1)[0].confidence < 1.0  # one word more: ranked


def test_similar_question_as_written_is_answered_for_sure() -> None:
    similar = Doc("f7", "faq", "个体工商户如何办理营业执照?", "到政务服务中心或一网通办平台申请。",
                  similar=["开个小店要办什么证"])
    [hit] = Index.build([*DOCS, similar]).search("开个小店要办什么证？", k=1)
    assert (hit.doc_id, hit.confidence) == ("f7", 1.0)


def test_question_two_entries_share_is_ranked_not_certain() -> None:
    twin = Doc("f8", "faq", "社会保障卡丢失后如何补办?", "也可以在手机上的电子社保卡中挂失。")
    hits = Index.build([*DOCS, twin]).search("社会保障卡丢失后如何补办?")
    assert {hits[0].doc_id, hits[1].doc_id} == {"f3", "f8"}
    assert all(h.confidence < 1.0 for h in hits)


def test_paraphrase_with_synonym_finds_entry(index: Index) -> None:
    hits = index.search("社保卡丢了咋办")
    assert hits[0].doc_id == "f3"


def test_homophone_typo_finds_entry(index: Index) -> None:
    hits = index.search("厂里能申请稳岗反还吗")
    assert hits[0].doc_id == "f4"


def test_policy_found_by_keyword(index: Index) -> None:
    assert index.search("一网通办")[0].doc_id == "p1"


def test_off_topic_question_gets_low_confidence(index: Index) -> None:
    hits = index.search("今天天气怎么样 想去公园放风筝")
    assert all(h.confidence < get_settings().answer_confidence for h in hits)


@pytest.mark.parametrize("query", ["", "   ", "\n\t", "？！。", "的了吗"])
def test_empty_and_blank_queries_give_no_answer(index: Index, query: str) -> None:
    assert index.search(query) == []


def test_empty_index() -> None:
    assert Index.build([]).search("失业保险金") == []


def test_rebuild_with_new_docs_finds_new_entry(index: Index) -> None:
    assert all(h.doc_id != "f9" for h in index.search("新生儿医保怎么参保"))
    rebuilt = Index.build([*DOCS, Doc("f9", "faq", "新生儿如何参加城乡居民医保?", "出生后办理户口后即可参保缴费。")])
    assert rebuilt.search("新生儿医保怎么参保")[0].doc_id == "f9"
    assert len(rebuilt) == len(DOCS) + 1


def test_close_scores_are_returned_best_first(index: Index) -> None:
    hits = index.search("失业保险金", k=3)
    assert {h.doc_id for h in hits[:2]} == {"f1", "f2"}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert [h.confidence for h in hits] == sorted((h.confidence for h in hits), reverse=True)
    assert all(0.0 <= h.confidence <= 1.0 for h in hits)


def test_intent_words_separate_close_entries(index: Index) -> None:
    # e5 holds the two entries' meanings nearly equal here: the amount asked for keeps f2 a close call (a list
    # holding it), never a confident answer from the conditions' entry
    hits = index.search("失业金能领多少钱")
    assert "f2" in {h.doc_id for h in hits[:2]} and hits[0].confidence < get_settings().answer_confidence
    assert index.search("失业金要满足啥条件才能领")[0].doc_id == "f1"


def test_k_limits_hits(index: Index) -> None:
    assert len(index.search("企业", k=1)) == 1
    assert len(index.search("条件", k=50)) <= len(DOCS)


def test_hit_leads_back_to_its_doc(index: Index) -> None:
    hit = index.search("专精特新")[0]
    assert index.doc(hit.doc_id).category == "企业扶持"


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError):
        Index.build([DOCS[0], DOCS[0]])
