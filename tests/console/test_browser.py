"""The console in a real browser: Debian's Chromium driven by Playwright against the app served by uvicorn
(the test's database, the test Redis). Every request the pages make stays on this machine, and /docs draws
Swagger UI from the vendored assets. Screenshots of each page land in the test's tmp directory.

Chromium and the Chinese font come from apt (`apt-get install chromium chromium-l10n fonts-wqy-zenhei`; `.ci/run` does
it); Playwright's own browser download is not used. Without them these tests fail, they do not skip.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from core.db import session_scope
from staff.models import Role
from surveys import respond
from surveys.models import Survey
from tests import live
from tests.console.conftest import PASSWORD, csrf_of, make_staff
from tests.push.conftest import make_followers, make_park, make_policy
from tests.surveys.conftest import make_follower

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
CHINESE = {**os.environ, "LANGUAGE": "zh_CN"}  # Chromium's own words (file picker, date fields), as staff see them


@pytest.fixture
def base_url(app_env):
    with live.server(app_env) as url:
        yield url


@pytest.fixture
def browser():
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium chromium-l10n fonts-wqy-zenhei (or run .ci/run)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS, env=CHINESE)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, base_url):
    """A page on the served app that records the URL of every request it makes."""
    context = browser.new_context(base_url=base_url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.requested = []
    context.on("request", lambda request: page.requested.append(request.url))
    yield page
    context.close()


def assert_all_local(urls: list[str]) -> None:
    assert urls
    away = [u for u in urls if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).hostname not in LOCAL_HOSTS]
    assert away == [], away


def _until(condition, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.2)


def sign_in(page, username: str) -> None:
    page.goto("/console/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_an_editor_composes_a_campaign_and_sees_its_preview_with_nothing_loaded_off_the_machine(
        page, tmp_path):
    with session_scope() as s:
        park = make_park(s, "高新技术产业园")
        make_followers(s, park, 3)
        policy_id = make_policy(s).id
    editor = make_staff(Role.editor)

    sign_in(page, editor)
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    page.screenshot(path=tmp_path / "dashboard.png", full_page=True)

    page.get_by_role("link", name="推送", exact=True).click()
    expect(page.get_by_role("link", name="新建推送")).to_be_visible()
    page.screenshot(path=tmp_path / "campaigns.png", full_page=True)

    page.get_by_role("link", name="新建推送").click()
    page.get_by_label("标题").fill("高新区惠企政策推送")
    page.get_by_label("政策推送").check()
    page.get_by_label("政策（现行有效）").select_option(str(policy_id))
    page.get_by_label("或按园区").select_option(label="高新技术产业园")
    page.screenshot(path=tmp_path / "compose.png", full_page=True)
    page.get_by_role("button", name="保存草稿").click()

    expect(page.get_by_text("推送草稿已保存")).to_be_visible()
    expect(page.get_by_role("row", name="目标人群")).to_contain_text("园区：高新技术产业园")
    preview = page.get_by_label("微信预览")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("高新区惠企政策推送")
    page.screenshot(path=tmp_path / "preview.png", full_page=True)
    assert_all_local(page.requested)


def test_docs_draw_swagger_ui_from_the_vendored_assets(page, tmp_path):
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("PolicyPush")
    expect(page.locator(".opblock").first).to_be_visible()
    page.screenshot(path=tmp_path / "docs.png")
    assert_all_local(page.requested)


SURVEY = {"pages": [{"name": "p1", "elements": [
    {"type": "radiogroup", "name": "speed", "title": "您对政策兑现速度满意吗？", "isRequired": True,
     "choices": [{"value": "yes", "text": "满意"}, {"value": "no", "text": "不满意"}]},
    {"type": "rating", "name": "nps", "title": "您向同行推荐本平台的可能性", "rateMin": 0, "rateMax": 10}]}]}


def test_a_survey_is_built_reviewed_answered_in_the_form_its_chart_shows_the_answer_and_its_feedback_is_published(
        page, browser, base_url, tmp_path):
    editor, reviewer = make_staff(Role.editor), make_staff(Role.reviewer)
    sign_in(page, editor)
    page.get_by_role("link", name="问卷", exact=True).click()
    page.get_by_role("link", name="新建问卷").click()
    page.get_by_label("标题", exact=True).fill("政策兑现满意度调查")
    page.get_by_label("截止时间（北京时间）").fill("2030-05-01T18:00")
    page.get_by_label("问卷定义（SurveyJS JSON）").fill('{"pages": [{"name": "p1", "elements": [{"type": "slider"}]}]}')
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_test_id("definition-problems")).to_contain_text("不支持的题型")
    page.screenshot(path=tmp_path / "survey-form-errors.png", full_page=True)
    page.get_by_label("问卷定义（SurveyJS JSON）").fill(json.dumps(SURVEY, ensure_ascii=False))
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_text("问卷草稿已保存")).to_be_visible()
    phone = page.frame_locator("iframe[title='问卷手机预览']")
    expect(phone.get_by_text("1. 您对政策兑现速度满意吗？")).to_be_visible()
    page.get_by_role("button", name="提交审核").click()
    expect(page.get_by_test_id("status")).to_have_text("待审核")
    survey_id = int(page.url.rsplit("/", 1)[1])

    sign_in(page, reviewer)
    page.goto(f"/console/surveys/{survey_id}")
    expect(page.get_by_test_id("pinned-definition")).to_contain_text("您对政策兑现速度满意吗？")
    page.screenshot(path=tmp_path / "survey-review.png", full_page=True)
    page.get_by_role("button", name="审核通过").click()
    expect(page.get_by_test_id("status")).to_have_text("已通过")

    sign_in(page, editor)
    page.goto(f"/console/surveys/{survey_id}")
    page.get_by_role("button", name="开始收集").click()
    expect(page.get_by_test_id("status")).to_have_text("收集中")

    with session_scope() as s:
        survey = s.get(Survey, survey_id)
        token = respond.recipient(session=s, survey=survey, follower=make_follower(s)).token
    phone_page = browser.new_context(base_url=base_url, viewport={"width": 375, "height": 667}).new_page()
    phone_page.goto(f"/s/{token}")
    phone_page.get_by_text("满意", exact=True).click()
    phone_page.get_by_text("9", exact=True).click()
    phone_page.screenshot(path=tmp_path / "survey-phone.png", full_page=True)
    phone_page.get_by_role("button", name="提交").click()  # a one-page survey: its page is the last
    expect(phone_page.get_by_text("感谢")).to_be_visible()
    phone_page.get_by_role("button", name="意见采纳情况发布后请告知我").click()
    expect(phone_page.get_by_text("已记下")).to_be_visible()

    expect(page.get_by_test_id("responses")).to_have_text("1", timeout=10_000)  # the rate polls itself
    page.goto(f"/console/surveys/{survey_id}/results?animation=0")
    chart = page.locator("#result-speed [data-survey-chart]")
    expect(chart.locator("canvas")).to_be_visible()
    drawn = chart.evaluate("el => echarts.getInstanceByDom(el).getOption().series[0].data")
    assert drawn == [1, 0]
    expect(page.locator("#result-nps")).to_contain_text("NPS 100.0")
    page.screenshot(path=tmp_path / "survey-results.png", full_page=True)

    page.goto(f"/console/surveys/{survey_id}")
    page.get_by_role("link", name="填写与发布").click()
    expect(page.get_by_test_id("feedback-state")).to_contain_text("尚未填写")
    page.get_by_label("采纳的意见和建议").fill("兑现流程压缩至 10 个工作日")
    page.get_by_label("未采纳的意见及原因").fill("免申即享需先修订办法，列入明年计划")
    page.get_by_role("button", name="保存并发布").click()
    expect(page.get_by_test_id("feedback-state")).to_contain_text("已发布")
    page.screenshot(path=tmp_path / "survey-feedback.png", full_page=True)
    page.get_by_role("button", name="生成推送给 1 位受访者").click()
    expect(page.get_by_text("已生成采纳情况推送草稿")).to_be_visible()
    phone_page.goto(f"/s/feedback/{survey_id}")
    expect(phone_page.get_by_text("兑现流程压缩至 10 个工作日")).to_be_visible()
    assert_all_local(page.requested)


@pytest.fixture
def sandbox_worker(app_env):
    """A worker calling the sandbox WeChat API; yields the sandbox's state (what it was sent)."""
    with live.sandbox(app_env) as (api, state), live.worker({**app_env, "WECHAT_API_BASE": api}):
        yield state


