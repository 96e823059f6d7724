"""A survey's results, in one pass over its responses: per question counts and shares, mean and median for
scales and numbers, NPS, free text's most frequent terms, cross-tabs by industry section, park and size,
response rates and drop-off from the recipient rows, responses per day. For an anonymous survey a cell
with fewer than `MIN_CELL` responses is left out, so a small group's answers cannot be told apart."""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from policies import text as policy_text
from subscriptions.models import Park
from surveys.definition import Definition, Matrix, MultipleChoice, Ranking, Rating, SingleChoice, Text
from surveys.definition import parse as parse_definition
from surveys.models import RecipientStatus, Survey, SurveyRecipient, SurveyResponse

MIN_CELL = 5
CELLS = ("industry_section", "park_id", "size")
TOP_TERMS = 20
TERMS_FROM = 5000  # distinct free-text answers cut into words for the frequent terms


def responses(session: Session, survey_id: int, batch: int = 5000) -> Iterator[tuple]:
    """(answers, day, section, park, size) for each response, streamed."""
    query = (select(SurveyResponse.answers, SurveyResponse.day, *[getattr(SurveyResponse, c) for c in CELLS])
             .where(SurveyResponse.survey_id == survey_id).execution_options(yield_per=batch))
    yield from session.execute(query)


def _scale(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"mean": None, "median": None}
    return {"mean": round(statistics.fmean(values), 2), "median": statistics.median(values)}


def _nps(values: list[int]) -> dict[str, Any]:
    n = len(values)
    promoters = sum(v >= 9 for v in values)
    detractors = sum(v <= 6 for v in values)
    return {"promoters": promoters, "passives": n - promoters - detractors, "detractors": detractors,
            "nps": round(100 * (promoters - detractors) / n, 1) if n else None}


class _Tally:
    """Everything counted for one question while the responses stream past."""

    def __init__(self, question) -> None:
        self.q = question
        self.answered = 0
        self.counts: Counter = Counter()
        self.numbers: list[float] = []
        self.texts: list[str] = []
        self.rows: dict[str, Counter] = defaultdict(Counter)
        self.ranks: dict[str, list[int]] = defaultdict(list)
        self.by_cell: dict[str, dict[Any, Counter]] = {c: defaultdict(Counter) for c in CELLS}

    def add(self, value: Any, cells: tuple) -> None:
        if value is None:
            return
        self.answered += 1
        q = self.q
        if isinstance(q, Matrix):
            for row, column in value.items():
                self.rows[row][column] += 1
        elif isinstance(q, Ranking):
            for rank, choice in enumerate(value, 1):
                self.ranks[choice].append(rank)
        elif isinstance(q, MultipleChoice):
            self.counts.update(value)
        elif isinstance(q, SingleChoice | Rating):
            self.counts[value] += 1
            for name, cell in zip(CELLS, cells, strict=True):
                self.by_cell[name][cell][value] += 1
            if isinstance(q, Rating):
                self.numbers.append(value)
        elif isinstance(q, Text) and q.inputType == "number":
            self.numbers.append(value)
        elif isinstance(q, Text) and q.inputType == "date":
            self.counts[str(value)[:7]] += 1  # by month
        else:
            self.texts.append(value)

    def summary(self, anonymous: bool, parks: dict[int, str]) -> dict[str, Any]:
        q, n = self.q, self.answered
        out: dict[str, Any] = {"name": q.name, "title": q.title, "type": q.type, "answered": n}
        if isinstance(q, Matrix):
            out["rows"] = [{"row": r.text, "counts": {c.text: self.rows[r.value][c.value] for c in q.columns}}
                           for r in q.rows]
        elif isinstance(q, Ranking):
            out["mean_rank"] = {c.text: round(statistics.fmean(self.ranks[c.value]), 2) if self.ranks[c.value]
                                else None for c in q.choices}
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
        if isinstance(q, SingleChoice | Rating):
            out["cross"] = {name: _cross(cells, anonymous, parks if name == "park_id" else None)
                            for name, cells in self.by_cell.items()}
        return out


def _terms(texts: list[str]) -> dict[str, Any]:
    """The most frequent words, each counted once per answer. Each distinct text is cut once, and at most
    TERMS_FROM of them (jieba cuts about 200k characters a second: the results stay fast at any size)."""
    distinct = Counter(texts).most_common(TERMS_FROM)
    counts: Counter = Counter()
    for text, times in distinct:
        for term in set(policy_text.terms(text)):
            counts[term] += times
    return {"top": counts.most_common(TOP_TERMS), "from": sum(t for _, t in distinct), "of": len(texts)}


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
    rates: dict[str, list[dict[str, Any]]] = {}
    for name in CELLS:
        column = getattr(SurveyRecipient, name)
        rows = session.execute(select(column, SurveyRecipient.status, func.count())
                               .where(SurveyRecipient.survey_id == survey.id)
                               .group_by(column, SurveyRecipient.status)).all()
        by: dict[Any, Counter] = defaultdict(Counter)
        for cell, status, count in rows:
            by[cell][str(status)] += count
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
    tallies = [_Tally(q) for _, q in definition.questions()]
    per_day: Counter = Counter()
    total = 0
    for answers, day, *cells in responses(session, survey.id):
        total += 1
        per_day[day.isoformat()] += 1
        for tally in tallies:
            tally.add(answers.get(tally.q.name), cells)
    parks = dict(session.execute(select(Park.id, Park.name)).all())
    return {"survey_id": survey.id, "responses": total, "anonymous": survey.anonymous,
            "per_day": dict(sorted(per_day.items())),
            "questions": [t.summary(survey.anonymous, parks) for t in tallies],
            **recipients(session, survey, definition, survey.anonymous, parks)}
