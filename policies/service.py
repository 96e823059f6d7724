"""Policies and their interpretations: create, change (every change kept as a revision), status by date."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from policies import content  # noqa: F401 - bumps the content version after commits
from policies.models import (
    DATED,
    PARTS,
    STATUS_LABELS,
    Interpretation,
    Policy,
    PolicyRevision,
    PolicyStatus,
    policy_topic,
)
from policies.schemas import InterpretationUpdate, PolicyCreate, PolicyUpdate
from subscriptions.models import EnterpriseTag, Park, Topic

# Policy dates are calendar days where the government sits.
TIMEZONE = ZoneInfo("Asia/Shanghai")
_LINKS = {"topics": (Topic, "主题"), "parks": (Park, "园区"), "tags": (EnterpriseTag, "企业标签")}
_MEDIA = ("image_url", "video_url")


class PolicyError(ValueError):
    """A change to the policy library that cannot be made; the message (Chinese) says why, and `field`
    names the input it is about ("" for none), so a form can show it there."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def today() -> date:
    return datetime.now(TIMEZONE).date()


def dated_status(*, issued_on: date | None, effective_on: date | None, expires_on: date | None,
                 on: date) -> PolicyStatus:
    """The status the dates give on day `on`: expired after the expiry date (the last day in force),
    pending before the effective date (or the issue date when no effective date is given)."""
    if expires_on is not None and on > expires_on:
        return PolicyStatus.expired
    start = effective_on or issued_on
    if start is not None and on < start:
        return PolicyStatus.pending
    return PolicyStatus.in_force


def status_note(policy: Policy) -> str:
    """A warning to show with a policy that is not in force; "" when it is."""
    match policy.status:
        case PolicyStatus.in_force:
            return ""
        case PolicyStatus.revised if policy.superseded_by is not None:
            successor = policy.superseded_by
            number = f"（{successor.doc_number}）" if successor.doc_number else ""
            return f"该政策已被《{successor.title}》{number}修订"
        case PolicyStatus.pending:
            start = policy.effective_on or policy.issued_on
            return f"该政策自{_cn_date(start)}起施行，目前尚未生效" if start else "该政策尚未施行"
        case PolicyStatus.expired if policy.expires_on is not None:
            return f"该政策已于{_cn_date(policy.expires_on)}到期失效"
        case _:
            return f"该政策{STATUS_LABELS[policy.status]}"


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


# --- reading -------------------------------------------------------------------------------------

def get_policy(*, session: Session, policy_id: int) -> Policy | None:
    return session.get(Policy, policy_id)


def get_by_number(*, session: Session, doc_number: str) -> Policy | None:
    return session.scalar(select(Policy).where(Policy.doc_number == doc_number))


def _filtered(q: str | None, status: PolicyStatus | None, topic_id: int | None = None,
              issuer: str | None = None) -> Select[tuple[Policy]]:
    stmt = select(Policy)
    if q and q.strip():
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Policy.title.ilike(like), Policy.doc_number.ilike(like)))
    if status is not None:
        stmt = stmt.where(Policy.status == status)
    if topic_id is not None:
        stmt = stmt.where(Policy.id.in_(select(policy_topic.c.policy_id).where(policy_topic.c.topic_id == topic_id)))
    if issuer is not None:
        stmt = stmt.where(Policy.issuer == issuer)
    return stmt


def _count(session: Session, stmt: Select[tuple[Policy]]) -> int:
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def list_policies(*, session: Session, q: str | None = None, status: PolicyStatus | None = None,
                  limit: int = 50, offset: int = 0) -> tuple[int, list[Policy]]:
    """Policies newest issue first, filtered by a text in the title or document number and by status;
    returns the total count and one page."""
    stmt = _filtered(q, status)
    page = session.scalars(stmt.order_by(Policy.issued_on.desc().nulls_last(), Policy.id.desc())
                           .limit(limit).offset(offset))
    return _count(session, stmt), list(page)


def page_policies(*, session: Session, q: str | None = None, status: PolicyStatus | None = None,
                  topic_id: int | None = None, issuer: str | None = None, limit: int = 50,
                  before_id: int | None = None) -> tuple[int, list[Policy]]:
    """Policies newest first by id, filtered as `list_policies` and by topic and issuing department; the
    total and one page after `before_id` (the last id of the previous page), interpretations loaded."""
    stmt = _filtered(q, status, topic_id, issuer)
    total = _count(session, stmt)
    if before_id is not None:
        stmt = stmt.where(Policy.id < before_id)
    page = session.scalars(stmt.options(selectinload(Policy.interpretation))
                           .order_by(Policy.id.desc()).limit(limit))
    return total, list(page)