def test_an_editor_imports_the_faq_with_bad_rows_tries_a_question_and_answers_a_handed_over_one(
        page, client, sandbox_worker, tmp_path):
    import io

    import openpyxl

    from tests.bot.conftest import say

    say(client, "oBrowser01", "人工")
    say(client, "oBrowser01", "园区企业怎么申请稳岗返还？")
    editor = make_staff(Role.editor)
    sign_in(page, editor)

    page.get_by_role("link", name="知识库", exact=True).click()
    page.get_by_role("link", name="导入").click()
    sheet = tmp_path / "faq.csv"
    sheet.write_text("问题,答案,类目\n稳岗返还怎么申请,登录人社网上办事大厅申请。,稳岗就业\n,没有问题的答案,稳岗就业\n",
                     encoding="utf-8")
    page.get_by_label("文件", exact=False).set_input_files(sheet)
    page.get_by_role("button", name="导入").click()
    report = page.get_by_role("region", name="导入报告")
    expect(report).to_contain_text("1 行有错误")
    expect(report).to_contain_text("“问题”不能为空")
    page.screenshot(path=tmp_path / "faq-import-report.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="下载错误行 .xlsx").click()
    rows = list(openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active.values)
    assert rows[1][0] == 3

    sheet.write_text("问题,答案,类目\n稳岗返还怎么申请,登录人社网上办事大厅申请。,稳岗就业\n", encoding="utf-8")
    page.get_by_role("link", name="导入其他文件").click()
    page.get_by_label("文件", exact=False).set_input_files(sheet)
    page.get_by_role("button", name="导入").click()
    expect(page.get_by_role("region", name="导入报告")).to_contain_text("新增 1")
    page.get_by_role("link", name="知识库", exact=True).click()
    page.get_by_label("问题", exact=True).fill("稳岗返还怎么申请")
    page.get_by_role("button", name="试一试").click()
    expect(page.get_by_test_id("try-reply")).to_contain_text("登录人社网上办事大厅申请。")
    page.screenshot(path=tmp_path / "knowledge.png", full_page=True)

    page.get_by_role("link", name="人工咨询", exact=True).click()
    page.get_by_role("link", name="园区企业怎么申请稳岗返还？").click()
    expect(page.get_by_text("相关条目")).to_be_visible()
    page.get_by_label("答复", exact=True).fill("请登录人社网上办事大厅，在“稳岗返还”栏目申请。")
    page.screenshot(path=tmp_path / "question.png", full_page=True)
    page.get_by_role("button", name="发送答复").click()
    expect(page.get_by_text("正通过客服消息发给粉丝")).to_be_visible()
    _until(lambda: any(m["kind"] == "custom" and m["touser"] == "oBrowser01" and "稳岗返还" in json.dumps(
        m, ensure_ascii=False) for m in sandbox_worker.records))

    page.goto("/console/questions/report?animation=0")
    expect(page.locator("[data-chart] canvas")).to_be_visible()
    page.screenshot(path=tmp_path / "questions-report.png", full_page=True)
    assert_all_local(page.requested)


def test_the_question_builder_writes_the_definition_the_server_stores(page, tmp_path):
    sign_in(page, make_staff(Role.editor))
    page.goto("/console/surveys/new")
    page.get_by_label("标题", exact=True).fill("用工需求调查")
    page.get_by_label("截止时间（北京时间）").fill("2030-05-01T18:00")
    page.get_by_label("新题型").select_option(label="多选")
    page.get_by_role("button", name="添加题目").click()
    page.get_by_label("题目 2 标题").fill("您最需要哪些支持？")
    page.get_by_label("题目 2 标题").press("Tab")
    page.get_by_label("题目 2 选项（每行一个）").fill("融资\n用工\n税费")
    page.get_by_label("题目 2 选项（每行一个）").press("Tab")
    page.get_by_label("题目 2 必答").check()
    page.get_by_role("button", name="上移").nth(1).click()
    page.screenshot(path=tmp_path / "survey-builder.png", full_page=True)
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_text("问卷草稿已保存")).to_be_visible()
    with session_scope() as s:
        survey = s.get(Survey, int(page.url.rsplit("/", 1)[1]))
        first, second = survey.definition["pages"][0]["elements"]
    assert (first["name"], first["title"], first["isRequired"]) == ("q2", "您最需要哪些支持？", True)
    assert [c["text"] for c in first["choices"]] == ["融资", "用工", "税费"] and second["name"] == "q1"


