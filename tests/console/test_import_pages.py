"""The import wizard over HTTP for enterprises and policies (the FAQ's is in test_knowledge_pages): the form
names the columns and offers a blank template, the job page follows the worker's job to the report, a file
refused before parsing is shown at the field, and only editors may import."""
from __future__ import annotations

import io
import json

import openpyxl
from sqlalchemy import func, select

from core.db import session_scope
from policies.models import Policy
from staff.models import ImportJob, Role
from subscriptions.models import Enterprise
from tests.console.conftest import csrf_of
from tests.imports import followed
from tests.subscriptions.enterprise_files import HEADERS, code


def post(client, path: str, files=None):
    token = csrf_of(client.get("/console/account").text)
    return client.post(path, data={"csrf_token": token}, files=files, follow_redirects=False)


def csv_of(rows) -> bytes:
    return "\n".join(",".join(map(str, row)) for row in [HEADERS[:3], *rows]).encode()


def count(model) -> int:
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_an_enterprise_list_with_a_bad_row_imports_the_good_rows_and_reports_the_bad_one(client, as_role):
    as_role(Role.editor)
    form = client.get("/console/enterprises/import").text
    assert "统一社会信用代码、企业名称、行业代码" in form and "下载空白模板 .xlsx" in form
    data = csv_of([[code(1), "甲企业", "13"], [code(2)[:17] + "I", "坏代码企业", "13"], [code(3), "丙企业", "13"]])
    page = followed(client, post(client, "/console/enterprises/import", files={"file": ("企业.csv", data)}))
    assert "1 行有错误（共 1 处）未导入；其余已导入：新增 2" in page and "bad_credit_code" in page
    assert count(Enterprise) == 2
    link = page.split('href="/console/imports/bad-rows/')[1].split('"')[0]
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(f"/console/imports/bad-rows/{link}").content)).active
    assert [row[:4] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        (3, sheet.cell(2, 2).value, code(2)[:17] + "I", "坏代码企业")]


def test_policies_are_imported_from_json_and_a_refused_file_ends_its_job_with_the_reason(client, as_role):
    as_role(Role.editor)
    data = json.dumps([{"标题": "稳岗返还政策", "文号": "葫政发〔2024〕1号"}], ensure_ascii=False).encode()
    assert "新增 1" in followed(client, post(client, "/console/policies/import", files={"file": ("p.json", data)}))
    assert count(Policy) == 1
    page = followed(client, post(client, "/console/policies/import", files={"file": ("p.json", b"{not json")}))
    assert "alert-danger" in page and "JSON" in page and count(Policy) == 1


def test_a_file_refused_before_parsing_is_shown_at_the_field_and_queues_nothing(client, as_role):
    as_role(Role.editor)
    for path in ("/console/enterprises/import", "/console/policies/import"):
        r = post(client, path, files={"file": ("名单.pdf", b"%PDF")})
        assert r.status_code == 422 and "is-invalid" in r.text
    assert count(ImportJob) == 0


def test_the_blank_template_has_the_import_columns(client, as_role):
    as_role(Role.editor)
    r = client.get("/console/imports/template/enterprises")
    assert r.status_code == 200
    assert list(next(openpyxl.load_workbook(io.BytesIO(r.content)).active.values)) == HEADERS
    assert client.get("/console/imports/template/nothing").status_code == 404


def test_analysts_may_not_import(client, as_role):
    as_role(Role.analyst)
    assert client.get("/console/enterprises/import").status_code == 403
    assert post(client, "/console/enterprises/import", files={"file": ("e.csv", csv_of([]))}).status_code == 403
    assert client.get("/console/imports/template/faq").status_code == 403
    assert count(ImportJob) == 0
