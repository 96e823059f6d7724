"""工作台: what needs attention today: questions asked and handed over, open hand-overs by how long they have
waited, campaigns in flight, open surveys and their response rates; and the last 30 days as charts."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bot import figures as chat_figures
from bot import service as questions
from console import labels
from console.deps import FULL_VIEW, AnyStaff
from console.templating import TZ, render
from core import cache
from core.masking import mask_text
from push import figures as push_figures
from push import service as campaigns
from push.models import CampaignStatus
from staff.deps import DbSession
from surveys import figures as survey_figures

router = APIRouter(prefix="/console", include_in_schema=False)
IN_FLIGHT = (CampaignStatus.submitted, CampaignStatus.approved, CampaignStatus.scheduled,
             CampaignStatus.running, CampaignStatus.paused)
DAYS = 30


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: DbSession, staff: AnyStaff) -> HTMLResponse:
    now = datetime.now(TZ)
    start = datetime.combine(now.date(), time(), TZ)  # today, China time
    today = questions.ask_totals(session=session, since=start, until=start + timedelta(days=1))
    full = staff.can(FULL_VIEW)
    open_ = [(q, q.text if full else mask_text(q.text))
             for q in questions.list_questions(session=session, limit=10, oldest_first=True)]
    flight = [c for status in IN_FLIGHT for c in campaigns.list_campaigns(session=session, status=status, limit=10)]
    return render(request, "dashboard.html", {
        "today": today, "open_questions": open_, "campaigns": flight, "statuses": labels.CAMPAIGN_STATUS,
        "now": now, "ages": chat_figures.open_by_age(session=session, now=now),
        "surveys": survey_figures.open_surveys(session=session),
        "charts": cache.cached(f"dashboard:{start.date()}", lambda: _charts(session, start))}, staff=staff)


def _charts(session: DbSession, today: datetime) -> dict:
    """The last DAYS days, today included: questions by outcome and messages sent and opened, every day."""
    since, until = today - timedelta(days=DAYS - 1), today + timedelta(days=1)
    days = [(since + timedelta(days=n)).strftime("%Y-%m-%d") for n in range(DAYS)]
    asked = chat_figures.asked_by_day(session=session, since=since, until=until)
    sent = push_figures.sent_by_day(session=session, since=since, until=until)

    def series(by_day: dict, key: str, name: str) -> dict:
        return {"name": name, "data": [by_day.get(d, {}).get(key, 0) for d in days]}

    labels_ = [d[5:] for d in days]
    return {"questions": {"type": "line", "rows": labels_,
                          "series": [series(asked, "answered", "自动答复"), series(asked, "handed_over", "转人工")]},
            "messages": {"type": "line", "rows": labels_,
                         "series": [series(sent, "sent", "送达"), series(sent, "opened", "打开")]}}
