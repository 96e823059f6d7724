"""工作台: what needs attention today: questions asked and handed over, open hand-overs, campaigns in flight."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bot import service as questions
from console import labels
from console.deps import AnyStaff
from console.templating import TZ, render
from push import service as campaigns
from push.models import CampaignStatus
from staff.deps import DbSession

router = APIRouter(prefix="/console", include_in_schema=False)
IN_FLIGHT = (CampaignStatus.submitted, CampaignStatus.approved, CampaignStatus.scheduled,
             CampaignStatus.running, CampaignStatus.paused)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: DbSession, staff: AnyStaff) -> HTMLResponse:
    start = datetime.combine(datetime.now(TZ).date(), time(), TZ)  # today, China time
    today = questions.ask_totals(session=session, since=start, until=start + timedelta(days=1))
    open_ = questions.list_questions(session=session, limit=10)
    flight = [c for status in IN_FLIGHT for c in campaigns.list_campaigns(session=session, status=status, limit=10)]
    return render(request, "dashboard.html", {"today": today, "open_questions": open_, "campaigns": flight,
                                              "statuses": labels.CAMPAIGN_STATUS, "now": datetime.now(TZ)},
                  staff=staff)
