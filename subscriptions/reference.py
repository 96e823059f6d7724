"""Fixed reference data shipped in `data/`: GB/T 4754-2017 industries and enterprise size classes.

Loaded once per process. Topics and enterprise tags also start from files here, but they are database
rows that staff edit (see `service.seed_reference_data`).
"""
from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True, slots=True)
class Division:
    """A two-digit 大类 of GB/T 4754-2017."""

    code: str
    name: str
    section: str


@dataclass(frozen=True, slots=True)
class Section:
    """A 门类 (A-T) of GB/T 4754-2017 and the divisions in it."""

    code: str
    name: str
    divisions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SizeClass:
    code: str  # 大 / 中 / 小 / 微
    name: str  # 大型企业 ...


def _rows(filename: str) -> list[dict[str, str]]:
    with open(DATA_DIR / filename, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def divisions() -> dict[str, Division]:
    return {r["code"]: Division(r["code"], r["name"], r["section"])
            for r in _rows("gbt4754_2017.csv") if r["level"] == "division"}


@cache
def sections() -> dict[str, Section]:
    by_section: dict[str, list[str]] = {}
    for d in divisions().values():
        by_section.setdefault(d.section, []).append(d.code)
    return {r["code"]: Section(r["code"], r["name"], tuple(by_section[r["code"]]))
            for r in _rows("gbt4754_2017.csv") if r["level"] == "section"}


@cache
def size_classes() -> dict[str, SizeClass]:
    return {r["code"]: SizeClass(r["code"], r["name"]) for r in _rows("sizes.csv")}


def seed_rows(filename: str) -> list[dict[str, str]]:
    """Rows of a seed file (`topics.csv`, `enterprise_tags.csv`)."""
    return _rows(filename)


_NAME_NOISE = re.compile(r"[\s、，,]")


def _name_key(text: str) -> str:
    """A name as compared: full-width folded (NFKC), spaces and list commas gone (农林牧渔业 = 农、林、牧、渔业)."""
    return _NAME_NOISE.sub("", unicodedata.normalize("NFKC", text))


@cache
def _by_name() -> dict[str, str]:
    """Chinese name -> code: divisions' names to their code, sections' to their letter; where a section and
    one of its divisions share a name (教育, 房地产业), the division."""
    names = {_name_key(s.name): s.code for s in sections().values()}
    names.update({_name_key(d.name): d.code for d in divisions().values()})
    return names


def industry_named(text: str) -> str | None:
    """The code (section letter or division) a GB/T 4754-2017 name stands for, or None."""
    return _by_name().get(_name_key(text))


def expand_industry(code: str) -> tuple[str, ...]:
    """The divisions an industry filter code stands for: a section letter (A-T) or a division (01-97).

    Raises KeyError for anything else.
    """
    code = code.strip().upper()
    if code in sections():
        return sections()[code].divisions
    if code in divisions():
        return (code,)
    raise KeyError(code)


def industry_codes(raw: list[str]) -> list[str]:
    """Industry filter codes (section letters or divisions, or their Chinese names) checked, upper-cased and
    deduplicated. Raises ValueError naming the first unknown code."""
    out: list[str] = []
    for item in raw:
        code = industry_named(item) or unicodedata.normalize("NFKC", item).strip().upper()
        try:
            expand_industry(code)
        except KeyError:
            raise ValueError(f"unknown industry code {item!r}: use a GB/T 4754-2017 section letter A-T or a "
                             f"two-digit division 01-97 / 未知行业代码“{item}”") from None
        if code not in out:
            out.append(code)
    return out


def industry_label(division: str | None) -> str:
    """`C 13 农副食品加工业`-style label for display; empty for None."""
    if not division:
        return ""
    d = divisions().get(division)
    return f"{d.section}{d.code} {d.name}" if d else division


def normalize_division(raw: object) -> str:
    """The division a spreadsheet's 行业代码 cell names.

    Accepts a division (`13`), a group or class below it (`135`, `1351`), with or without the section
    letter (`C13`, `C1351`), numbers Excel stripped of their leading zero (`1` -> `01`, `111` -> `0111`),
    full-width characters, and a division's Chinese name (`农副食品加工业`). Raises ValueError with a Chinese
    message when the cell names no division (a section's name is not enough: it holds several).
    """
    if isinstance(raw, bool):
        raise ValueError(f"行业代码“{raw}”不是国民经济行业分类代码")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int):
        text = str(raw)
        text = text.zfill(2) if len(text) <= 2 else text.zfill(4)
    else:
        text = unicodedata.normalize("NFKC", str(raw)).strip().upper()
        named = industry_named(text)
        if named in divisions():
            return named
        if named in sections():
            section = sections()[named]
            example = divisions()[section.divisions[0]]
            raise ValueError(f"“{raw}”是门类 {section.code}，包含多个大类，请填两位大类代码或大类名称"
                             f"（如 {example.code} 或 {example.name}）")
    letter = ""
    if text[:1].isalpha():
        letter, text = text[0], text[1:]
    if not text:
        if letter in sections():
            raise ValueError(f"行业代码“{letter}”只是门类，请填两位大类代码（如 {sections()[letter].divisions[0]}）")
        raise ValueError(f"行业代码“{raw}”不是国民经济行业分类代码")
    if not text.isdigit() or len(text) not in (2, 3, 4):
        raise ValueError(f"行业代码“{raw}”不是国民经济行业分类代码（应为两位大类代码，如 13）")
    division = divisions().get(text[:2])
    if division is None:
        raise ValueError(f"行业代码“{raw}”不在 GB/T 4754-2017 的大类 01-97 中")
    if letter and letter != division.section:
        raise ValueError(f"行业代码“{raw}”的门类字母应为 {division.section}")
    return division.code


def normalize_size(raw: object) -> str:
    """大/中/小/微 from `大`, `大型`, `大型企业`; ValueError otherwise."""
    text = str(raw).strip()
    for code, size in size_classes().items():
        if text in (code, size.name, size.name.removesuffix("企业")):
            return code
    raise ValueError(f"规模“{text}”应为 大、中、小、微 之一")