def test_a_campaign_is_test_sent_rejected_approved_and_launched_and_its_progress_streams_to_finished(
        browser, app_env, tmp_path):
    with session_scope() as s:
        park = make_park(s, "经济开发区")
        make_followers(s, park, 5)
        policy_id = make_policy(s).id
    editor, reviewer = make_staff(Role.editor, "oEditorBrowser01"), make_staff(Role.reviewer)
    with live.sandbox(app_env) as (api_base, state):
        env = {**app_env, "WECHAT_API_BASE": api_base}
        with live.server(env) as url, live.worker(env):
            context = browser.new_context(base_url=url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                          viewport={"width": 1280, "height": 900})
            page = context.new_page()
            requested = []
            context.on("request", lambda request: requested.append(request.url))

            sign_in(page, editor)
            page.goto("/console/campaigns/new")
            page.get_by_label("标题").fill("开发区稳岗政策推送")
            page.get_by_label("政策推送").check()
            page.get_by_label("政策（现行有效）").select_option(str(policy_id))
            page.get_by_label("或按园区").select_option(label="经济开发区")
            page.get_by_label("不设免打扰").check()  # sent whatever the hour the test runs at
            page.get_by_role("button", name="保存草稿").click()
            campaign_url = page.url
            page.get_by_role("button", name="测试发送").click()
            expect(page.get_by_role("row", name="测试发送")).not_to_contain_text("尚未测试发送")
            page.get_by_role("button", name="提交审核").click()
            expect(page.get_by_test_id("status")).to_have_text("待审核")
            expect(page.get_by_role("button", name="审核通过")).to_have_count(0)  # not for its author
            forged = page.request.post(f"{campaign_url}/approve", form={"csrf_token": csrf_of(page.content())},
                                       max_redirects=0)
            assert forged.status in (403, 409), forged.status

            sign_in(page, reviewer)
            page.goto(campaign_url)
            page.get_by_label("退回理由").fill("请补充申报截止日期")
            page.get_by_role("button", name="退回修改").click()
            sign_in(page, editor)
            page.goto(campaign_url)
            expect(page.get_by_role("status").filter(has_text="审核退回")).to_contain_text("请补充申报截止日期")
            page.get_by_role("button", name="测试发送").click()
            page.get_by_role("button", name="提交审核").click()
            sign_in(page, reviewer)
            page.goto(campaign_url)
            page.get_by_role("button", name="审核通过").click()
            expect(page.get_by_test_id("status")).to_have_text("已通过")

            sign_in(page, editor)
            page.goto(campaign_url)
            with page.expect_request(lambda r: r.url.endswith("/progress/stream")):
                page.get_by_role("button", name="启动发送").click()
            expect(page.get_by_test_id("status")).to_have_text("已完成", timeout=60_000)
            expect(page.locator("#progress")).to_contain_text("100%")
            expect(page.get_by_role("button", name="暂停")).to_have_count(0)  # the page followed the end
            page.screenshot(path=tmp_path / "campaign-finished.png", full_page=True)
            assert_all_local(requested)
            context.close()
    templates = state.sent(kind="template", limit=100)
    assert len([m for m in templates if m["touser"] != "oEditorBrowser01"]) == 5


