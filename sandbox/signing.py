"""How WeChat signs, encrypts and formats what it posts to a webhook: the one place for it.

Written from the public spec (see DESIGN.md) with `cryptography`, so tests can check it with
wechatpy's independent implementation.
"""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
import struct
import time
import xml.etree.ElementTree as ET
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

XmlFields = dict[str, Any]


class ReplyError(ValueError):
    """The webhook's reply could not be verified or decrypted."""


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def new_nonce() -> str:
    return str(secrets.randbelow(10**10)).zfill(10)


class AesCrypto:
    """AES-256-CBC; key = base64(EncodingAESKey + "="), iv = key[:16], PKCS#7 to 32 bytes."""

    def __init__(self, aes_key: str, appid: str) -> None:
        self.key = base64.b64decode(aes_key + "=")
        if len(self.key) != 32:
            raise ValueError("EncodingAESKey must be 43 characters of base64")
        self.appid = appid

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))

    def encrypt(self, text: str) -> str:
        body = text.encode()
        raw = os.urandom(16) + struct.pack(">I", len(body)) + body + self.appid.encode()
        pad = 32 - len(raw) % 32
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(raw + bytes([pad]) * pad) + enc.finalize()).decode()

    def decrypt(self, encrypted: str) -> str:
        try:
            dec = self._cipher().decryptor()
            raw = dec.update(base64.b64decode(encrypted)) + dec.finalize()
            pad = raw[-1]
            if not 1 <= pad <= 32:
                raise ValueError("bad padding")
            content = raw[16:-pad]
            (length,) = struct.unpack(">I", content[:4])
            text, appid = content[4 : 4 + length].decode(), content[4 + length :].decode()
        except (ValueError, struct.error, UnicodeDecodeError) as exc:
            raise ReplyError(f"无法解密：{exc}") from exc
        if appid != self.appid:
            raise ReplyError(f"按 appid {appid!r} 加密，应为 {self.appid!r}")
        return text


def to_xml(fields: XmlFields) -> str:
    """WeChat's flat message XML: numbers bare, text in CDATA."""
    out = ["<xml>"]
    for tag, value in fields.items():
        if isinstance(value, int):
            out.append(f"<{tag}>{value}</{tag}>")
        else:  # a "]]>" inside must be split across two CDATA sections
            out.append(f"<{tag}><![CDATA[{str(value).replace(']]>', ']]]]><![CDATA[>')}]]></{tag}>")
    out.append("</xml>")
    return "".join(out)


def parse_xml(text: str) -> XmlFields:
    """Top-level fields of a message; nested ones (Articles/item, Image/MediaId) as dicts/lists."""
    try:
        return _element(ET.fromstring(text))  # type: ignore[return-value]
    except ET.ParseError as exc:
        raise ReplyError(f"回复不是 XML：{exc}") from exc


def _element(node: ET.Element) -> Any:
    if len(node) == 0:
        return node.text or ""
    out: dict[str, Any] = {}
    for child in node:
        value = _element(child)
        if child.tag in out:  # repeated <item>s become a list
            prev = out[child.tag]
            out[child.tag] = prev + [value] if isinstance(prev, list) else [prev, value]
        else:
            out[child.tag] = [value] if child.tag == "item" else value
    return out


class Signer:
    """Builds the signed (and, with an AES key, encrypted) POST WeChat makes, and opens replies."""

    def __init__(self, token: str, aes_key: str | None, appid: str, mode: str = "safe") -> None:
        if mode not in ("safe", "compat"):
            raise ValueError("encrypt_mode must be 'safe' or 'compat'")
        self.token, self.mode = token, mode
        self.crypto = AesCrypto(aes_key, appid) if aes_key else None

    def envelope(self, fields: XmlFields) -> tuple[dict[str, str], str]:
        """Query parameters and body for one message from fields["FromUserName"]."""
        ts, nonce = str(int(time.time())), new_nonce()
        params = {"signature": sha1_signature(self.token, ts, nonce), "timestamp": ts,
                  "nonce": nonce, "openid": str(fields["FromUserName"])}
        plain = to_xml(fields)
        if self.crypto is None:
            return params, plain
        encrypted = self.crypto.encrypt(plain)
        params["encrypt_type"] = "aes"
        params["msg_signature"] = sha1_signature(self.token, ts, nonce, encrypted)
        if self.mode == "safe":
            return params, to_xml({"ToUserName": fields["ToUserName"], "Encrypt": encrypted})
        return params, to_xml({**fields, "Encrypt": encrypted})

    def open_reply(self, body: str) -> XmlFields | None:
        """The reply's fields; None for an empty or "success" reply. Raises ReplyError."""
        body = body.strip()
        if body in ("", "success"):
            return None
        fields = parse_xml(body)
        if self.crypto is None:
            return fields
        encrypted = fields.get("Encrypt")
        if not isinstance(encrypted, str):
            raise ReplyError("请求已加密，回复却是明文")
        expected = sha1_signature(self.token, str(fields.get("TimeStamp", "")),
                                  str(fields.get("Nonce", "")), encrypted)
        if fields.get("MsgSignature") != expected:
            raise ReplyError("回复的 MsgSignature 不符")
        return parse_xml(self.crypto.decrypt(encrypted))
