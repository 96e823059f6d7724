"""知识库 pages over HTTP: the list with its filters and pages, the editor's inline errors, 试一试 deciding
as the chat does, import with its row report and bad-rows download, export, and the refusals."""
from __future__ import annotations

import io

import openpyxl
import pytest

from bot import answering
from core.db import session_scope
from policies import faq, search
from policies.schemas import FaqCreate
from staff.models import Role
from tests.console.conftest import csrf_of
from tests.imports import followed


@pytest.fixture
def fresh_index():
    search.reset()
    yield
    search.reset()


def post(client, path: str, files=None, **data):
    token = csrf_of(client.get("/console/account").text)
    return client.post(path, data={**data, "csrf_token": token}, files=files, follow_redirects=False)


def add(question: str, answer: str = "答复。", **fields) -> int:
    with session_scope() as s:
        return faq.create(session=s, entry_in=FaqCreate(question=question, answer=answer, **fields)).id


def xlsx_of(rows) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_editor_errors_show_at_each_field_in_chinese_and_store_nothing(client, as_role):
    as_role(Role.editor)
    r = post(client, "/console/knowledge/new", question="", answer="有", category="类" * 101)
    assert r.status_code == 422
    assert 'id="question"' in r.text and "不能为空" in r.text and "最多 100 个字" in r.text
    assert 'value="' + "类" * 101 + '"' in r.text  # what was typed stays
    with session_scope() as s:
        assert faq.search(session=s)[0] == 0


def test_an_editor_creates_edits_with_similar_questions_and_deletes_an_entry(client, as_role):
    as_role(Role.editor)
    r = post(client, "/console/knowledge/new", external_id="Q-1", category="社保", question="灵活就业怎么交社保",
             answer="到社保窗口办理。", similar="个体户社保怎么交\n\n自由职业社保", keywords="社保，灵活就业")
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "已新增知识条目" in page and "个体户社保怎么交\n自由职业社保" in page
    entry_id = int(r.headers["location"].rsplit("/", 1)[-1])
    with session_scope() as s:
        entry = faq.get(session=s, entry_id=entry_id)
        assert entry.similar == ["个体户社保怎么交", "自由职业社保"] and entry.keywords == ["社保", "灵活就业"]
    other = add("另一个问题", external_id="Q-2")
    r = post(client, f"/console/knowledge/{other}", external_id="Q-1", question="另一个问题", answer="答复。")
    assert r.status_code == 409 and "已被条目" in r.text  # the 编号 is taken: said at the field
    r = post(client, f"/console/knowledge/{entry_id}", external_id="Q-1", category="社保",
             question="灵活就业怎么交社保", answer="网上也能办。", similar="个体户社保怎么交")
    assert r.status_code == 303 and "已保存" in client.get(r.headers["location"]).text
    with session_scope() as s:
        entry = faq.get(session=s, entry_id=entry_id)
        assert entry.answer == "网上也能办。" and entry.similar == ["个体户社保怎么交"]
    assert post(client, f"/console/knowledge/{entry_id}/delete").status_code == 303
    with session_scope() as s:
        assert faq.get(session=s, entry_id=entry_id) is None
    assert client.get(f"/console/knowledge/{entry_id}").status_code == 404


def test_the_list_filters_by_category_searches_and_pages_by_id(client, as_role):
    as_role(Role.analyst)
    ids = [add(f"医保问题{n:02d}", category="医保") for n in range(25)]
    add("公积金提取", category="公积金")
    page = client.get("/console/knowledge", params={"category": "医保"}).text
    assert "共 25 条" in page and "医保问题00" in page and "医保问题20" not in page and "公积金提取" not in page
    assert f"after_id={ids[19]}" in page
    rest = client.get("/console/knowledge", params={"category": "医保", "after_id": ids[19]},
                      headers={"HX-Request": "true", "HX-Target": "faq-rows"}).text
    assert "<nav" not in rest and "医保问题20" in rest and "医保问题19" not in rest and "下一页" not in rest
    found = client.get("/console/knowledge", params={"q": "提取"}).text
    assert "公积金提取" in found and "医保问题" not in found
    assert client.get("/console/knowledge", params={"after_id": "x"}).status_code == 422


