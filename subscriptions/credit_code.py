"""统一社会信用代码 (unified social credit code) checks per GB 32100-2015.

The reasons are shown to users in the chat, so they say what is wrong and, for a wrong check
character, what it should be.
"""
from __future__ import annotations

import unicodedata

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
_VALUE = {c: i for i, c in enumerate(CHARSET)}


class InvalidCreditCode(ValueError):
    """A code that fails GB 32100-2015; `zh` and `en` say why, `expected` is the right check character."""

    def __init__(self, zh: str, en: str, *, expected: str | None = None) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en
        self.expected = expected


def normalize(raw: str) -> str:
    """Full-width to half-width, spaces removed, upper case: what people paste from documents."""
    text = unicodedata.normalize("NFKC", raw)
    return "".join(text.split()).upper()


def check_character(first17: str) -> str:
    """The 18th character for the first 17 (all from CHARSET)."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def validate(raw: str) -> str:
    """Return the normalized code, or raise InvalidCreditCode with the reason."""
    code = normalize(raw)
    if len(code) != LENGTH:
        raise InvalidCreditCode(
            f"统一社会信用代码应为18位，这里是{len(code)}位",
            f"a unified social credit code has 18 characters, this one has {len(code)}")
    for pos, char in enumerate(code, start=1):
        if char not in _VALUE:
            hint = "（代码中不使用 I、O、S、V、Z）" if char in "IOSVZ" else ""
            raise InvalidCreditCode(
                f"第{pos}位“{char}”不是统一社会信用代码使用的字符{hint}",
                f"character {pos} '{char}' is not allowed in a unified social credit code"
                + (" (I, O, S, V and Z are never used)" if hint else ""))
    expected = check_character(code[:17])
    if code[17] != expected:
        raise InvalidCreditCode(
            f"校验位不对：按前17位计算，第18位应为“{expected}”，这里是“{code[17]}”，请核对代码",
            f"wrong check character: from the first 17 characters the 18th should be "
            f"'{expected}', not '{code[17]}'; please check the code",
            expected=expected)
    return code


def is_valid(raw: str) -> bool:
    try:
        validate(raw)
    except InvalidCreditCode:
        return False
    return True


def complete(first17: str) -> str:
    """A valid code from 17 characters (tests, fixtures and benchmarks)."""
    first17 = normalize(first17)
    return first17 + check_character(first17)
