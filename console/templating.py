"""The console's Jinja2 environment: Chinese labels, Asia/Shanghai times, the navigation by role and
the vendored assets' URLs."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from console import sessions
from console.deps import ADMINS, QUESTION_READERS, READERS, SUBSCRIPTION_READERS, Staff
from staff.models import Role

HERE = Path(__file__).resolve().parent
TZ = ZoneInfo("Asia/Shanghai")  # staff read times in China time whatever the server's zone
VENDOR = {  # package -> folder under static/vendor (VENDOR.md lists version and integrity)
    "bootstrap": "bootstrap-5.3.9",
    "htmx": "htmx.org-2.0.11",
    "htmx-sse": "htmx-ext-sse-2.2.4",  # live progress over server-sent events
    "echarts": "echarts-6.1.0",
    "swagger": "swagger-ui-dist-5.35.0",
    "redoc": "redoc-2.5.4",
    "weui": "weui-2.6.26",  # the survey form's (surveys/form.py links it)
}
ROLE_LABELS = {Role.admin: "管理员", Role.editor: "编辑", Role.reviewer: "审核", Role.analyst: "分析"}
# (label, path, roles that see it)
NAVIGATION = [
    ("工作台", "/console/", READERS),
    ("政策库", "/console/policies", READERS),
    ("知识库", "/console/knowledge", READERS),
    ("人工咨询", "/console/questions", QUESTION_READERS),
    ("企业与粉丝", "/console/enterprises", SUBSCRIPTION_READERS),
    ("分组", "/console/segments", SUBSCRIPTION_READERS),
    ("推送", "/console/campaigns", READERS),
    ("问卷", "/console/surveys", READERS),
    ("绑定核验", "/console/bindings", SUBSCRIPTION_READERS),
    ("考核", "/console/assessment", READERS),
    ("员工账号", "/console/admin/users", ADMINS),
    ("审计日志", "/console/audit", ADMINS),
    ("我的账号", "/console/account", READERS),
]

templates = Jinja2Templates(directory=HERE / "templates")


def keyset_page(rows: list, size: int) -> tuple[list, int | None]:
    """One page of rows fetched as `size + 1` by id: the first `size`, and the id the next page starts
    from (None on the last page)."""
    more = len(rows) > size
    rows = rows[:size]
    return rows, rows[-1].id if more else None


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(TZ).strftime(fmt) if value is not None else ""


def vendor(package: str, path: str) -> str:
    return f"/console/static/vendor/{VENDOR[package]}/{path}"


templates.env.filters["local"] = local_time
templates.env.globals.update(vendor=vendor, role_labels=ROLE_LABELS)


def render(request: Request, name: str, context: dict[str, Any], *, staff: Staff | None = None,
           status_code: int = 200) -> HTMLResponse:
    """A page (or an htmx fragment) with the signed-in staff member, their navigation and flashes."""
    extra: dict[str, Any] = {"staff": staff, "flashes": [], "navigation": []}
    if staff is not None:
        extra["navigation"] = [(label, path) for label, path, roles in NAVIGATION if staff.user.role in roles]
        extra["csrf"] = staff.session.csrf
        if not request.headers.get("HX-Request"):
            extra["flashes"] = sessions.take_flashes(staff.session.token)
    return templates.TemplateResponse(request, name, {**extra, **context}, status_code=status_code)
