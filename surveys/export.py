"""A survey's responses as .xlsx (through core.xlsx, streamed): 答卷 with labels, 答卷代码 with codes, one
column per question (and per matrix row, and for 其他's text), the 编码表 (codebook) and the 汇总 (summary).
Free text is masked for roles that read personal data masked."""
from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import xlsx
from core.masking import mask_text
from subscriptions import reference
from subscriptions.models import Park
from surveys import results
from surveys.definition import OTHER, Matrix, MultipleChoice, Ranking, SingleChoice
from surveys.definition import parse as parse_definition
from surveys.models import Survey

Column = tuple[str, Callable[[dict[str, Any]], Any], Callable[[dict[str, Any]], Any]]  # header, label, code


def _join(values) -> str:
    return "；".join(str(v) for v in values)


def _columns(definition) -> list[Column]:
    out: list[Column] = []
    for _, q in definition.questions():
        name = q.name
        if isinstance(q, Matrix):
            rows, cols = {r.value: r.text for r in q.rows}, {c.value: c.text for c in q.columns}
            for row, text in rows.items():
                out.append((f"{name}.{row} {q.title}：{text}",
                            lambda a, n=name, r=row: cols.get((a.get(n) or {}).get(r), (a.get(n) or {}).get(r)),
                            lambda a, n=name, r=row: (a.get(n) or {}).get(r)))
        elif isinstance(q, SingleChoice | MultipleChoice | Ranking):
            labels = {c.value: c.text for c in q.choices} | {OTHER: getattr(q, "otherText", "其他")}

            def label(a, n=name, labels=labels):
                v = a.get(n)
                return _join(labels.get(x, x) for x in v) if isinstance(v, list) else labels.get(v, v)

            def code(a, n=name):
                v = a.get(n)
                return _join(v) if isinstance(v, list) else v

            out.append((f"{name} {q.title}", label, code))
            if getattr(q, "showOtherItem", False):
                other = (f"{name}-其他", lambda a, n=name: a.get(f"{n}-Comment"), lambda a, n=name: a.get(f"{n}-Comment"))
                out.append(other)
        else:
            out.append((f"{name} {q.title}", lambda a, n=name: a.get(n), lambda a, n=name: a.get(n)))
    return out


def workbook_bytes(*, session: Session, survey: Survey, masked: bool) -> bytes:
    definition = parse_definition(survey.definition)
    columns = _columns(definition)
    parks = dict(session.execute(select(Park.id, Park.name)).all())
    sections = reference.sections()
    book = xlsx.streamed()
    labelled, coded = book.create_sheet("答卷"), book.create_sheet("答卷代码")
    head = ["序号", "日期", "行业门类", "园区", "企业规模"]
    xlsx.append(labelled, head + [c[0] for c in columns])
    xlsx.append(coded, head + [c[0].split(" ")[0] for c in columns])
    text = mask_text if masked else (lambda v: v)
    for n, (answers, day, section, park_id, size) in enumerate(results.responses(session, survey.id), 1):
        cells = [n, day.isoformat(), sections[section].name if section in sections else section,
                 parks.get(park_id, ""), size]
        xlsx.append(labelled, cells + [_text(label(answers), text) for _, label, _ in columns])
        xlsx.append(coded, cells + [_text(code(answers), text) for _, _, code in columns])
    codebook = book.create_sheet("编码表")
    xlsx.append(codebook, ["问题", "题目", "题型", "代码", "含义"])
    for _, q in definition.questions():
        xlsx.append(codebook, [q.name, q.title, q.type, "", ""])
        for item in [*getattr(q, "choices", []), *getattr(q, "columns", [])]:
            xlsx.append(codebook, ["", "", "", item.value, item.text])
        if getattr(q, "showOtherItem", False):
            xlsx.append(codebook, ["", "", "", OTHER, q.otherText])
    summary = book.create_sheet("汇总")
    computed = results.compute(session=session, survey=survey)
    xlsx.append(summary, ["答卷数", computed["responses"]])
    for item in computed["questions"]:
        xlsx.append(summary, [])
        xlsx.append(summary, [f"{item['name']} {item['title']}", f"作答 {item['answered']}"])
        for option in item.get("options", []):
            xlsx.append(summary, [option["label"], option["count"], option["share"]])
        for value, count in item.get("distribution", {}).items():
            xlsx.append(summary, [value, count])
        if item.get("mean") is not None:
            xlsx.append(summary, ["平均值", item["mean"], "中位数", item["median"]])
        if item.get("nps"):
            xlsx.append(summary, ["NPS", item["nps"]["nps"]])
        for term, count in item.get("terms", {}).get("top", []):
            xlsx.append(summary, [_text(term, text), count])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text(value: Any, mask: Callable[[Any], Any]) -> Any:
    return mask(value) if isinstance(value, str) else value
