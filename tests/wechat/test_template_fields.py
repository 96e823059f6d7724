"""WeChat's typed template keys: what fits, what is shortened and how, what is refused."""
from __future__ import annotations

import pytest

from wechat.template_fields import ELLIPSIS, Template, Unfit, data, fill, fit, refused_key

CONTENT = "政策名称：{{thing1.DATA}}\n发文单位：{{thing2.DATA}}\n发布日期：{{date3.DATA}}\n办理状态:{{phrase4.DATA}}"


def test_a_template_content_gives_its_keys_types_and_labels_in_order():
    t = Template.parse("政策推送通知", CONTENT + "\n文号：{{character_string5.DATA}}\n{{const6.DATA}}")
    assert [(k.name, k.kind, k.label) for k in t.keys] == [
        ("thing1", "thing", "政策名称"), ("thing2", "thing", "发文单位"), ("date3", "date", "发布日期"),
        ("phrase4", "phrase", "办理状态"), ("character_string5", "character_string", "文号"), ("const6", "const", "")]


def test_a_written_line_break_from_the_environment_separates_keys_too():
    t = Template.parse("x", "政策名称：{{thing1.DATA}}\\n发文单位：{{thing2.DATA}}")
    assert [k.label for k in t.keys] == ["政策名称", "发文单位"]


@pytest.mark.parametrize("content", ["{{first.DATA}}\n发文单位：{{keyword1.DATA}}\n{{remark.DATA}}",
                                     "名称：{{thing1.DATA}}\n又是名称：{{thing1.DATA}}", "没有字段", "{{enum_x1.DATA}}"])
def test_old_style_keys_repeated_keys_or_none_are_refused(content):
    with pytest.raises(ValueError):
        Template.parse("x", content)


def test_a_thing_longer_than_twenty_characters_is_cut_to_nineteen_and_an_ellipsis():
    value, shortened = fit("thing", "关于进一步支持中小企业高质量发展的若干政策措施")
    assert shortened and value == "关于进一步支持中小企业高质量发展的若干" + ELLIPSIS and len(value) == 20
    # punctuation or a space left at the cut is dropped before the ellipsis
    value, _ = fit("thing", "一二三四五六七八九十一二三四五六七八，九十一")
    assert value == "一二三四五六七八九十一二三四五六七八" + ELLIPSIS
    assert fit("thing", "正好二十个字正好二十个字正好二十个字正好") == ("正好二十个字正好二十个字正好二十个字正好", False)
    assert fit("thing", "  第一行\n第二行\t ") == ("第一行 第二行", False)  # no line breaks in a thing


@pytest.mark.parametrize(("kind", "given", "shown"), [
    ("date", "2024-05-01", "2024年5月1日"), ("date", "2024-05-01T15:01:30", "2024年5月1日 15:01"),
    ("date", "2024年5月1日~2024年6月30日", "2024年5月1日~2024年6月30日"), ("date", "2024/05/01", "2024/05/01"),
    ("time", "2024-05-01 09:30", "2024年5月1日 09:30"), ("time", "15:01", "15:01"),
    ("phrase", "已发布", "已发布"), ("character_string", "HLD-2024/10", "HLD-2024/10"), ("number", "12.50", "12.50"),
    ("amount", "¥100.00", "¥100.00"), ("amount", "3000元", "3000元"), ("letter", "ABC", "ABC"),
    ("phone_number", "+86-0429-2123456", "+86-0429-2123456"), ("car_number", "辽P12345", "辽P12345"),
    ("name", "张三", "张三"), ("symbol", "#", "#"),
])
def test_values_that_fit_are_sent_as_wechat_expects_them(kind, given, shown):
    assert fit(kind, given) == (shown, False)


@pytest.mark.parametrize(("kind", "given", "says"), [
    ("thing", " \n ", "不能为空"), ("phrase", "正在受理审核", "5个以内汉字"), ("phrase", "OK", "5个以内汉字"),
    ("character_string", "葫政办发〔2024〕10号", "字母、数字或符号"), ("character_string", "A" * 33, "32位"),
    ("date", "明天", "日期"), ("date", "2024-13-01", "日期"), ("time", "2024-05-01", "时间"),
    ("number", "十二", "数字"), ("amount", "一百元", "金额"), ("name", "张三李四王五赵六钱七孙", "汉字"),
    ("const", "任何值", "由模板固定"),
])
def test_values_that_cannot_fit_are_refused_in_chinese_and_never_cut(kind, given, says):
    with pytest.raises(Unfit) as exc:
        fit(kind, given)
    assert says in exc.value.reason


def test_filling_a_template_names_each_field_that_does_not_fit_and_sends_what_fits():
    t = Template.parse("政策推送通知", CONTENT)
    rows = fill(t, {"thing1": "关于进一步支持中小企业高质量发展的若干政策措施", "thing2": "市人民政府办公室",
                    "date3": "2024-05-01", "phrase4": "正在受理审核"})
    assert [r.value for r in rows[:3]] == ["关于进一步支持中小企业高质量发展的若干…", "市人民政府办公室", "2024年5月1日"]
    assert rows[0].shortened and "「政策名称」（thing1）超过20个字" in rows[0].warning
    assert rows[3].problem.startswith("模板字段「办理状态」（phrase4）须为5个以内汉字")
    assert [r for r in rows if r.problem] == [rows[3]]
    assert set(data(rows)) == {"thing1", "thing2", "date3", "phrase4"}  # no first, no remark


def test_the_key_a_refusal_names_is_read_from_wechats_message():
    assert refused_key("argument invalid! data.thing1.value invalid rid: 6571a2") == "thing1"
    assert refused_key("argument invalid! data.character_string12.value invalid") == "character_string12"
    assert refused_key("invalid template_id") is None and refused_key(None) is None
