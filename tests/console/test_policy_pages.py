"""政策库 pages over HTTP: the list with its filters and pages, the form's inline errors from the domain's
validation, the live completeness checklist, the revision history's diff, the status changes, and the
server refusing an analyst's forged POSTs."""
from __future__ import annotations

import uuid
from datetime import date

from core.db import session_scope
from policies import service
from policies.models import PARTS, PolicyStatus
from policies.schemas import InterpretationUpdate, PolicyCreate
from staff.models import AuditEntry, Role
from subscriptions import service as subscriptions
from subscriptions.schemas import TopicCreate
from tests.console.conftest import csrf_of

FULL = {field: f"{label}：写明了" for field, label in PARTS.items()}


def post(client, path: str, **data):
    token = csrf_of(client.get("/console/account").text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def add(title: str, doc_number: str | None = None, parts: dict[str, str] | None = None, **fields) -> int:
    with session_scope() as s:
        policy = service.create_policy(session=s, policy_in=PolicyCreate(title=title, doc_number=doc_number,
                                                                         **fields))
        if parts:
            service.set_interpretation(session=s, policy=policy, interpretation_in=InterpretationUpdate(**parts))
        return policy.id


def topic() -> tuple[int, str]:
    """A new topic (the migrations seed some), its id and name."""
    name = f"主题-{uuid.uuid4().hex[:6]}"
    with session_scope() as s:
        return subscriptions.create_topic(session=s, topic_in=TopicCreate(name=name)).id, name


def status_of(policy_id: int) -> PolicyStatus:
    with session_scope() as s:
        return service.get_policy(session=s, policy_id=policy_id).status


def test_the_list_filters_by_status_topic_and_issuer_searches_title_or_number_and_pages_by_id(client, as_role):
    as_role(Role.analyst)
    topic_id, name = topic()
    ids = [add(f"科技政策{n:02d}", f"葫科发〔2024〕{n}号", issuer="市科技局", topics=[name]) for n in range(25)]
    add("人才政策", "葫人社发〔2024〕1号", issuer="市人社局", status=PolicyStatus.repealed)
    page = client.get("/console/policies", params={"topic": topic_id, "status": ""}).text
    assert "共 25 条" in page and "科技政策24" in page and "科技政策04" not in page and "人才政策" not in page
    assert f"before_id={ids[5]}" in page and "现行有效" in page and "缺 8 项" in page
    rest = client.get("/console/policies", params={"topic": topic_id, "before_id": ids[5]},
                      headers={"HX-Request": "true", "HX-Target": "policy-rows"}).text
    assert "<nav" not in rest and "科技政策04" in rest and "科技政策05" not in rest and "下一页" not in rest
    repealed = client.get("/console/policies", params={"status": "repealed"}).text
    assert "人才政策" in repealed and "已废止" in repealed and "科技政策" not in repealed
    by_issuer = client.get("/console/policies", params={"issuer": "市人社局"}).text
    assert "共 1 条" in by_issuer and "人才政策" in by_issuer
    by_number = client.get("/console/policies", params={"q": "葫人社发"}).text
    assert "人才政策" in by_number and "科技政策" not in by_number
    assert "科技政策07" in client.get("/console/policies", params={"q": "政策07"}).text
    assert client.get("/console/policies", params={"status": "draft"}).status_code == 422
    assert client.get("/console/policies", params={"topic": "x"}).status_code == 422


def test_form_errors_show_at_each_field_in_chinese_and_store_nothing(client, as_role):
    as_role(Role.editor)
    add("已有政策", "葫政办发〔2024〕10号")
    r = post(client, "/console/policies/new", title="", issued_on="明天", industries="C, 火星", background="\x07")
    assert r.status_code == 422
    assert 'id="title"' in r.text and "不能为空" in r.text and "日期格式有误" in r.text
    assert "未知行业代码“火星”" in r.text and "控制字符" in r.text
    r = post(client, "/console/policies/new", title="新政策", doc_number="葫政办发〔2024〕10号",
             main_content="保留已填的内容")
    assert r.status_code == 409 and "已被政策" in r.text and "保留已填的内容" in r.text
    r = post(client, "/console/policies/new", title="新政策", issued_on="2024-05-01", expires_on="2024-01-01")
    assert r.status_code == 409 and "失效日期早于施行日期" in r.text
    r = post(client, "/console/policies/new", title="新政策", topics=["没有这个主题"])
    assert r.status_code == 409 and "主题“没有这个主题”不存在" in r.text
    with session_scope() as s:
        assert service.list_policies(session=s)[0] == 1


def test_an_editor_creates_a_policy_with_its_interpretation_then_edits_it(client, as_role):
    as_role(Role.editor)
    _, name = topic()
    r = post(client, "/console/policies/new", title="稳就业若干措施", doc_number="葫政发〔2024〕3号",
             issuer="市人民政府", issued_on="2024-03-01", industries="C，I", topics=[name], **FULL)
    assert r.status_code == 303
    policy_id = int(r.headers["location"].rsplit("/", 1)[-1])
    page = client.get(r.headers["location"]).text
    assert "已新增政策" in page and "解读完整" in page and "现行有效" in page
    with session_scope() as s:
        policy = service.get_policy(session=s, policy_id=policy_id)
        assert policy.completeness == {"complete": True, "missing": []}
        assert policy.industries == ["C", "I"] and [t.name for t in policy.topics] == [name]
    r = post(client, f"/console/policies/{policy_id}", title="稳就业若干措施（修订）", doc_number="葫政发〔2024〕3号",
             issuer="市人民政府", issued_on="2024-03-01", industries="C，I", topics=[name],
             **{**FULL, "changes": ""})
    assert r.status_code == 303 and "已保存" in client.get(r.headers["location"]).text
    with session_scope() as s:
        policy = service.get_policy(session=s, policy_id=policy_id)
        assert policy.title == "稳就业若干措施（修订）" and policy.missing_parts() == ["新旧政策差异"]
        actions = [e.action for e in s.query(AuditEntry).filter(AuditEntry.target == f"policy:{policy_id}")]
        assert actions == ["policy.create", "policy.update", "interpretation.update"]


def test_the_checklist_partial_decides_completeness_with_the_domains_check(client, as_role):
    as_role(Role.editor)
    r = post(client, "/console/policies/checklist", background="有", goals="  ", main_content="有内容")
    assert r.status_code == 200 and "<nav" not in r.text and "已填 2/8 项" in r.text
    assert "✓</span> 背景依据" in r.text and "✗</span> <span class=\"text-muted\">目标任务" in r.text
    r = post(client, "/console/policies/checklist", **FULL)
    assert "解读完整" in r.text
    form = client.get("/console/policies/new").text
    assert 'hx-post="/console/policies/checklist"' in form and 'id="checklist"' in form


def test_the_history_shows_each_revision_and_the_diff_between_two(client, as_role):
    editor = as_role(Role.editor)
    policy_id = add("养老服务补贴办法", "葫民发〔2024〕2号", body="第一条 补贴标准为每月一百元。")
    r = post(client, f"/console/policies/{policy_id}", title="养老服务补贴办法", doc_number="葫民发〔2024〕2号",
             body="第一条 补贴标准为每月二百元。", background="依据省里的规定")
    assert r.status_code == 303
    with session_scope() as s:
        first, *_ = [r.id for r in reversed(service.history(session=s, policy_id=policy_id))]
    page = client.get(f"/console/policies/{policy_id}/history").text
    assert "新增政策" in page and "修改政策" in page and "修改解读" in page and editor in page
    assert "背景依据" in page and "<ins class=\"text-success\" title=\"新增\">依据省里的规定</ins>" in page
    table = page.split("<table")[1]
    assert "背景依据" in table and "目标任务" not in table and "原文链接" not in table  # only what was written
    assert "正文" not in page.split("的差异")[1].split("</div>\n</div>")[0]  # the newest revision changed the parts only
    page = client.get(f"/console/policies/{policy_id}/history", params={"from_id": first}).text
    assert "每月<del class=\"text-danger\" title=\"删除\">一</del><ins class=\"text-success\" title=\"新增\">二</ins>百元" in page
    created = client.get(f"/console/policies/{policy_id}/history", params={"from_id": 0, "to_id": first}).text
    assert "新增之前 → 修订" in created and "<ins class=\"text-success\" title=\"新增\">养老服务补贴办法</ins>" in created
    assert client.get(f"/console/policies/{policy_id}/history", params={"to_id": "x"}).status_code == 422


def test_status_changes_repeal_revise_and_reinstate_as_the_domain_allows(client, as_role):
    as_role(Role.editor)
    old = add("旧办法", "葫政发〔2020〕1号", issued_on=date(2020, 1, 1))
    add("新办法", "葫政发〔2024〕1号", issued_on=date(2024, 1, 1))
    assert post(client, f"/console/policies/{old}/repeal").status_code == 303
    assert status_of(old) is PolicyStatus.repealed
    assert "已废止" in client.get(f"/console/policies/{old}").text
    r = post(client, f"/console/policies/{old}/revise", successor="葫政发〔2099〕9号")
    assert r.status_code == 422 and "不在政策库中" in r.text and status_of(old) is PolicyStatus.repealed
    r = post(client, f"/console/policies/{old}/revise", successor="葫政发〔2020〕1号")
    assert r.status_code == 409 and "成环" in r.text and status_of(old) is PolicyStatus.repealed
    r = post(client, f"/console/policies/{old}/revise", successor="葫政发〔2024〕1号")
    assert r.status_code == 303 and status_of(old) is PolicyStatus.revised
    assert "已被《新办法》（葫政发〔2024〕1号）修订" in client.get(f"/console/policies/{old}").text
    assert post(client, f"/console/policies/{old}/reinstate").status_code == 303
    assert status_of(old) is PolicyStatus.in_force
    with session_scope() as s:
        statuses = [r.changes["status"] for r in reversed(service.history(session=s, policy_id=old))
                    if "status" in r.changes][1:]
        assert statuses == [["in_force", "repealed"], ["repealed", "revised"], ["revised", "in_force"]]


def test_an_analyst_reads_but_sees_no_edit_controls_and_a_forged_post_is_refused(client, as_role):
    as_role(Role.analyst)
    policy_id = add("公积金管理办法", "葫公积金〔2024〕1号", parts=FULL)
    assert "公积金管理办法" in (listing := client.get("/console/policies").text) and "新增政策" not in listing
    page = client.get(f"/console/policies/{policy_id}").text
    assert "<fieldset disabled>" in page and "/repeal" not in page and "标为已修订" not in page and ">保存<" not in page
    assert "解读完整" in page
    assert client.get("/console/policies/new").status_code == 403
    assert post(client, f"/console/policies/{policy_id}", title="改了").status_code == 403
    assert post(client, f"/console/policies/{policy_id}/repeal").status_code == 403
    assert post(client, "/console/policies/new", title="伪造").status_code == 403
    with session_scope() as s:
        assert service.get_policy(session=s, policy_id=policy_id).title == "公积金管理办法"
        assert service.list_policies(session=s)[0] == 1
        assert s.query(AuditEntry).filter(AuditEntry.action == "role.refused").count() == 3
    assert status_of(policy_id) is PolicyStatus.in_force


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(client, as_role):
    as_role(Role.editor)
    policy_id = add("公积金管理办法")
    r = client.post(f"/console/policies/{policy_id}/repeal", data={"csrf_token": "forged"})
    assert r.status_code == 403 and "CSRF" in r.text
    assert status_of(policy_id) is PolicyStatus.in_force
