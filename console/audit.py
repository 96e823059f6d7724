"""管理·审计日志 (admins): the audit log with filters by actor, action, object and time, newest first and
paged by id. The filters are the API's own `AuditQuery`; times are read and shown in China time."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from console import forms
from console.deps import Admin
from console.templating import TZ, render
from staff import service
from staff.deps import DbSession
from staff.schemas import AuditQuery

router = APIRouter(prefix="/console/audit", include_in_schema=False)
PAGE = 50
ACTIONS = {
    "auth.sign_in": "登录", "auth.sign_out": "退出登录", "user.create": "创建账号", "role": "角色无权",
    "campaign.create": "新建推送", "campaign.update": "编辑推送", "campaign.test_send": "测试发送",
    "campaign.submit": "提交审核", "campaign.approve": "审核通过", "campaign.reject": "退回修改",
    "campaign.launch": "启动发送", "campaign.pause": "暂停推送", "campaign.resume": "恢复发送",
    "campaign.cancel": "取消推送",
    "policy.create": "新增政策", "policy.update": "编辑政策", "interpretation.update": "编辑解读",
    "policy.status": "变更政策状态",
}
OBJECTS = {"campaign": "推送", "policy": "政策", "faq": "问答", "user": "账号", "enterprise": "企业",
           "enterprise_tag": "企业标签", "park": "园区", "segment": "人群", "topic": "主题", "question": "提问"}


def action_label(action: str) -> str:
    base, refused = (action[: -len(".refused")], True) if action.endswith(".refused") else (action, False)
    label = ACTIONS.get(base, base)
    return f"{label}（被拒绝）" if refused else label


def target_label(target: str | None) -> str:
    if not target:
        return ""
    kind, _, ident = target.partition(":")
    return f"{OBJECTS.get(kind, kind)} #{ident}"


class FilterForm(BaseModel):
    """The filter form as sent: strings, turned into an `AuditQuery` by `_query`."""

    actor_id: str = ""
    action: str = ""
    refused: str = ""
    object_type: str = ""
    object_id: str = ""
    since: str = ""
    until: str = ""
    before_id: str = ""


def _query(form: FilterForm) -> tuple[AuditQuery | None, dict[str, str]]:
    data: dict[str, Any] = {k: v.strip() for k, v in form.model_dump().items() if v.strip()}
    data["refused"] = bool(data.get("refused"))
    errors: dict[str, str] = {}
    for key in ("since", "until"):  # datetime-local inputs: China time
        if key in data:
            try:
                data[key] = datetime.fromisoformat(data[key]).replace(tzinfo=TZ)
            except ValueError:
                data.pop(key)
                errors[key] = "时间格式有误"
    data["limit"] = PAGE + 1
    query, problems = forms.parse(AuditQuery, data)
    return (None if errors else query), {**problems, **errors}


@router.get("", response_class=HTMLResponse)
def audit_log(request: Request, session: DbSession, staff: Admin,
              form: Annotated[FilterForm, Query()]) -> HTMLResponse:
    query, errors = _query(form)
    rows = service.audit_log(session=session, query=query) if query is not None else []
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    filters = {k: v for k, v in form.model_dump().items() if v and k != "before_id"}
    context = {"rows": rows, "errors": errors, "values": form.model_dump(), "filters": filters,
               "next_before": rows[-1][0].id if more else None, "actions": service.audit_actions(session=session),
               "users": service.staff_names(session=session), "objects": OBJECTS, "action_label": action_label,
               "target_label": target_label}
    name = "audit/_rows.html" if request.headers.get("HX-Target") == "audit-rows" else "audit/log.html"
    return render(request, name, context, staff=staff, status_code=422 if errors else 200)
