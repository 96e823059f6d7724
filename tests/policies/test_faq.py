import pytest

from policies import faq
from policies.models import FaqEntry
from policies.schemas import FaqCreate, FaqUpdate


def test_create_update_and_search(session):
    entry = faq.create(session=session, entry_in=FaqCreate(
        external_id=" kb1 ", category="社会保险", question="失业保险金怎么领？", answer="到社保经办机构申领。",
        similar=["失业金怎么领", " ", "失业金怎么领"], keywords=["失业保险"]))
    assert (entry.external_id, entry.similar) == ("kb1", ["失业金怎么领"])
    changes = faq.update(session=session, entry=entry, entry_in=FaqUpdate(answer="线上线下均可申领。"))
    assert changes == {"answer": ["到社保经办机构申领。", "线上线下均可申领。"]}
    assert faq.update(session=session, entry=entry, entry_in=FaqUpdate(answer="线上线下均可申领。")) == {}
    assert faq.search(session=session, q="失业")[0] == 1
    assert faq.search(session=session, q="KB1")[1] == [entry]
    assert faq.search(session=session, category="医疗保障") == (0, [])
    assert faq.categories(session=session) == [("社会保险", 1)]


def test_external_id_is_unique(session):
    faq.create(session=session, entry_in=FaqCreate(external_id="kb1", question="问1", answer="答1"))
    with pytest.raises(faq.FaqError, match="已被条目"):
        faq.create(session=session, entry_in=FaqCreate(external_id="kb1", question="问2", answer="答2"))
    other = faq.create(session=session, entry_in=FaqCreate(question="问2", answer="答2"))
    with pytest.raises(faq.FaqError, match="已被条目"):
        faq.update(session=session, entry=other, entry_in=FaqUpdate(external_id="kb1"))


def test_update_refuses_clearing_question_or_answer(session):
    entry = faq.create(session=session, entry_in=FaqCreate(question="问", answer="答"))
    with pytest.raises(faq.FaqError, match="不能为空"):
        faq.update(session=session, entry=entry, entry_in=FaqUpdate(answer="   "))


def test_add_from_answer_makes_an_entry_or_updates_the_same_question(session):
    entry = faq.add_from_answer(session=session, question=" 公积金能提取吗 ", answer="可以，符合条件即可。",
                                category="住房公积金", actor_id=None)
    assert isinstance(entry, FaqEntry) and entry.id and entry.external_id is None
    assert (entry.question, entry.category) == ("公积金能提取吗", "住房公积金")
    again = faq.add_from_answer(session=session, question="公积金能提取吗", answer="可以，详见办事指南。")
    assert again is entry and entry.answer == "可以，详见办事指南。" and entry.category == "住房公积金"
    assert session.query(FaqEntry).count() == 1


@pytest.mark.parametrize("question, answer", [("", "答"), ("问", "  "), ("问" * 501, "答")])
def test_add_from_answer_refuses_empty_or_long(session, question, answer):
    with pytest.raises(faq.FaqError):
        faq.add_from_answer(session=session, question=question, answer=answer)
