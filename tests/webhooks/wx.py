"""Builds requests as WeChat's servers send them, for the webhook tests."""
from __future__ import annotations

import hashlib
import random
import time

from wechatpy.crypto import WeChatCrypto

from tests.conftest import TEST_WECHAT


def sign(token: str, *parts: str) -> str:
    return hashlib.sha1("".join(sorted((token, *parts))).encode()).hexdigest()


def signed_query(timestamp: int | None = None, token: str = TEST_WECHAT["WECHAT_TOKEN"]) -> dict:
    ts, nonce = str(timestamp or int(time.time())), str(random.randint(10**8, 10**9))
    return {"signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": "oTest"}


def message(openid: str = "oUser0001", kind: str = "text", msg_id: int | None = None,
            created: int | None = None, **fields: str) -> str:
    parts = {"ToUserName": "gh_account", "FromUserName": openid, "CreateTime": str(created or int(time.time())),
             "MsgType": kind, **fields}
    if kind != "event":
        parts["MsgId"] = str(msg_id or random.randint(10**15, 10**16))
    return "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in parts.items()) + "</xml>"


def encrypt(xml: str, query: dict, appid: str = TEST_WECHAT["WECHAT_APPID"]) -> tuple[dict, str]:
    """Safe mode: the query gains encrypt_type and msg_signature, the body holds only <Encrypt>."""
    crypto = WeChatCrypto(TEST_WECHAT["WECHAT_TOKEN"], TEST_WECHAT["WECHAT_AES_KEY"], appid)
    sealed = crypto.encrypt_message(xml, query["nonce"], query["timestamp"])
    encrypted = sealed.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    return ({**query, "encrypt_type": "aes", "msg_signature": sign(TEST_WECHAT["WECHAT_TOKEN"],
             query["timestamp"], query["nonce"], encrypted)},
            f"<xml><ToUserName><![CDATA[gh_account]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")


def decrypt_reply(body: str) -> str:
    crypto = WeChatCrypto(TEST_WECHAT["WECHAT_TOKEN"], TEST_WECHAT["WECHAT_AES_KEY"], TEST_WECHAT["WECHAT_APPID"])
    ts = body.split("<TimeStamp>")[1].split("</TimeStamp>")[0]
    nonce = body.split("<Nonce><![CDATA[")[1].split("]]>")[0]
    sig = body.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    return crypto.decrypt_message(body, sig, ts, nonce)