def issuers(*, session: Session) -> list[tuple[str, int]]:
    """Each issuing department and its number of policies."""
    rows = session.execute(select(Policy.issuer, func.count()).group_by(Policy.issuer).order_by(Policy.issuer))
    return [(name, n) for name, n in rows]


def history(*, session: Session, policy_id: int) -> list[PolicyRevision]:
    """Every change to the policy and its interpretation, newest first."""
    return list(session.scalars(select(PolicyRevision).where(PolicyRevision.policy_id == policy_id)
                                .order_by(PolicyRevision.id.desc())))


def revision_states(*, session: Session, policy: Policy) -> list[tuple[PolicyRevision, dict[str, Any]]]:
    """Each revision, newest first, with the policy and its interpretation as that revision left them.
    Replayed back from today's values, so the states hold for fields older than the first revision too."""
    state = {**_snapshot(policy), **_interp_snapshot(policy.interpretation)}
    states = []
    for revision in history(session=session, policy_id=policy.id):
        states.append((revision, dict(state)))
        for field, (old, _new) in revision.changes.items():
            state[field] = old
    return states


def resolve_names(*, session: Session, kind: str, names: list[str]) -> tuple[list[Any], list[str]]:
    """Topic, park or tag rows (`kind` topics/parks/tags) for names, in id order (as the relationships load
    them); and the names that match none."""
    model, _label = _LINKS[kind]
    found = {row.name: row for row in session.scalars(select(model).where(model.name.in_(names)))} if names else {}
    rows = sorted({found[n].id: found[n] for n in names if n in found}.values(), key=lambda r: r.id)
    return rows, [n for n in names if n not in found]


# --- writing -------------------------------------------------------------------------------------

def _snapshot(policy: Policy) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        return v.isoformat() if isinstance(v, date) else v.value if isinstance(v, PolicyStatus) else v

    fields = ("title", "doc_number", "issuer", "issued_on", "effective_on", "expires_on", "status",
              "superseded_by_id", "body", "industries", "source_url")
    snap = {f: plain(getattr(policy, f)) for f in fields}
    snap["industries"] = list(policy.industries or [])
    for kind in _LINKS:
        snap[kind] = [row.name for row in getattr(policy, kind)]
    return snap


def _interp_snapshot(interp: Interpretation | None) -> dict[str, Any]:
    return {f: (getattr(interp, f) if interp else None) for f in (*PARTS, *_MEDIA)}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _record(session: Session, policy: Policy, action: str, changes: dict[str, Any], actor_id: int | None,
            via: str) -> None:
    if changes:
        session.add(PolicyRevision(policy_id=policy.id, action=action, changes=changes, actor_id=actor_id, via=via))


def _apply(session: Session, policy: Policy, values: dict[str, Any], on: date) -> None:
    """Set the given fields, links and status on `policy`, keeping status and successor consistent."""
    values = dict(values)
    requested = values.pop("status", None)
    successor_given = "superseded_by_id" in values
    successor_id = values.pop("superseded_by_id", None)
    for kind, (_model, label) in _LINKS.items():
        if kind in values:
            rows, unknown = resolve_names(session=session, kind=kind, names=values.pop(kind) or [])
            if unknown:
                raise PolicyError(f"{label}“{'、'.join(unknown)}”不存在", field=kind)
            setattr(policy, kind, rows)
    if "doc_number" in values:
        number = (values["doc_number"] or "").strip() or None
        other = get_by_number(session=session, doc_number=number) if number else None
        if other is not None and other is not policy:
            raise PolicyError(f"文号“{number}”已被政策 {other.id}《{other.title}》使用", field="doc_number")
        values["doc_number"] = number
    for field, value in values.items():
        setattr(policy, field, value)
    start = policy.effective_on or policy.issued_on
    if policy.expires_on is not None and start is not None and policy.expires_on < start:
        raise PolicyError("失效日期早于施行日期", field="expires_on")

    if successor_given and successor_id is not None:
        _check_successor(session, policy, successor_id)
    if requested is None and successor_given and (successor_id is not None or policy.status is PolicyStatus.revised):
        requested = PolicyStatus.revised
    if requested is PolicyStatus.revised:
        if successor_id is None and (successor_given or policy.superseded_by_id is None):
            raise PolicyError("“已修订”的政策须指明修订后的政策（superseded_by_id / 修订后文号）",
                              field="superseded_by_id")
        if successor_given:
            policy.superseded_by_id = successor_id
        policy.status = PolicyStatus.revised
        return
    if successor_given and successor_id is not None:
        raise PolicyError(f"指明了修订后的政策，状态却是“{STATUS_LABELS[requested]}”；修订后的政策只用于“已修订”",
                          field="superseded_by_id")
    if requested is PolicyStatus.repealed:
        policy.status, policy.superseded_by_id = PolicyStatus.repealed, None
    elif requested is not None or policy.status is None or policy.status in DATED:
        # in force, pending and expired follow the dates; asking for one of them reinstates a policy
        policy.status = dated_status(issued_on=policy.issued_on, effective_on=policy.effective_on,
                                     expires_on=policy.expires_on, on=on)
        policy.superseded_by_id = None


