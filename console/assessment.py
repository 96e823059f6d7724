"""考核: the figures the notice's item 23 (绩效考核) asks of the year, by month and by issuing department:
policies issued and how many with complete interpretations, pushes with their reach and open rate, questions
answered and how long staff took, survey response rates. As tables, charts and an .xlsx report."""
from __future__ import annotations

import io
from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from bot import figures as chat_figures
from console.deps import AnyStaff
from console.templating import TZ, render
from core import cache, xlsx
from policies import figures as policy_figures
from push import figures as push_figures
from staff.deps import DbSession
from staff.uploads import XLSX
from surveys import figures as survey_figures

router = APIRouter(prefix="/console/assessment", include_in_schema=False)
Year = Annotated[int | None, Query(ge=2000, le=2100)]
NO_ISSUER = "（未关联政策）"
MONTH_COLUMNS = [  # (key, heading) of the by-month table and sheet
    ("month", "月份"), ("published", "发布政策"), ("complete", "解读齐全"), ("complete_rate", "解读齐全率"),
    ("campaigns", "推送次数"), ("sent", "送达人次"), ("opened", "打开人次"), ("open_rate", "打开率"),
    ("asked", "咨询"), ("answered", "自动答复"), ("handed_over", "转人工"), ("answered_by_staff", "人工已答"),
    ("median_hours", "人工答复用时中位数（小时）"), ("surveys", "问卷"), ("invited", "邀请人数"),
    ("completed", "完成人数"), ("response_rate", "回收率"),
]
DEPARTMENT_COLUMNS = [("issuer", "发文机关"), *[c for c in MONTH_COLUMNS if c[0] in {
    "published", "complete", "complete_rate", "campaigns", "sent", "opened", "open_rate", "surveys", "invited",
    "completed", "response_rate"}]]
SUMMED = ("published", "complete", "campaigns", "sent", "opened", "surveys", "invited", "completed")


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "complete_rate": _rate(row["complete"], row["published"]),
            "open_rate": _rate(row["opened"], row["sent"]), "response_rate": _rate(row["completed"], row["invited"])}


def figures(session: DbSession, year: int) -> dict[str, Any]:
    """Twelve months and every issuing department of `year` (local time), each with its rates (cached)."""
    return cache.cached(f"assessment:{year}", lambda: _figures(session, year))


def _figures(session: DbSession, year: int) -> dict[str, Any]:
    since = datetime.combine(date(year, 1, 1), time(), TZ)
    until = datetime.combine(date(year + 1, 1, 1), time(), TZ)
    chat = chat_figures.answers_by_month(session=session, since=since, until=until)
    no_questions = {"asked": 0, "answered": 0, "handed_over": 0, "answered_by_staff": 0, "median_hours": None}
    months = {}
    for m in range(1, 13):
        key = f"{year}-{m:02d}"
        months[key] = {"month": key, **dict.fromkeys(SUMMED, 0), **chat.get(key, no_questions)}
    departments: dict[str, dict[str, Any]] = {}
    for rows in (policy_figures.published_by_month(session=session, since=since.date(), until=until.date()),
                 push_figures.reach_by_month(session=session, since=since, until=until),
                 survey_figures.response_rates_by_month(session=session, since=since, until=until)):
        for row in rows:
            issuer = row["issuer"] or NO_ISSUER
            department = departments.setdefault(issuer, {"issuer": issuer, **dict.fromkeys(SUMMED, 0)})
            for key in SUMMED:
                if key in row:
                    months[row["month"]][key] += row[key]
                    department[key] += row[key]
    total = {"month": "全年", **{k: sum(m[k] for m in months.values()) for k in (*SUMMED, *no_questions)
                                 if k != "median_hours"}, "median_hours": None}
    return {"year": year, "months": [_with_rates(m) for m in months.values()], "total": _with_rates(total),
            "departments": [_with_rates(d) for d in sorted(departments.values(), key=lambda d: -d["published"])]}


@router.get("", response_class=HTMLResponse)
def assessment(request: Request, session: DbSession, staff: AnyStaff, year: Year = None) -> HTMLResponse:
    data = figures(session, year or datetime.now(TZ).year)
    months = data["months"]
    charts = {
        "policies": {"rows": [m["month"][5:] + "月" for m in months],
                     "series": [{"name": "发布政策", "data": [m["published"] for m in months]},
                                {"name": "解读齐全", "data": [m["complete"] for m in months]}]},
        "pushes": {"rows": [m["month"][5:] + "月" for m in months],
                   "series": [{"name": "送达人次", "data": [m["sent"] for m in months]},
                              {"name": "打开人次", "data": [m["opened"] for m in months]}]},
        "questions": {"rows": [m["month"][5:] + "月" for m in months],
                      "series": [{"name": "自动答复", "data": [m["answered"] for m in months]},
                                 {"name": "人工已答", "data": [m["answered_by_staff"] for m in months]}]},
    }
    return render(request, "assessment.html", {**data, "charts": charts, "month_columns": MONTH_COLUMNS,
                                               "department_columns": DEPARTMENT_COLUMNS}, staff=staff)


@router.get("/export")
def export(session: DbSession, _staff: AnyStaff, year: Year = None) -> Response:
    data = figures(session, year or datetime.now(TZ).year)
    wb = xlsx.workbook(write_only=True)
    for title, columns, rows in (("按月", MONTH_COLUMNS, [*data["months"], data["total"]]),
                                 ("按发文机关", DEPARTMENT_COLUMNS, data["departments"])):
        ws = wb.create_sheet(title)
        xlsx.append(ws, [heading for _, heading in columns])
        for row in rows:
            xlsx.append(ws, [row[key] for key, _ in columns])
    out = io.BytesIO()
    wb.save(out)
    name = f"assessment-{data['year']}.xlsx"
    return Response(out.getvalue(), media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})
