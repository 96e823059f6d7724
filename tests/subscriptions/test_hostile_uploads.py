"""Hostile files uploaded to the enterprise, FAQ and policy imports through the real app: each is refused with
a Chinese 413/422 before anything parses it, or, when it hides its size, its import job is refused by the
reader's limits; the process reading it lives on and nothing is stored."""
import inspect
import io
import os
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select

from core.db import session_scope
from core.settings import get_settings
from policies.models import FaqEntry, Policy
from server import STAFF_ROUTERS
from subscriptions.models import Enterprise
from tests.core import hostile_files
from tests.imports import finished
from tests.subscriptions.enterprise_files import HEADERS, code, write_xlsx

IMPORTS = {  # route -> a header its import knows
    "/api/enterprises/import": HEADERS,
    "/api/faq/import": ["问题", "答案"],
    "/api/policies/import": ["标题", "文号"],
}


def upload(client, headers, route, path):
    return client.post(route, headers=headers, files={"file": (path.name, path.read_bytes())})


def settings(monkeypatch, **values):
    for key, value in values.items():
        monkeypatch.setenv(key, str(value))
    get_settings.cache_clear()


def stored() -> tuple[int, int, int]:
    with session_scope() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (Enterprise, FaqEntry, Policy))


@pytest.mark.parametrize("route", IMPORTS)
@pytest.mark.parametrize("bomb, message", [
    (hostile_files.dimension_bomb, "表格声明了 16384 列"),
    (lambda p, h: hostile_files.shared_strings_bomb(p, h, strings=200_000), "sharedStrings.xml”压缩比为"),
    (lambda p, h: hostile_files.zip_bomb(p, h, megabytes=20), "image1.bin”压缩比为"),
])
def test_bombs_are_refused_before_parsing(client, staff, api_world, tmp_path, route, bomb, message):
    r = upload(client, staff["editor"], route, bomb(tmp_path / "bomb.xlsx", IMPORTS[route]))
    assert r.status_code == 422 and message in r.json()["detail"], r.text
    assert stored() == (0, 0, 0)


def test_a_bomb_that_hides_its_size_ends_only_the_reader(client, staff, api_world, tmp_path):
    # no <dimension>: the reader itself asks for 512 GiB, beyond its process's memory limit
    for route, header in IMPORTS.items():
        r = upload(client, staff["editor"], route,
                   hostile_files.dimension_bomb(tmp_path / "hidden.xlsx", header, declared=False))
        job = finished(client, staff["editor"], r)
        assert job["status"] == "refused" and "超出了内存" in job["error"], job
    good = write_xlsx(tmp_path / "e.xlsx", [[code(1), "企业一", "13", None, None, None, None, None]])
    r = upload(client, staff["editor"], "/api/enterprises/import", good)
    assert finished(client, staff["editor"], r)["report"]["created"] == 1


def test_too_many_parts_or_a_part_too_large_is_refused(client, staff, api_world, tmp_path, monkeypatch):
    many = hostile_files.zip_bomb(tmp_path / "many.xlsx", HEADERS, megabytes=0)
    with zipfile.ZipFile(many, "a") as z:
        for n in range(get_settings().import_max_zip_members):
            z.writestr(f"xl/media/{n}.bin", b"")
    r = upload(client, staff["editor"], "/api/enterprises/import", many)
    assert r.status_code == 422 and "个部件，超过上限" in r.json()["detail"]

    settings(monkeypatch, IMPORT_MAX_PART_MB=1)
    large = hostile_files.zip_bomb(tmp_path / "large.xlsx", HEADERS, megabytes=0)
    with zipfile.ZipFile(large, "a") as z:
        z.writestr("xl/media/noise.bin", os.urandom(2 * 2**20))  # does not compress: only its size is wrong
    r = upload(client, staff["editor"], "/api/enterprises/import", large)
    assert r.status_code == 422 and "解压后有 2 MB，超过上限 1 MB" in r.json()["detail"], r.text


@pytest.mark.parametrize("route, setting", [("/api/enterprises/import", "IMPORT_MAX_ROWS_ENTERPRISES"),
                                            ("/api/faq/import", "IMPORT_MAX_ROWS_FAQ"),
                                            ("/api/policies/import", "IMPORT_MAX_ROWS_POLICIES")])
