from core.db import session_scope
from policies import faq, service
from policies.models import PolicyStatus
from policies.schemas import FaqCreate, InterpretationUpdate, PolicyCreate, PolicyUpdate
from tests.policies.conftest import FULL


def add_policy(**fields):
    with session_scope() as session:
        policy = service.create_policy(session=session, policy_in=PolicyCreate(**fields))
        return policy.id


def test_policy_page_shows_the_eight_parts_and_escapes(client):
    with session_scope() as session:
        policy = service.create_policy(session=session, policy_in=PolicyCreate(
            title="<script>alert(1)</script>办法", doc_number="葫政发〔2024〕1号", issuer="市政府",
            body="第一条 <b>正文</b>\n第二条", source_url="javascript:alert(1)"))
        service.set_interpretation(session=session, policy=policy, interpretation_in=InterpretationUpdate(
            **{**FULL, "benefits": "补贴 & 奖励"}, image_url="https://gov.cn/t.png"))
        pid = policy.id
    r = client.get(f"/p/{pid}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;办法" in html
    assert "&lt;b&gt;正文&lt;/b&gt;" in html and "补贴 &amp; 奖励" in html
    for label in ("背景依据", "目标任务", "主要内容", "关键词", "涉及范围", "执行标准", "惠民利企举措", "新旧政策差异"):
        assert f"<h2>{label}</h2>" in html
    assert 'href="https://gov.cn/t.png"' in html and 'href="javascript' not in html
    assert "现行有效" in html and "class=\"warn\"" not in html
    assert 'name="viewport"' in html and "<link" not in html and "src=" not in html  # no external assets


def test_policy_page_warns_when_not_in_force(client):
    new = add_policy(title="新办法", doc_number="B2")
    with session_scope() as session:
        old = service.create_policy(session=session, policy_in=PolicyCreate(title="旧办法", doc_number="B1"))
        service.update_policy(session=session, policy=old, policy_in=PolicyUpdate(superseded_by_id=new))
        old_id = old.id
    html = client.get(f"/p/{old_id}").text
    assert "该政策已被《新办法》（B2）修订" in html and f'href="/p/{new}"' in html and "已修订" in html
    assert "解读材料待发布" in html


def test_faq_page_shows_answer_source_and_policy_warning(client):
    pid = add_policy(title="旧补贴办法", doc_number="R1", status=PolicyStatus.repealed)
    with session_scope() as session:
        entry = faq.create(session=session, entry_in=FaqCreate(
            question="补贴<怎么>领", answer="第一步\n第二步", category="企业扶持", issuer="市工信局",
            source_url="http://gov.cn/a?x=1&y=2", policy_number="R1"))
        eid = entry.id
    html = client.get(f"/faq/{eid}").text
    assert "补贴&lt;怎么&gt;领" in html and "<p>第一步</p><p>第二步</p>" in html
    assert 'href="http://gov.cn/a?x=1&amp;y=2"' in html and "市工信局" in html
    assert "相关政策已废止" in html and f'href="/p/{pid}"' in html


def test_unknown_ids_are_404_pages(client):
    for path in ("/p/999", "/faq/999"):
        r = client.get(path)
        assert r.status_code == 404 and "页面不存在" in r.text and r.headers["content-type"].startswith("text/html")