def test_an_editor_writes_a_policy_watching_its_checklist_then_repeals_it_and_reads_the_diff(page, tmp_path):
    sign_in(page, make_staff(Role.editor))
    page.get_by_role("link", name="政策库", exact=True).click()
    page.get_by_role("link", name="新增政策").click()
    checklist = page.locator("#checklist")
    expect(checklist).to_contain_text("已填 0/8 项")
    page.get_by_label("标题").fill("关于促进民营经济发展的若干措施")
    page.get_by_label("文号").fill("葫政发〔2024〕8号")
    page.get_by_label("发布日期").fill("2024-03-01")
    page.get_by_label("背景依据").fill("依据省委省政府的部署")
    page.get_by_label("主要内容").type("降低融资成本")
    expect(checklist).to_contain_text("已填 2/8 项")  # updated by the server as the parts are typed
    page.screenshot(path=tmp_path / "policy-form.png", full_page=True)
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已新增政策")).to_be_visible()
    expect(page.get_by_text("现行有效", exact=True)).to_be_visible()

    page.get_by_label("主要内容").fill("降低融资成本和用地成本")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已保存")).to_be_visible()
    page.get_by_role("button", name="废止").click()
    expect(page.get_by_text("状态已改为“已废止”")).to_be_visible()

    page.get_by_role("link", name="修订记录").click()
    expect(page.get_by_role("cell", name="修改解读")).to_have_count(2)  # written with the policy, then edited
    page.get_by_role("link", name="查看这次改动").nth(1).click()
    expect(page.locator("ins").filter(has_text="和用地成本")).to_be_visible()
    page.screenshot(path=tmp_path / "policy-history.png", full_page=True)
    assert_all_local(page.requested)


