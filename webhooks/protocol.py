"""WeChat's webhook protocol: signatures, clock skew, safe XML, AES, and reply rendering."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy.crypto import PrpCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.replies import ArticlesReply, TextReply

from core.text import strip_control
from wechat.messages import Answer, cut

MAX_BODY = 1024 * 1024


class Rejected(Exception):
    """A request refused with an HTTP status; `reason` is logged, never secrets."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_signature(token: str, params: dict[str, str], max_skew: int) -> None:
    """The query's `signature` must match and its timestamp be close to now (replays are refused)."""
    signature, timestamp, nonce = (params.get(k, "") for k in ("signature", "timestamp", "nonce"))
    if not (signature and timestamp and nonce):
        raise Rejected(403, "missing signature, timestamp or nonce")
    # compared as bytes: compare_digest raises TypeError on a str that is not ASCII
    if not hmac.compare_digest(sha1_signature(token, timestamp, nonce).encode(), signature.lower().encode()):
        raise Rejected(403, "signature mismatch")
    try:
        skew = abs(time.time() - int(timestamp))
    except ValueError:
        raise Rejected(403, "timestamp is not an integer") from None
    if skew > max_skew:
        raise Rejected(403, f"timestamp {int(skew)} s from now")


def parse_xml(body: bytes | str) -> dict:
    """The top-level fields of a WeChat XML document (text, or the element where it has children).

    defusedxml refuses any DTD while parsing, whatever the document's encoding (a byte pattern
    checked beforehand misses a UTF-16 body), so no entity is ever expanded or fetched."""
    raw = body.encode() if isinstance(body, str) else body
    if not raw.strip():
        raise Rejected(400, "empty body")
    try:
        root = fromstring(raw, forbid_dtd=True)
    except DefusedXmlException:
        raise Rejected(400, "XML declares a DTD or entity") from None
    except ParseError as exc:
        raise Rejected(400, f"malformed XML: {exc}") from None
    except (ValueError, LookupError) as exc:  # an encoding expat cannot read (UTF-16LE, UTF-32, ...)
        raise Rejected(400, f"unreadable XML encoding: {exc}") from None
    if root.tag != "xml" or len(root) == 0:
        raise Rejected(400, "root element is not <xml> with fields")
    return {child.tag: child.text or "" if len(child) == 0 else child for child in root}


@dataclass(frozen=True)
class Envelope:
    fields: dict
    encrypted: bool


class _Frames(PrpCrypto):
    """wechatpy's AES framing of a message, built once (WeChatCrypto builds a cipher for every message).
    The 16 random bytes that lead each message come from `secrets`: they stand in for CBC's fixed IV."""

    def get_random_string(self) -> str:
        return secrets.token_hex(8)


class Codec:
    """Opens requests and seals replies for one account's token, AES key and appid."""

    def __init__(self, token: str, aes_key: str | None, appid: str) -> None:
        self.token, self.appid = token, appid
        self.frames = _Frames(base64.b64decode(aes_key + "=")) if aes_key else None

    def open(self, params: dict[str, str], body: bytes) -> Envelope:
        outer = parse_xml(body)
        if params.get("encrypt_type", "raw").lower() != "aes":
            return Envelope(outer, encrypted=False)
        if self.frames is None:
            if outer.get("MsgType"):  # compatible mode: the plaintext fields are there too
                return Envelope(outer, encrypted=False)
            raise Rejected(400, "encrypted message but WECHAT_AES_KEY is not set")
        encrypted = outer.get("Encrypt")
        if not isinstance(encrypted, str):
            raise Rejected(400, "encrypt_type=aes without an <Encrypt> field")
        expected = sha1_signature(self.token, params.get("timestamp", ""), params.get("nonce", ""), encrypted)
        if not hmac.compare_digest(expected.encode(), params.get("msg_signature", "").lower().encode()):
            raise Rejected(403, "msg_signature mismatch")
        try:
            plain = self.frames.decrypt(encrypted, self.appid)
        except InvalidAppIdException:
            raise Rejected(400, "ciphertext is for another appid") from None
        except Exception as exc:  # noqa: BLE001 - any undecryptable ciphertext is the sender's fault
            raise Rejected(400, f"cannot decrypt: {type(exc).__name__}") from None
        return Envelope(parse_xml(plain), encrypted=True)

    def seal(self, reply_xml: str, encrypted: bool) -> str:
        """The reply as it goes back: encrypted and signed when the request was."""
        if not encrypted or self.frames is None:
            return reply_xml
        sealed = self.frames.encrypt(reply_xml, self.appid).decode()
        timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
        return (f"<xml><Encrypt><![CDATA[{sealed}]]></Encrypt><MsgSignature><![CDATA["
                f"{sha1_signature(self.token, timestamp, nonce, sealed)}]]></MsgSignature>"
                f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>")


def xml_text(text: str) -> str:
    """`text` as it can sit in a CDATA section: control characters (which XML 1.0 forbids) dropped, and
    `]]>` split across two sections (wechatpy writes every value as `<![CDATA[...]]>` unescaped).
    Stored text may still hold controls: rows written before input refused them."""
    return strip_control(text).replace("]]>", "]]]]><![CDATA[>")


def render(answer: Answer, *, to: str, account: str) -> str:
    """The passive reply XML for an answer (text is cut to what WeChat shows); well-formed whatever
    the stored text holds."""
    to, account = xml_text(to), xml_text(account)
    if answer.articles:
        reply = ArticlesReply(source=account, target=to)
        for a in answer.articles[:8]:
            reply.add_article({"title": xml_text(a.title), "description": xml_text(a.description),
                               "url": xml_text(a.url), "image": xml_text(a.image)})
        return reply.render()
    return TextReply(source=account, target=to, content=xml_text(cut(strip_control(answer.text)))).render()
