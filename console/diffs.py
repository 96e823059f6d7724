"""What changed between two versions of a record, field by field: each field's text cut into pieces kept,
deleted and inserted (difflib by line, then by character inside changed lines: Chinese has no spaces)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

CONTEXT = 40  # characters of unchanged text kept on each side of a change
CHARACTER_LIMIT = 4000  # changed blocks longer than this are shown as lines, not characters (quadratic)


@dataclass(frozen=True, slots=True)
class FieldDiff:
    label: str
    pieces: list[tuple[str, str]]  # (equal | delete | insert | gap, text)


def _opcodes(old: str, new: str, out: list[tuple[str, str]]) -> None:
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(("equal", old[i1:i2]))
            continue
        if i2 > i1:
            out.append(("delete", old[i1:i2]))
        if j2 > j1:
            out.append(("insert", new[j1:j2]))


def pieces(old: str, new: str) -> list[tuple[str, str]]:
    """`old` turned into `new`, with long unchanged runs shortened to their ends around a gap."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    raw: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        before, after = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "equal":
            raw.append(("equal", before))
        elif op == "replace" and len(before) + len(after) <= CHARACTER_LIMIT:
            _opcodes(before, after, raw)
        else:
            raw += [p for p in (("delete", before), ("insert", after)) if p[1]]
    return [piece for kind, text in raw for piece in _shortened(kind, text)]


def _shortened(kind: str, text: str) -> list[tuple[str, str]]:
    if kind != "equal" or len(text) <= 3 * CONTEXT:
        return [(kind, text)]
    return [("equal", text[:CONTEXT]), ("gap", f"……（{len(text) - 2 * CONTEXT} 字未改）……"), ("equal", text[-CONTEXT:])]


def changed_fields(before: dict[str, Any], after: dict[str, Any], labels: dict[str, str],
                   show: Callable[[str, Any], str]) -> list[FieldDiff]:
    """The fields (in `labels`' order) whose text, as `show` writes it, differs."""
    found = []
    for field, label in labels.items():
        old, new = show(field, before.get(field)), show(field, after.get(field))
        if old != new:
            found.append(FieldDiff(label, pieces(old, new)))
    return found