def _check_successor(session: Session, policy: Policy, successor_id: int) -> None:
    successor = session.get(Policy, successor_id)
    if successor is None:
        raise PolicyError(f"修订后的政策 {successor_id} 不存在", field="superseded_by_id")
    seen = {policy.id} if policy.id is not None else set()
    node: Policy | None = successor
    while node is not None:
        if node is policy or node.id in seen:
            raise PolicyError("政策不能被自身或其后续版本修订（修订链成环）", field="superseded_by_id")
        seen.add(node.id)
        node = node.superseded_by


def create_policy(*, session: Session, policy_in: PolicyCreate, actor_id: int | None = None, via: str = "api",
                  on: date | None = None) -> Policy:
    """A new policy, its status from the dates unless given as revised or repealed."""
    policy = Policy(title="", industries=[])
    values = policy_in.model_dump()
    if values["status"] is None:
        values.pop("status")
    if values["superseded_by_id"] is None:
        values.pop("superseded_by_id")
    _apply(session, policy, values, on or today())
    session.add(policy)
    session.flush()
    _record(session, policy, "policy.create", _diff({}, _snapshot(policy)), actor_id, via)
    session.flush()
    return policy


def update_policy(*, session: Session, policy: Policy, policy_in: PolicyUpdate, actor_id: int | None = None,
                  via: str = "api", on: date | None = None) -> dict[str, list[Any]]:
    """Change the fields given; returns the changes (field -> [old, new]), empty when nothing changed."""
    before = _snapshot(policy)
    _apply(session, policy, policy_in.model_dump(exclude_unset=True), on or today())
    changes = _diff(before, _snapshot(policy))
    if changes:
        _record(session, policy, "policy.update", changes, actor_id, via)
    session.flush()
    return changes


def delete_policy(*, session: Session, policy: Policy) -> None:
    """Remove a policy with its interpretation and history; policies it revised lose their link."""
    session.delete(policy)
    session.flush()


def set_interpretation(*, session: Session, policy: Policy, interpretation_in: InterpretationUpdate,
                       actor_id: int | None = None, via: str = "api") -> dict[str, list[Any]]:
    """Set the given parts (making the interpretation if the policy has none); returns the changes."""
    values = interpretation_in.model_dump(exclude_unset=True)
    before = _interp_snapshot(policy.interpretation)
    if policy.interpretation is None:
        if not any(values.values()):
            return {}
        policy.interpretation = Interpretation(**{p: "" for p in PARTS})
    interp = policy.interpretation
    for field, value in values.items():
        if field in PARTS:
            value = (value or "").strip()
        elif value is not None:
            value = value.strip() or None
        setattr(interp, field, value)
    changes = _diff(before, _interp_snapshot(interp))
    if changes:
        _record(session, policy, "interpretation.update", changes, actor_id, via)
    session.flush()
    return changes


def refresh_statuses(*, session: Session, on: date) -> list[tuple[Policy, PolicyStatus, PolicyStatus]]:
    """Move every dated policy to the status its dates give on day `on` (revised and repealed ones stay);
    each move is recorded as a revision. Returns (policy, old, new) for each move."""
    moved = []
    for policy in session.scalars(select(Policy).where(Policy.status.in_(list(DATED))).order_by(Policy.id)):
        new = dated_status(issued_on=policy.issued_on, effective_on=policy.effective_on,
                           expires_on=policy.expires_on, on=on)
        if new is not policy.status:
            moved.append((policy, policy.status, new))
            _record(session, policy, "status", {"status": [policy.status.value, new.value]}, None, "schedule")
            policy.status = new
    session.flush()
    return moved
