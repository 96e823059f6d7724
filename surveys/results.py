"""A survey's results: per question counts and shares, mean and median for scales and numbers, NPS, free
text's most frequent terms, cross-tabs by industry section, park and size, response rates and drop-off
from the recipient rows, responses per day. For an anonymous survey a cell with fewer than `MIN_CELL`
responses is left out, so a small group's answers cannot be told apart.

The answers are counted as responses complete (surveys.counts): each distinct answer of each question
(and, for the questions cross-tabulated, of each segment cell) is read once with how many gave it, so
the work here grows with the distinct answers, not with the responses."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from policies import text as policy_text
from subscriptions.models import Park
from surveys import counts
from surveys.counts import CELLS
from surveys.definition import Definition, Matrix, MultipleChoice, Ranking, Rating, SingleChoice, Text
from surveys.definition import parse as parse_definition
from surveys.models import RecipientStatus, Survey, SurveyRecipient, SurveyResponse

MIN_CELL = 5
TOP_TERMS = 20
TERMS_FROM = 5000  # distinct free-text answers cut into words for the frequent terms


def responses(session: Session, survey_id: int, batch: int = 5000) -> Iterator[tuple]:
    """(answers, day, section, park, size) for each response, streamed."""
    query = (select(SurveyResponse.answers, SurveyResponse.day, *[getattr(SurveyResponse, c) for c in CELLS])
             .where(SurveyResponse.survey_id == survey_id).execution_options(yield_per=batch))
    yield from session.execute(query)


def _scale(numbers: Counter) -> dict[str, Any]:
    """Mean and median of numbers given as {value: how many gave it}."""
    n = sum(numbers.values())
    if not n:
        return {"mean": None, "median": None}
    ordered = sorted(numbers.items())

    def nth(i: int) -> float:  # the i-th smallest, from 0
        for value, times in ordered:
            if i < times:
                return value
            i -= times
        raise IndexError(i)

    median = nth(n // 2) if n % 2 else (nth(n // 2 - 1) + nth(n // 2)) / 2
    return {"mean": round(math.fsum(v * t for v, t in ordered) / n, 2), "median": median}


def _nps(numbers: Counter) -> dict[str, Any]:
    n = sum(numbers.values())
    promoters = sum(t for v, t in numbers.items() if v >= 9)
    detractors = sum(t for v, t in numbers.items() if v <= 6)
    return {"promoters": promoters, "passives": n - promoters - detractors, "detractors": detractors,
            "nps": round(100 * (promoters - detractors) / n, 1) if n else None}


class _Tally:
    """Everything counted for one question, from its distinct answers and how many gave each."""

    def __init__(self, question) -> None:
        self.q = question
        self.answered = 0
        self.counts: Counter = Counter()
        self.numbers: Counter = Counter()
        self.texts: Counter = Counter()
        self.rows: dict[str, Counter] = defaultdict(Counter)
        self.ranks: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # sum of ranks, times ranked
        self.by_cell: dict[str, dict[Any, Counter]] = {c: defaultdict(Counter) for c in CELLS}

    def add(self, value: Any, cells: tuple, times: int = 1) -> None:
        if value is None:
            return
        self.answered += times
        q = self.q
        if isinstance(q, Matrix):
            for row, column in value.items():
                self.rows[row][column] += times
        elif isinstance(q, Ranking):
            for rank, choice in enumerate(value, 1):
                self.ranks[choice][0] += rank * times
                self.ranks[choice][1] += times
        elif isinstance(q, MultipleChoice):
            for choice in value:
                self.counts[choice] += times
        elif isinstance(q, SingleChoice | Rating):
            self.counts[value] += times
            for name, cell in zip(CELLS, cells, strict=True):
                self.by_cell[name][cell][value] += times
            if isinstance(q, Rating):
                self.numbers[value] += times
        elif isinstance(q, Text) and q.inputType == "number":
            self.numbers[value] += times
        elif isinstance(q, Text) and q.inputType == "date":
            self.counts[str(value)[:7]] += times  # by month
        else:
            self.texts[value] += times

    @property
    def crossed(self) -> bool:
        return counts.crossed(self.q)

    def summary(self, anonymous: bool, parks: dict[int, str]) -> dict[str, Any]:
        q, n = self.q, self.answered
        out: dict[str, Any] = {"name": q.name, "title": q.title, "type": q.type, "answered": n}
        if isinstance(q, Matrix):
            out["rows"] = [{"row": r.text, "counts": {c.text: self.rows[r.value][c.value] for c in q.columns}}
                           for r in q.rows]
        elif isinstance(q, Ranking):
            out["mean_rank"] = {c.text: round(self.ranks[c.value][0] / self.ranks[c.value][1], 2)
                                if self.ranks[c.value][1] else None for c in q.choices}
        elif isinstance(q, SingleChoice | MultipleChoice):
            options = [(c.value, c.text) for c in q.choices] + ([("other", q.otherText)] if q.showOtherItem else [])
            out["options"] = [{"value": v, "label": t, "count": self.counts[v],
                               "share": round(self.counts[v] / n, 4) if n else 0.0} for v, t in options]
        elif isinstance(q, Rating):
            out["distribution"] = {str(v): self.counts[v] for v in range(q.rateMin, q.rateMax + 1)}
            out |= _scale(self.numbers)
            if q.nps:
                out["nps"] = _nps(self.numbers)
        elif isinstance(q, Text) and q.inputType == "number":
            out |= _scale(self.numbers)
        elif isinstance(q, Text) and q.inputType == "date":
            out["by_month"] = dict(sorted(self.counts.items()))
        else:
            out["terms"] = _terms(self.texts)
        if self.crossed:
            out["cross"] = {name: _cross(cells, anonymous, parks if name == "park_id" else None)
                            for name, cells in self.by_cell.items()}
        return out


def _terms(texts: Counter) -> dict[str, Any]:
    """The most frequent words, each counted once per answer. Each distinct text is cut once, and at most
    TERMS_FROM of them (jieba cuts about 200k characters a second: the results stay fast at any size)."""
    distinct = _most_common(texts, TERMS_FROM)
    counts: Counter = Counter()
    for text, times in distinct:
        for term in set(policy_text.terms(text)):
            counts[term] += times
    return {"top": _most_common(counts, TOP_TERMS), "from": sum(t for _, t in distinct), "of": texts.total()}


def _most_common(counts: Counter, n: int) -> list[tuple[str, int]]:
    """Ties in the order of the text, so the same answers always give the same list."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _cross(cells: dict[Any, Counter], anonymous: bool, names: dict[int, str] | None) -> list[dict[str, Any]]:
    out = []
    for cell, counts in sorted(cells.items(), key=lambda kv: (kv[0] is None, str(kv[0]))):
        total = sum(counts.values())
        if anonymous and total < MIN_CELL:
            continue
        label = "未知" if cell is None else names.get(cell, str(cell)) if names is not None else cell
        out.append({"cell": label, "n": total, "counts": {str(k): v for k, v in counts.items()}})
    return out


