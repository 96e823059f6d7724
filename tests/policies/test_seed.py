import filecmp
from pathlib import Path

from cli.seed import seed_demo
from core.db import session_scope
from policies import embeddings, service
from policies.models import FaqEntry, PolicyStatus
from policies.seed import NOTICE, notice_body

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "seed-policy-notice.txt"


def test_the_notice_and_faq_are_seeded_once(app_env):
    lines = list(seed_demo())
    assert any("葫政办公开〔2024〕10号" in line for line in lines)
    assert any("215 entries" in line for line in lines)
    with session_scope() as session:
        policy = service.get_by_number(session=session, doc_number="葫政办公开〔2024〕10号")
        assert (policy.title, policy.issuer, policy.issued_on.isoformat(), policy.status) == (
            "关于印发葫芦岛市2024年政务公开工作要点的通知", "葫芦岛市政务公开领导小组办公室", "2024-07-22",
            PolicyStatus.in_force)
        assert policy.completeness == {"complete": True, "missing": []}
        assert "三同步" in policy.interpretation.keywords and "5%" in policy.interpretation.standards
        assert policy.body.startswith("各县(市)区人民政府") and policy.body.endswith("(此件公开发布)")
        assert "23.强化绩效考核" in policy.body and "责任编辑" not in policy.body
        assert session.query(FaqEntry).count() == 215
    assert not any(line.startswith(("demo policy", "demo FAQ")) for line in seed_demo())


def test_the_seed_copy_is_the_shared_notice():
    if SHARED.exists():
        assert filecmp.cmp(NOTICE, SHARED, shallow=False)
    assert notice_body(NOTICE.read_text(encoding="utf-8")).count("\n") > 20


def test_seeding_embeds_nothing_the_shipped_vectors_hold_every_passage(app_env, monkeypatch):
    embedded = []
    embed = embeddings.embed_passages
    monkeypatch.setattr(embeddings, "embed_passages", lambda texts: embedded.extend(texts) or embed(texts))
    list(seed_demo())
    assert embedded == [], "the seed content changed: python -m policies.seed writes policies/data/seed/embeddings.npz"
    with session_scope() as session:
        entry = session.query(FaqEntry).order_by(FaqEntry.id).first()
        passage = embeddings.passages(entry.question, entry.similar or [], entry.answer)[-1]
        shipped = embeddings.stored(session=session, texts=[passage])[passage]
    # the file was written by the model in use (a new model or prefix would need it written again)
    assert float(shipped @ embed([passage])[0]) > 0.99