def test_try_shows_the_reply_the_chat_would_give_with_the_candidates_and_logs_nothing(client, as_role,
                                                                                   fresh_index):
    as_role(Role.analyst)
    add("养犬登记证怎么办理", "到派出所办理养犬登记。")
    add("养老保险怎么查询", "登录社保网站查询。")
    r = client.get("/console/knowledge/try", params={"question": "养犬登记证怎么办理"})
    decision = answering.decide("养犬登记证怎么办理")
    assert r.status_code == 200 and decision.offered[0].title == "养犬登记证怎么办理"
    assert "直接答复" in r.text and "到派出所办理养犬登记。" in r.text
    assert f"{decision.found[0].confidence:.2f}" in r.text
    unknown = client.get("/console/knowledge/try", params={"question": "火星移民签证"}).text
    assert "转人工" in unknown
    from bot.models import AskedQuestion, Question
    with session_scope() as s:
        assert s.query(AskedQuestion).count() == 0 and s.query(Question).count() == 0


def test_an_import_with_bad_rows_writes_nothing_and_offers_the_bad_rows_as_xlsx(client, as_role):
    as_role(Role.editor)
    data = xlsx_of([["问题", "答案", "备注"], ["社保怎么交", "窗口办理"], ["", "没有问题的答案"], ["医保", ""]])
    page = followed(client, post(client, "/console/knowledge/import", files={"file": ("faq.xlsx", data)}))
    assert "2 行有错误" in page and "整个文件未写入" in page and "missing_required" in page
    assert "“问题”不能为空" in page and "忽略的列：备注" in page
    link = page.split('href="/console/imports/bad-rows/')[1].split('"')[0]
    bad = client.get(f"/console/imports/bad-rows/{link}")
    assert bad.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(bad.content)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [3, 4]
    with session_scope() as s:
        assert faq.search(session=s)[0] == 0
    good = xlsx_of([["问题", "答案"], ["社保怎么交", "窗口办理"]])
    assert "新增 1" in followed(client, post(client, "/console/knowledge/import", files={"file": ("faq.xlsx", good)}))
    export = client.get("/console/knowledge/export")
    rows = list(openpyxl.load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert rows[1][2:4] == ("社保怎么交", "窗口办理")
    assert client.get("/console/imports/bad-rows/unknown").status_code == 404
    assert client.get("/console/imports/999999").status_code == 404


def test_an_unreadable_or_oversized_file_is_refused_at_the_field(client, as_role, monkeypatch):
    as_role(Role.editor)
    r = post(client, "/console/knowledge/import", files={"file": ("faq.pdf", b"%PDF")})
    assert r.status_code == 422 and "is-invalid" in r.text
    r = post(client, "/console/knowledge/import", files={"file": ("faq.xlsx", b"not a workbook")})
    assert r.status_code == 422 and "is-invalid" in r.text
    with session_scope() as s:
        assert faq.search(session=s)[0] == 0


def test_an_analyst_reads_but_sees_no_edit_controls_and_the_server_refuses_their_posts(client, as_role):
    as_role(Role.analyst)
    entry_id = add("公积金提取", "带身份证办理。")
    list_page = client.get("/console/knowledge").text
    assert "公积金提取" in list_page and "新增条目" not in list_page and "导入" not in list_page
    page = client.get(f"/console/knowledge/{entry_id}").text
    assert "<fieldset disabled>" in page and "删除条目" not in page
    assert client.get("/console/knowledge/new").status_code == 403
    assert post(client, f"/console/knowledge/{entry_id}", question="改了", answer="改了").status_code == 403
    assert post(client, f"/console/knowledge/{entry_id}/delete").status_code == 403
    assert post(client, "/console/knowledge/import", files={"file": ("f.csv", "问题,答案\n甲,乙\n".encode())}).status_code == 403
    with session_scope() as s:
        assert faq.get(session=s, entry_id=entry_id).question == "公积金提取" and faq.search(session=s)[0] == 1


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(client, as_role):
    as_role(Role.editor)
    entry_id = add("公积金提取")
    r = client.post(f"/console/knowledge/{entry_id}/delete", data={"csrf_token": "forged"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = client.post("/console/knowledge/new", data={"question": "甲", "answer": "乙"})
    assert r.status_code == 403
    with session_scope() as s:
        assert faq.search(session=s)[0] == 1
