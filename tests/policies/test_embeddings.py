"""Sentence embeddings: stored by the commit that writes an entry, read (not recomputed) by index builds, and
never touched by keyword messages."""
from __future__ import annotations

import numpy as np
from sqlalchemy import select, update

from core.db import session_scope
from policies import embeddings, faq, search
from policies.models import TextEmbedding
from policies.schemas import FaqUpdate
from tests.bot.conftest import say


def stored_texts() -> set[str]:
    with session_scope() as session:
        return set(session.scalars(select(TextEmbedding.text_hash)))


def test_an_entry_commits_with_its_passages_embedded_and_an_edit_adds_the_new_ones(app_env, fresh_search):
    with session_scope() as session:
        entry = faq.add_from_answer(session=session, question="社保卡丢了怎么办", answer="拨打12333挂失。")
        entry_id = entry.id
    first = embeddings.passages("社保卡丢了怎么办", [], "拨打12333挂失。")
    assert {embeddings.key(t) for t in first} == stored_texts()
    with session_scope() as session:
        faq.update(session=session, entry=faq.get(session=session, entry_id=entry_id),
                   entry_in=FaqUpdate(similar=["社保卡掉了"]))
    second = embeddings.passages("社保卡丢了怎么办", ["社保卡掉了"], "拨打12333挂失。")
    assert {embeddings.key(t) for t in first + second} == stored_texts()
    with session_scope() as session:
        vectors = embeddings.stored(session=session, texts=second)
    assert vectors.keys() == set(second)
    assert np.linalg.norm(vectors["社保卡掉了"]) == np.float32(1.0) or abs(np.linalg.norm(vectors["社保卡掉了"]) - 1) < 1e-2


def test_an_index_build_reads_the_stored_vectors_rather_than_embed_again(app_env, fresh_search):
    with session_scope() as session:
        faq.add_from_answer(session=session, question="社保卡丢了怎么办", answer="拨打12333挂失。")
        faq.add_from_answer(session=session, question="公积金怎么提取", answer="购房、租房可以提取。")
    marked = np.zeros(embeddings.DIMS, dtype=np.float16)
    marked[7] = 1.0  # no model gives this vector: it can only come from the table
    with session_scope() as session:
        session.execute(update(TextEmbedding).where(TextEmbedding.text_hash == embeddings.key("社保卡丢了怎么办"))
                        .values(vector=marked.tobytes()))
    search.warm_up()
    index = search._searcher.snapshot().index
    row = next(i for i, d in enumerate(index.docs) if d.title == "社保卡丢了怎么办")
    assert index.sentences.rows[index.sentences.starts[row]].tolist() == marked.astype(np.float32).tolist()


def test_content_written_before_vectors_were_kept_is_embedded_once(app_env, fresh_search):
    with session_scope() as session:
        faq.add_from_answer(session=session, question="社保卡丢了怎么办", answer="拨打12333挂失。")
    with session_scope() as session:
        session.execute(TextEmbedding.__table__.delete())
    search.warm_up()
    assert len(stored_texts()) == 2  # the build stored what it had to embed
    assert search.find_answers("社保卡丢了怎么办")[0].title == "社保卡丢了怎么办"


def test_keyword_messages_never_load_the_model(client, monkeypatch):
    monkeypatch.setattr(embeddings, "_model", None)
    for word in ("帮助", "订阅", "我的订阅", "取消"):
        say(client, "oEmbed00001", word)
    assert embeddings._model is None