def recipients(session: Session, survey: Survey, definition: Definition, anonymous: bool,
               parks: dict[int, str]) -> dict[str, Any]:
    """Response rate per segment cell (invited, started, completed) and where started ones stopped."""
    columns = [getattr(SurveyRecipient, c) for c in CELLS]
    rows = session.execute(select(*columns, SurveyRecipient.status, func.count())
                           .where(SurveyRecipient.survey_id == survey.id)
                           .group_by(*columns, SurveyRecipient.status)).all()  # one pass, each cell summed here
    rates: dict[str, list[dict[str, Any]]] = {}
    for i, name in enumerate(CELLS):
        by: dict[Any, Counter] = defaultdict(Counter)
        for *cell, status, count in rows:
            by[cell[i]][str(status)] += count
        cells = []
        for cell, counts in sorted(by.items(), key=lambda kv: (kv[0] is None, str(kv[0]))):
            invited = sum(counts.values())
            if anonymous and counts["completed"] and invited < MIN_CELL:
                continue
            label = "未知" if cell is None else parks.get(cell, str(cell)) if name == "park_id" else cell
            cells.append({"cell": label, "invited": invited, "started": counts["started"] + counts["completed"],
                          "completed": counts["completed"],
                          "rate": round(counts["completed"] / invited, 4) if invited else 0.0})
        rates[name] = cells
    stopped = dict(session.execute(
        select(SurveyRecipient.last_question, func.count())
        .where(SurveyRecipient.survey_id == survey.id, SurveyRecipient.status == RecipientStatus.started)
        .group_by(SurveyRecipient.last_question)).all())
    order = [q.name for _, q in definition.questions()]
    return {"rates": rates, "drop_off": [{"after": name, "stopped": stopped[name]} for name in order
                                         if stopped.get(name)]}


def compute(*, session: Session, survey: Survey) -> dict[str, Any]:
    definition = parse_definition(survey.definition)
    tallies = {q.name: _Tally(q) for _, q in definition.questions()}
    for name, value, *cells, times in counts.counted(session, survey.id):
        if name in tallies:
            tallies[name].add(value, cells, times)
    per_day = {day.isoformat(): count for day, count in session.execute(
        select(SurveyResponse.day, func.count()).where(SurveyResponse.survey_id == survey.id)
        .group_by(SurveyResponse.day).order_by(SurveyResponse.day))}
    parks = dict(session.execute(select(Park.id, Park.name)).all())
    return {"survey_id": survey.id, "responses": sum(per_day.values()), "anonymous": survey.anonymous,
            "per_day": per_day, "questions": [t.summary(survey.anonymous, parks) for t in tallies.values()],
            **recipients(session, survey, definition, survey.anonymous, parks)}
