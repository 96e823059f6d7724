"""`绑定企业` and `解绑`: a follower says which enterprises they speak for."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from bot import dialogs, pushes, service, verifying
from bot import text as bot_text
from core.db import session_scope
from core.text import CONTROL_MESSAGE, has_control
from subscriptions import credit_code, reference
from subscriptions import service as subs
from subscriptions.models import Enterprise

YES = frozenset({"是", "是的", "确认", "对", "好", "y", "yes"})
NO = frozenset({"否", "不是", "不对", "n", "no"})
SKIP = frozenset({"跳过", "不知道"})
ASK_CODE = "请发送企业的统一社会信用代码（18位，见营业执照）。回复“取消”退出。"


def start_bind(openid: str) -> str:
    return dialogs.begin(openid, BIND, step="code", reply=ASK_CODE)


def _code(state: dialogs.State, text: str) -> dialogs.Turn:
    try:
        code = credit_code.validate(text)
    except credit_code.InvalidCreditCode as exc:
        return dialogs.Turn(f"{exc.zh}。请重新发送统一社会信用代码，或回复“取消”。", "code")
    with session_scope() as session:
        enterprise = subs.get_enterprise_by_credit_code(session=session, code=code)
        follower = service.ensure_follower(session=session, openid=state.openid)
        if enterprise is not None and enterprise.id in {e.id for e in follower.enterprises}:
            return dialogs.Turn(f"您已绑定“{enterprise.name}”，无需重复绑定。")
    state.data["code"] = code
    if enterprise is not None:
        state.data["enterprise_id"] = enterprise.id
        return dialogs.Turn(f"企业名称：{enterprise.name}\n是否绑定该企业？回复“是”确认，回复“否”重新输入代码。",
                            "confirm")
    return dialogs.Turn("系统中还没有这家企业，请发送企业名称（与营业执照一致）。", "name")


def _confirm(state: dialogs.State, text: str) -> dialogs.Turn:
    answer = text.strip().lower()
    if answer in YES:
        with session_scope() as session:
            follower = service.ensure_follower(session=session, openid=state.openid)
            subs.bind_enterprise(session=session, follower_id=follower.id,
                                 enterprise_id=state.data["enterprise_id"])
            enterprise = session.get(Enterprise, state.data["enterprise_id"])
            paused = pushes.is_paused(follower)
        return verifying.after_binding(state, enterprise, f"已绑定“{enterprise.name}”。" + _pushes_note(paused))
    if answer in NO:
        return dialogs.Turn(ASK_CODE, "code")
    return dialogs.Turn("请回复“是”确认绑定，回复“否”重新输入代码，或回复“取消”。", "confirm")


def _name(state: dialogs.State, text: str) -> dialogs.Turn:
    name = text.strip()
    if has_control(name):
        return dialogs.Turn(f"企业名称{CONTROL_MESSAGE}。请重新发送企业全称，或回复“取消”。", "name")
    if not 2 <= len(name) <= 200:
        return dialogs.Turn("请发送企业全称（2-200个字），或回复“取消”。", "name")
    state.data["name"] = name
    return dialogs.Turn(_industry_prompt(), "industry")


def _industry_prompt() -> str:
    sections = "\n".join(f"{s.code} {s.name}" for s in reference.sections().values())
    return ("请回复企业所属行业（国民经济行业分类）：门类字母，或两位大类代码（如 13 农副食品加工业）。"
            f"不清楚请回复“跳过”。\n{sections}")


def _industry(state: dialogs.State, text: str) -> dialogs.Turn:
    answer = text.strip().upper()
    if answer in SKIP:
        state.data["industry"] = None
        return _to_park(state)
    section = reference.sections().get(answer)
    if section is not None:
        lines = [f"{d} {reference.divisions()[d].name}" for d in section.divisions]
        return dialogs.Turn(bot_text.cut(f"“{section.name}”下请回复两位大类代码：\n" + "\n".join(lines),
                                         bot_text.REPLY_BYTES), "industry")
    try:
        state.data["industry"] = reference.normalize_division(answer)
    except ValueError as exc:
        return dialogs.Turn(f"{exc}。请回复门类字母（A-T）或两位大类代码，或回复“跳过”。", "industry")
    return _to_park(state)


def _park_list(session) -> list[tuple[int, str]]:
    return [(p.id, p.name) for p in subs.list_parks(session=session)]


def _to_park(state: dialogs.State) -> dialogs.Turn:
    with session_scope() as session:
        parks = _park_list(session)
        follower = service.ensure_follower(session=session, openid=state.openid)
        scanned = subs.get_park_by_scene(session=session, scene=follower.qr_scene) if follower.qr_scene else None
    if not parks:
        return _create(state, park_id=None)
    state.data["parks"] = parks
    lines = [f"{n}. {name}" + ("（您扫码的园区）" if scanned and pid == scanned.id else "")
             for n, (pid, name) in enumerate(parks, start=1)]
    return dialogs.Turn(bot_text.cut("请回复企业所在园区的序号，不在园区内请回复 0：\n" + "\n".join(lines),
                                     bot_text.REPLY_BYTES), "park")


def _park(state: dialogs.State, text: str) -> dialogs.Turn:
    parks = state.data["parks"]
    choice = bot_text.number(text)
    if choice is None or choice > len(parks):
        return dialogs.Turn(f"请回复 0-{len(parks)} 之间的序号，或回复“取消”。", "park")
    return _create(state, park_id=parks[choice - 1][0] if choice else None)


def _create(state: dialogs.State, *, park_id: int | None) -> dialogs.Turn:
    data = state.data
    try:
        with session_scope() as session:
            enterprise = subs.create_enterprise(session=session, code=data["code"], name=data["name"],
                                                industry_code=data["industry"], park_id=park_id,
                                                self_registered=True)
            follower = service.ensure_follower(session=session, openid=state.openid)
            subs.bind_enterprise(session=session, follower_id=follower.id, enterprise_id=enterprise.id)
            paused = pushes.is_paused(follower)
    except IntegrityError:  # someone registered the same code meanwhile: bind to that one
        with session_scope() as session:
            enterprise = subs.get_enterprise_by_credit_code(session=session, code=data["code"])
            follower = service.ensure_follower(session=session, openid=state.openid)
            subs.bind_enterprise(session=session, follower_id=follower.id, enterprise_id=enterprise.id)
            paused = pushes.is_paused(follower)
    return verifying.after_binding(state, enterprise, f"已登记并绑定“{enterprise.name}”。" + _pushes_note(paused))


def _pushes_note(paused: bool) -> str:
    if paused:
        return "您已暂停接收全部推送，与贵企业相关的政策也不会推送给您；回复“恢复推送”恢复。"
    return "今后与贵企业相关的政策会推送给您。"


BIND = dialogs.register(dialogs.Dialog("bind", "绑定企业", {
    "code": _code, "confirm": _confirm, "name": _name, "industry": _industry, "park": _park,
    "check": verifying.check}))


# --- unbinding ---------------------------------------------------------------------------------

def start_unbind(openid: str) -> str:
    with session_scope() as session:
        follower = service.ensure_follower(session=session, openid=openid)
        bound = [(e.id, e.name) for e in subs.list_bound_enterprises(session=session, follower_id=follower.id)]
    if not bound:
        return "您还没有绑定企业。回复“绑定企业”进行绑定。"
    lines = [f"{n}. {name}" for n, (_, name) in enumerate(bound, start=1)]
    return dialogs.begin(openid, UNBIND, step="pick", data={"bound": bound}, reply=(
        "请回复要解绑的企业序号（回复“全部”解绑所有）：\n" + "\n".join(lines) + "\n回复“取消”退出。"))


def _unbind(state: dialogs.State, text: str) -> dialogs.Turn:
    bound = state.data["bound"]
    choice = bot_text.number(text)
    if text.strip() == "全部":
        chosen = bound
    elif choice is not None and 1 <= choice <= len(bound):
        chosen = [bound[choice - 1]]
    else:
        return dialogs.Turn(f"请回复 1-{len(bound)} 之间的序号或“全部”，或回复“取消”。", "pick")
    with session_scope() as session:
        follower = service.ensure_follower(session=session, openid=state.openid)
        for enterprise_id, _ in chosen:
            subs.unbind_enterprise(session=session, follower_id=follower.id, enterprise_id=enterprise_id)
    return dialogs.Turn("已解绑：" + "、".join(name for _, name in chosen) + "。")


UNBIND = dialogs.register(dialogs.Dialog("unbind", "解绑企业", {"pick": _unbind}))
