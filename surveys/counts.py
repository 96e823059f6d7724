"""Each survey's answers counted as they come: a row per question and distinct answer (and segment cell,
for the questions cross-tabulated) with how many completed responses gave it, raised in the transaction
that writes the response. The results then read a few thousand rows whatever the number of responses,
where counting from the responses means reading and parsing every one of them (about a second at 50,000
on PostgreSQL, several on a busy machine). `recount` rebuilds a survey's rows from its responses, with
the same one pass over them the results used to make."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import String, case, cast, delete, false, func, insert, select, text, true
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from surveys.definition import Definition, Rating, SingleChoice
from surveys.definition import parse as parse_definition
from surveys.models import Survey, SurveyAnswerCount, SurveyResponse

CELLS = ("industry_section", "park_id", "size")
_t = SurveyAnswerCount.__table__


def crossed(question) -> bool:
    """Whether a question's answers are cross-tabulated by segment cell (choices and scales)."""
    return isinstance(question, SingleChoice | Rating)


def _row(survey_id: int, name: str, value: Any, cells: tuple, n: int) -> dict[str, Any]:
    raw = json.dumps(value, ensure_ascii=False, sort_keys=True)
    digest = hashlib.sha1(json.dumps([raw, *cells], ensure_ascii=False).encode()).hexdigest()
    return {"survey_id": survey_id, "question": name, "digest": digest, "value": raw,
            **dict(zip(CELLS, cells, strict=True)), "n": n}


# a completion's rows in one statement on PostgreSQL, as arrays so one prepared plan serves any number of
# them: a statement a row took 14 ms a completion on the loaded bench machine, this one 2-3 ms
_UNNEST = text("""
    INSERT INTO survey_answer_count AS c (survey_id, question, digest, value, industry_section, park_id, size, n)
    SELECT :survey_id, * FROM unnest(CAST(:question AS text[]), CAST(:digest AS text[]), CAST(:value AS text[]),
                                     CAST(:industry_section AS text[]), CAST(:park_id AS int[]),
                                     CAST(:size AS text[]), CAST(:n AS int[]))
    ON CONFLICT (survey_id, question, digest) DO UPDATE SET n = c.n + excluded.n""")


def _add(session: Session, survey_id: int, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE n = n + the new count (SQLite, in process, takes them one by one)."""
    if session.get_bind().dialect.name == "postgresql":
        columns = ("question", "digest", "value", *CELLS, "n")
        session.execute(_UNNEST, {"survey_id": survey_id, **{c: [r[c] for r in rows] for c in columns}})
        return
    stmt = sqlite.insert(_t)
    session.execute(stmt.on_conflict_do_update(index_elements=["survey_id", "question", "digest"],
                                               set_={"n": _t.c.n + stmt.excluded.n}), rows)


def count(*, session: Session, survey_id: int, definition: Definition, answers: Mapping[str, Any],
          cells: Mapping[str, Any]) -> None:
    """Count one completed response's answers (the caller writes the response in the same transaction)."""
    rows = []
    for _, q in definition.questions():
        value = answers.get(q.name)
        if value is not None:
            rows.append(_row(survey_id, q.name, value,
                             tuple(cells.get(c) for c in CELLS) if crossed(q) else (None,) * len(CELLS), 1))
    if rows:
        # in key order, so concurrent completions lock the rows they share in the same order (no deadlock)
        _add(session, survey_id, sorted(rows, key=lambda r: (r["question"], r["digest"])))


def answer_counts(session: Session, survey_id: int, names: list[str], crossed: list[str]) -> Iterator[tuple]:
    """(question, answer, section, park, size, responses) for each distinct answer to a question in
    `names`, in one pass over the responses; the cells are None but for the questions in `crossed`."""
    postgres = session.get_bind().dialect.name == "postgresql"
    # a function in FROM sees the row before it (implicitly LATERAL on PostgreSQL, as on SQLite)
    each = func.json_each(SurveyResponse.answers).table_valued("key", "value", *([] if postgres else ["type"]))
    each = each.alias("a")
    if postgres:
        value = cast(each.c.value, String)
    else:  # SQLite's json_each gives scalars as SQL values, objects and arrays as JSON text
        value = case((each.c.type.in_(("object", "array")), each.c.value), else_=func.json_quote(each.c.value))
    cells = [getattr(SurveyResponse, c) for c in CELLS]
    distinct = (select(each.c.key.label("key"), value.label("value"), *cells, func.count().label("n"))
                .select_from(SurveyResponse).join(each, true())
                .where(SurveyResponse.survey_id == survey_id, each.c.key.in_(names))
                .group_by(each.c.key, value, *cells).subquery())
    # the cells are summed away for the questions not cross-tabulated, on the few rows grouped already
    is_crossed = distinct.c.key.in_(crossed) if crossed else false()
    keys = [distinct.c.key, distinct.c.value, *[case((is_crossed, distinct.c[c])) for c in CELLS]]
    for name, raw, *rest, n in session.execute(select(*keys, func.sum(distinct.c.n)).group_by(*keys)):
        yield name, json.loads(raw), *rest, int(n)


def recount(*, session: Session, survey_id: int) -> None:
    """A survey's counts made again from its responses (for responses written in bulk, and the upgrade)."""
    definition = parse_definition(session.scalar(select(Survey.definition).where(Survey.id == survey_id)))
    questions = [q for _, q in definition.questions()]
    rows: dict[str, dict[str, Any]] = {}
    names, crossing = [q.name for q in questions], [q.name for q in questions if crossed(q)]
    for name, value, *cells, n in answer_counts(session, survey_id, names, crossing):
        if value is None:
            continue
        row = _row(survey_id, name, value, tuple(cells), n)
        if row["digest"] in rows:  # the same answer written two ways (spacing in the JSON)
            rows[row["digest"]]["n"] += n
        else:
            rows[row["digest"]] = row
    session.execute(delete(SurveyAnswerCount).where(SurveyAnswerCount.survey_id == survey_id))
    made = list(rows.values())
    for i in range(0, len(made), 5000):
        session.execute(insert(SurveyAnswerCount), made[i:i + 5000])


def counted(session: Session, survey_id: int) -> Iterator[tuple]:
    """(question, answer, section, park, size, responses) for each row counted for the survey."""
    query = select(_t.c.question, _t.c.value, *[_t.c[c] for c in CELLS], _t.c.n).where(_t.c.survey_id == survey_id)
    loads = json.loads
    for name, raw, *rest, n in session.connection().execute(query):  # Core: no ORM work per row
        yield name, loads(raw), *rest, n
