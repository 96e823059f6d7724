import pytest

from subscriptions import reference, service
from subscriptions.models import EnterpriseTag, Topic
from subscriptions.schemas import TopicUpdate


def test_gbt4754_sections_and_divisions():
    sections, divisions = reference.sections(), reference.divisions()
    assert list(sections) == [chr(c) for c in range(ord("A"), ord("T") + 1)]
    assert list(divisions) == [f"{n:02d}" for n in range(1, 98)]
    assert sections["C"].name == "制造业" and sections["C"].divisions == tuple(f"{n}" for n in range(13, 44))
    assert sections["I"].name == "信息传输、软件和信息技术服务业"
    assert divisions["65"].name == "软件和信息技术服务业" and divisions["65"].section == "I"
    assert divisions["05"].name == "农、林、牧、渔专业及辅助性活动"
    assert divisions["97"].section == "T"
    assert sum(len(s.divisions) for s in sections.values()) == 97


def test_expand_industry():
    assert reference.expand_industry("c") == tuple(f"{n}" for n in range(13, 44))
    assert reference.expand_industry("65") == ("65",)
    for bad in ("U", "98", "00", "1", "C13"):
        with pytest.raises(KeyError):
            reference.expand_industry(bad)


@pytest.mark.parametrize("raw,division", [("13", "13"), (13, "13"), (1, "01"), (1.0, "01"), ("C13", "13"),
                                          ("C1351", "13"), ("1351", "13"), (111, "01"), ("651", "65")])
def test_normalize_division(raw, division):
    assert reference.normalize_division(raw) == division


@pytest.mark.parametrize("raw", ["C", "98", "00", "I13", "abc", "13511"])
def test_normalize_division_rejects(raw):
    with pytest.raises(ValueError):
        reference.normalize_division(raw)


def test_sizes():
    assert list(reference.size_classes()) == ["大", "中", "小", "微"]
    assert reference.normalize_size("中型企业") == "中" and reference.normalize_size("微型") == "微"
    with pytest.raises(ValueError):
        reference.normalize_size("特大")


def test_seed_fills_empty_tables_once(session):
    added = service.seed_reference_data(session=session)
    assert added["topics"] >= 8 and added["tags"] >= 5
    names = [t.name for t in service.list_topics(session=session)]
    assert names[:8] == ["科技创新", "财税金融", "人才就业", "稳岗就业", "外贸外资", "惠农", "营商环境", "社会保障"]
    assert {"专精特新", "高新技术企业", "科技型中小企业", "规上企业", "小微企业"} <= {
        t.name for t in service.list_tags(session=session)}
    # staff edits survive a second seed
    topic = session.query(Topic).filter_by(name="惠农").one()
    service.update_topic(session=session, topic=topic, topic_in=TopicUpdate(name="惠农惠民", active=False))
    assert service.seed_reference_data(session=session) == {"topics": 0, "tags": 0}
    assert session.query(Topic).filter_by(name="惠农").count() == 0
    assert "惠农惠民" not in [t.name for t in service.list_topics(session=session)]
    assert session.query(EnterpriseTag).count() == added["tags"]
