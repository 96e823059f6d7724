"""`核验企业`: a follower confirms a binding by the last 4 digits of the enterprise's contact phone on record.

The binding dialog asks the same right after binding; staff can verify instead (the API's queue)."""
from __future__ import annotations

from bot import dialogs, service
from core.db import session_scope
from core.redis import get_redis
from subscriptions import verification
from subscriptions.models import Enterprise

MEANS = ("“已核验”表示已确认您是该企业的联系人：部分只面向已核验企业联系人的推送和意见征集，"
         "核验后才会发给您。")
ASK = "请回复贵企业登记的联系电话后4位完成核验；回复“跳过”则由工作人员核验。"
SKIP = frozenset({"跳过", "以后", "稍后"})


def after_binding(state: dialogs.State, enterprise: Enterprise, reply: str) -> dialogs.Turn:
    """The binding dialog's last reply, followed by the check when there is a contact phone on record."""
    if verification.contact_digits(enterprise) is None:
        return dialogs.Turn(f"{reply}\n绑定待核验：{MEANS}工作人员确认后即为已核验。")
    state.data["check_id"] = enterprise.id
    return dialogs.Turn(f"{reply}\n绑定待核验：{MEANS}\n{ASK}", "check")


def start_check(openid: str) -> str:
    with session_scope() as session:
        follower = service.ensure_follower(session=session, openid=openid)
        if not follower.enterprises:
            return "您还没有绑定企业。回复“绑定企业”进行绑定。"
        pending = [(e.id, e.name, verification.contact_digits(e) is not None)
                   for e in verification.unverified_for(session=session, follower_id=follower.id)]
    if not pending:
        return "您绑定的企业都已核验。"
    checkable = [(eid, name) for eid, name, has_phone in pending if has_phone]
    waiting = "、".join(f"“{name}”" for _, name, has_phone in pending if not has_phone)
    note = f"{waiting}没有登记联系电话，将由工作人员核验。" if waiting else ""
    if not checkable:
        return note + MEANS
    eid, name = checkable[0]
    return dialogs.begin(openid, CHECK, step="check", data={"check_id": eid}, reply=(
        note + f"核验“{name}”：{ASK}"))


def check(state: dialogs.State, text: str) -> dialogs.Turn:
    if text.strip() in SKIP:
        return dialogs.Turn("好的，将由工作人员核验。您也可以随时回复“核验企业”再次核验。")
    with session_scope() as session:
        follower = service.ensure_follower(session=session, openid=state.openid)
        try:
            result = verification.check_contact(session=session, redis_client=get_redis(),
                                                follower_id=follower.id, enterprise_id=state.data["check_id"],
                                                answer=text)
        except verification.NotBound:
            return dialogs.Turn("您已解绑该企业，无需核验。")
    if result.outcome is verification.Check.verified:
        return dialogs.Turn("核验通过，绑定已核验。")
    if result.outcome is verification.Check.wrong and result.tries_left > 0:
        return dialogs.Turn(f"与登记的联系电话后4位不符。今天还可再试 {result.tries_left} 次，"
                            "或回复“跳过”由工作人员核验。", "check")
    if result.outcome is verification.Check.no_contact:
        return dialogs.Turn("该企业没有登记联系电话，将由工作人员核验。")
    return dialogs.Turn("今天的核验次数已用完，请明天再回复“核验企业”，或等待工作人员核验。")


CHECK = dialogs.register(dialogs.Dialog("check", "核验企业", {"check": check}))