def test_rows_per_kind_of_import_are_limited(client, staff, api_world, tmp_path, monkeypatch, route, setting):
    settings(monkeypatch, **{setting: 5})
    row = {"/api/enterprises/import": [code(1), "企业", "13"], "/api/faq/import": ["问", "答"],
           "/api/policies/import": ["题", "文号1"]}[route]
    declared = hostile_files.many_rows(tmp_path / "declared.xlsx", IMPORTS[route], 100, row)
    r = upload(client, staff["editor"], route, declared)
    assert r.status_code == 422 and "表格声明了 101 行，超过本类导入的上限 5 行" in r.json()["detail"], r.text
    wb = openpyxl.Workbook(write_only=True)  # openpyxl declares no size: counted while read
    ws = wb.create_sheet()
    ws.append(IMPORTS[route])
    for n in range(6):
        ws.append([code(n + 1), f"企业{n}", "13"] if route == "/api/enterprises/import" else [f"问{n}", f"答{n}"])
    wb.save(tmp_path / "six.xlsx")
    job = finished(client, staff["editor"], upload(client, staff["editor"], route, tmp_path / "six.xlsx"))
    assert job["status"] == "refused" and "数据超过 5 行" in job["error"], job
    assert stored() == (0, 0, 0)


def test_a_body_over_the_upload_limit_is_413_before_it_is_read(client, staff, api_world, monkeypatch):
    settings(monkeypatch, IMPORT_MAX_MB=0.1)
    for route in IMPORTS:
        r = client.post(route, headers=staff["editor"], files={"file": ("big.csv", b"x" * 300_000)})
        assert r.status_code == 413 and r.json() == {"detail": "文件超过 0.1 MB，请拆分为多个文件后分别导入"}


def test_no_import_runs_on_the_event_loop():
    routes = [r for router in STAFF_ROUTERS for r in router.routes if r.path.endswith("/import")]
    assert {r.path for r in routes} == set(IMPORTS)
    assert [r.path for r in routes if inspect.iscoroutinefunction(r.endpoint)] == []


def test_the_report_is_capped_and_every_bad_row_can_be_downloaded(client, staff, api_world, tmp_path, monkeypatch):
    settings(monkeypatch, IMPORT_REPORT_ERRORS=3)
    rows = [[code(n)[:17] + "I", f"坏{n}", "13", "无此园区", None, None, None, None] for n in range(1, 11)]
    rows.append([code(11), "好企业", "13", None, None, None, None, None])
    r = upload(client, staff["editor"], "/api/enterprises/import", write_xlsx(tmp_path / "e.xlsx", rows))
    report = finished(client, staff["editor"], r)["report"]
    assert (report["rows"], report["created"], report["rejected_rows"], report["error_count"]) == (11, 1, 10, 20)
    assert report["errors_by_code"] == {"bad_credit_code": 10, "unknown_park": 10}
    assert [(e["row"], e["code"]) for e in report["errors"]] == [(2, "bad_credit_code"), (2, "unknown_park"),
                                                                  (3, "bad_credit_code")]
    url = report["bad_rows_url"]
    assert client.get(url, headers=staff["analyst"]).status_code == 403
    got = client.get(url, headers=staff["editor"])
    assert got.status_code == 200
    sheet = list(openpyxl.load_workbook(io.BytesIO(got.content)).active.values)
    assert sheet[0][:4] == ("行号", "错误原因", "统一社会信用代码", "企业名称")
    assert [line[0] for line in sheet[1:]] == list(range(2, 12)) and sheet[1][3] == "坏1"
    assert "园区：园区“无此园区”不存在" in sheet[1][1]
    assert client.get("/api/imports/bad-rows/nosuchtoken", headers=staff["editor"]).status_code == 404


def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(client, staff, api_world, monkeypatch):
    settings(monkeypatch, IMPORT_MAX_MB=0.1)

    def body():  # chunked: no Content-Length to refuse it by, so it is counted as it arrives
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="e.csv"\r\n\r\n'
        for _ in range(30):
            yield b"x" * 10_000
        yield b"\r\n--b--\r\n"

    for headers in (staff["editor"], {}):  # unsigned too: cut off while arriving, before anything reads it
        r = client.post("/api/enterprises/import", content=body(),
                        headers={**headers, "Content-Type": "multipart/form-data; boundary=b"})
        assert r.status_code == 413 and r.json() == {"detail": "文件超过 0.1 MB，请拆分为多个文件后分别导入"}
    assert stored() == (0, 0, 0)
