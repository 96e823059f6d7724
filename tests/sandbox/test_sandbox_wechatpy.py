"""wechatpy 1.8.18, the project's client, pointed at a real sandbox server."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException

from tests.sandbox.conftest import POLICY_DATA


class SandboxClient(WeChatClient):
    """WeChatClient with every call, the token fetch included, sent to the sandbox."""

    def __init__(self, base_url: str, appid: str, secret: str) -> None:
        super().__init__(appid, secret, timeout=5, auto_retry=False)
        self.API_BASE_URL = base_url + "/cgi-bin/"

    def fetch_access_token(self):  # upstream hard-codes https://api.weixin.qq.com
        return self._fetch_access_token(url=self.API_BASE_URL + "token", params={
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})


@pytest.fixture
def client(sandbox_server) -> Iterator[SandboxClient]:
    config = sandbox_server.state.config
    yield SandboxClient(sandbox_server.url, config.appid, config.secret)


def test_token_and_template_send(client, sandbox_server):
    answer = client.message.send_template("oWechatpy0001", "POLICY_NOTICE_TPL", POLICY_DATA, url="https://e.gov.cn/p")
    assert answer["errcode"] == 0 and answer["msgid"] > 0
    assert sandbox_server.state.stats["tokens_issued"] == 1
    [record] = sandbox_server.state.sent()
    assert record["body"]["touser"] == "oWechatpy0001" and record["body"]["url"] == "https://e.gov.cn/p"


def test_wechatpy_sees_wechat_errors(client):
    with pytest.raises(WeChatClientException) as caught:
        client.message.send_template("oWechatpy0001", "UNKNOWN_TPL", {})
    assert caught.value.errcode == 40037
    bad = SandboxClient(client.API_BASE_URL[: -len("/cgi-bin/")], client.appid, "wrong")
    with pytest.raises(WeChatClientException) as caught:
        bad.fetch_access_token()
    assert caught.value.errcode == 40001


def test_other_calls_the_project_makes(client, sandbox_server):
    assert client.message.send_text("oPolicyDemoCitizen0002", "您好")["errcode"] == 0
    tag = client.tag.create("园区企业")["id"]
    client.tag.tag_user(tag, ["oPolicyDemoEnterprise01", "oWechatpy0002"])
    assert client.tag.get_user_tag("oWechatpy0002") == [tag]
    assert client.tag.get_tag_users(tag)["data"]["openid"] == ["oPolicyDemoEnterprise01", "oWechatpy0002"]
    assert any(t["id"] == tag for t in client.tag.get())
    by_tag = client.message.send_mass_text(tag, "园区通知")  # wechatpy sends filter.group_id
    by_list = client.message.send_mass_text(["oWechatpy0002", "oWechatpy0003"], "名单通知")
    assert by_tag["msg_id"] and by_list["msg_id"]
    followers = client.user.get_followers()
    assert followers["total"] == len(list(client.user.iter_followers()))
    assert client.user.get("oWechatpy0002")["tagid_list"] == [tag]
    qr = client.qrcode.create({"action_name": "QR_LIMIT_STR_SCENE",
                               "action_info": {"scene": {"scene_str": "park_a"}}})
    assert qr["ticket"] in sandbox_server.state.qrcodes
    menu = {"button": [{"type": "click", "name": "政策", "key": "POLICY"}]}
    client.menu.create(menu)
    assert client.menu.get() == {"menu": menu}
    client.menu.delete()
    assert sandbox_server.state.menu is None
    kinds = [r["kind"] for r in sandbox_server.state.sent()]
    assert kinds == ["mass", "mass", "custom"]