def test_an_analyst_reads_masked_and_has_no_edit_controls_and_a_forged_post_or_an_expired_session_is_refused(
        page, client, redis_client, tmp_path):
    from console import sessions
    from tests.bot.conftest import say

    say(client, "oBrowser02", "人工")
    say(client, "oBrowser02", "我的电话是13812345678，园区企业怎么申请稳岗返还？")
    sign_in(page, make_staff(Role.analyst))

    page.get_by_role("link", name="人工咨询", exact=True).click()
    page.get_by_role("link", name="138****5678", exact=False).click()
    expect(page.locator("main")).to_contain_text("我的电话是138****5678")
    assert "13812345678" not in page.content()
    expect(page.get_by_role("button", name="发送答复")).to_have_count(0)
    page.screenshot(path=tmp_path / "analyst-question.png", full_page=True)
    page.get_by_role("link", name="知识库", exact=True).click()
    expect(page.get_by_role("link", name="导入")).to_have_count(0)
    expect(page.get_by_role("link", name="新增条目")).to_have_count(0)

    forged = page.request.post("/console/logout", form={"csrf_token": "forged"}, max_redirects=0)
    assert forged.status == 403 and "CSRF" in forged.text()
    page.reload()
    expect(page.get_by_role("heading", name="知识库")).to_be_visible()  # the forged POST changed nothing

    for key in redis_client.scan_iter(f"{sessions.PREFIX}*"):
        redis_client.pexpire(key, 1)  # the idle expiry, as Redis applies it
    page.get_by_role("link", name="工作台", exact=True).click()
    expect(page).to_have_url("/console/login?next=/console/")
    expect(page.get_by_label("用户名")).to_be_visible()
    assert_all_local(page.requested)


