"""WeChat web authorisation (snsapi_base) for H5 pages: the follower's openid without a prompt. wechatpy's
WeChatOAuth builds the URL and exchanges the code; here it is pointed where WECHAT_API_BASE points (the
sandbox answers both) and given the project's HTTP timeout, which wechatpy leaves unset."""
from __future__ import annotations

from wechatpy import WeChatOAuth

from core.settings import get_settings

REAL_AUTHORIZE = "https://open.weixin.qq.com/connect/"


class OAuth(WeChatOAuth):
    def __init__(self, redirect_uri: str, state: str = "") -> None:
        settings = get_settings()
        super().__init__(settings.wechat_appid, settings.wechat_secret, redirect_uri, scope="snsapi_base",
                         state=state)
        root = settings.wechat_api_base.removesuffix("cgi-bin/")
        self.API_BASE_URL = root
        self.OAUTH_BASE_URL = REAL_AUTHORIZE if settings.uses_real_wechat else f"{root}connect/"
        self._timeout = settings.wechat_timeout

    def _request(self, method, url_or_endpoint, **kwargs):
        kwargs.setdefault("timeout", self._timeout)
        return super()._request(method, url_or_endpoint, **kwargs)
