"""The configured template of campaigns: the default maps campaign values onto typed keys (no first or
remark), and a mapping that does not match the template's keys is refused when settings are read."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.settings import Settings
from push.content import Message
from push.templates import CampaignTemplate


def test_the_default_template_puts_the_title_where_wechat_shows_it():
    template = CampaignTemplate.from_settings(Settings())
    message = Message(values={"title": "中小企业扶持政策", "summary": "支持企业研发投入", "issuer": "市人民政府办公室",
                              "doc_number": "葫政办发〔2024〕10号", "date": "2024-05-01"}, landing_path="/p/1")
    filled = template.fill(message)
    assert filled.title == "政策推送通知"
    assert [(f.key.label, f.value) for f in filled.fields] == [
        ("政策名称", "中小企业扶持政策"), ("发文单位", "市人民政府办公室"), ("发布日期", "2024年5月1日"),
        ("内容摘要", "支持企业研发投入")]
    assert filled.data == {"thing1": {"value": "中小企业扶持政策"}, "thing2": {"value": "市人民政府办公室"},
                           "date3": {"value": "2024年5月1日"}, "thing4": {"value": "支持企业研发投入"}}
    assert filled.problems == [] and filled.warnings == []


@pytest.mark.parametrize("fields", [
    {"first": "title", "thing1": "title", "thing2": "issuer", "date3": "date", "thing4": "summary"},  # not shown
    {"thing1": "title", "thing2": "issuer", "date3": "date"},  # thing4 would be missing: 47003
])
def test_a_mapping_that_does_not_match_the_templates_keys_is_refused(fields):
    with pytest.raises(ValidationError, match="PUSH_TEMPLATE_FIELDS must map exactly the keys"):
        Settings(push_template_fields=fields)


def test_an_old_style_template_content_is_refused():
    with pytest.raises(ValidationError, match="no longer shows first"):
        Settings(push_template_content="{{first.DATA}}\n标题：{{keyword1.DATA}}\n{{remark.DATA}}",
                 push_template_fields={"keyword1": "title"})