def test_the_chat_simulator_is_in_chinese_and_draws_template_and_news_messages_as_wechat_does(
        browser, base_url, app_env, tmp_path):
    from bot import menu

    openid = "oSimulator0001"
    with session_scope() as s:
        policy_id = make_policy(s).id
    with (live.sandbox(app_env, webhook_url=f"{base_url}/wechat") as (api_base, _),
          httpx.Client(base_url=api_base, timeout=10) as wechat):
        sandbox_url = api_base.removesuffix("/cgi-bin/")
        token = wechat.get("token", params={"grant_type": "client_credential", "appid": app_env["WECHAT_APPID"],
                                            "secret": app_env["WECHAT_SECRET"]}).json()["access_token"]

        def call(path, body):
            answer = wechat.post(path, params={"access_token": token}, json=body).json()
            assert answer.get("errcode", 0) == 0, answer  # success: qrcode/create answers no errcode

        call("qrcode/create", {"action_name": "QR_LIMIT_STR_SCENE",
                               "action_info": {"scene": {"scene_str": "park_sim"}}})
        context = browser.new_context(base_url=sandbox_url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      viewport={"width": 1100, "height": 900})
        page = context.new_page()
        requested = []
        context.on("request", lambda request: requested.append(request.url))
        page.goto("/sandbox/")
        expect(page).to_have_title("PolicyPush 微信沙箱 · 聊天模拟器")
        expect(page.get_by_text("请选择粉丝")).to_be_visible()
        page.get_by_placeholder("openid，如 oTestUser000001").fill(openid)
        page.get_by_role("button", name="打开", exact=True).click()
        expect(page.get_by_text("（已关注）")).to_be_visible()  # any openid follows until told otherwise
        page.get_by_role("button", name="关注", exact=True).click()  # a newcomer: follows, the webhook welcomes
        expect(page.locator(".msg.in").first).to_contain_text("关注")
        expect(page.locator(".msg.out .bubble").first).to_contain_text(menu.WELCOME.splitlines()[0])
        page.get_by_role("button", name="扫码 park_sim").click()
        expect(page.locator(".msg.in").last).to_contain_text("扫描二维码 park_sim")
        expect(page.get_by_role("button", name="取消关注", exact=True)).to_be_visible()
        page.get_by_placeholder("输入消息").fill("帮助")
        page.get_by_role("button", name="发送", exact=True).click()
        expect(page.locator(".msg.in .bubble").last).to_have_text("帮助")

        policy_url = f"{base_url}/p/{policy_id}"
        data = {"first": "不再显示的开头", "thing1": "关于支持中小企业发展的若干措施", "thing2": "市人民政府办公室",
                "date3": "2024年5月1日", "thing4": "降低融资成本", "remark": "不再显示的备注"}
        call("message/template/send", {"touser": openid, "template_id": "POLICY_NOTICE_TPL", "url": policy_url,
                                       "data": {key: {"value": value} for key, value in data.items()}})
        call("message/custom/send", {"touser": openid, "msgtype": "news", "news": {"articles": [
            {"title": "稳岗返还政策解读", "description": "符合条件的企业可申请返还失业保险费。", "url": policy_url,
             "picurl": "data:image/gif;base64,R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="}]}})

        card = page.get_by_test_id("template-card")
        expect(card.locator(".card-title")).to_have_text("政策推送通知")
        assert card.locator(".card-title").evaluate("el => getComputedStyle(el).fontWeight") == "700"
        assert card.locator(".rows > span").all_inner_texts() == [
            "政策名称", "关于支持中小企业发展的若干措施", "发文单位", "市人民政府办公室", "发布日期", "2024年5月1日",
            "内容摘要", "降低融资成本"]
        assert card.locator(".key").first.evaluate("el => getComputedStyle(el).color") == "rgb(136, 136, 136)"
        expect(card).not_to_contain_text("不再显示")
        news = page.get_by_test_id("news-card")
        expect(news).to_contain_text("稳岗返还政策解读")
        expect(news).to_contain_text("符合条件的企业可申请返还失业保险费。")
        expect(news.locator("img")).to_have_count(1)
        page.screenshot(path=tmp_path / "simulator.png", full_page=True)

        more = card.get_by_role("link", name="查看详情")
        expect(more).to_be_visible()
        with page.expect_popup() as popup:  # opened in the follower's WeChat browser, as them
            more.click()
        detail = popup.value
        expect(detail).to_have_url(policy_url)
        expect(detail.get_by_role("heading", level=1)).to_contain_text("关于支持中小企业发展的若干措施")
        assert_all_local(requested)
        context.close()
