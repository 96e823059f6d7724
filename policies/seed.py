"""Demo content for an empty library: the notice PolicyPush grew from, with its interpretation, and the FAQ."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from policies import faq_import, service
from policies.models import FaqEntry, Policy
from policies.schemas import InterpretationUpdate, PolicyCreate

SEED_DIR = Path(__file__).resolve().parent / "data" / "seed"
NOTICE = SEED_DIR / "seed-policy-notice.txt"
NOTICE_POLICY = SEED_DIR / "notice-policy.json"
FAQ = SEED_DIR / "faq-kb.csv"


def notice_body(text: str) -> str:
    """The notice's text without the web page around it: from the salutation to 此件公开发布."""
    lines = [line.strip() for line in text.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("各县"))
    end = next(i for i, line in enumerate(lines) if "此件公开发布" in line)
    return "\n".join(line for line in lines[start:end + 1] if line)


def seed_notice(*, session: Session) -> Policy | None:
    """The demo policy with its interpretation, unless a policy with its document number exists."""
    meta = json.loads(NOTICE_POLICY.read_text(encoding="utf-8"))
    if service.get_by_number(session=session, doc_number=meta["doc_number"]) is not None:
        return None
    interp = meta.pop("interpretation")
    topics, _unknown = service.resolve_names(session=session, kind="topics", names=meta.pop("topics"))
    policy = service.create_policy(
        session=session, via="seed",
        policy_in=PolicyCreate(**meta, topics=[t.name for t in topics],
                               body=notice_body(NOTICE.read_text(encoding="utf-8"))))
    service.set_interpretation(session=session, policy=policy, interpretation_in=InterpretationUpdate(**interp),
                               via="seed")
    return policy


def seed_demo(*, session: Session) -> Iterator[str]:
    """Load what an empty library lacks; yields a line for each thing loaded. Flushes, does not commit."""
    policy = seed_notice(session=session)
    if policy is not None:
        yield f"demo policy: {policy.doc_number} 《{policy.title}》 with its interpretation (/p/{policy.id})"
    if not session.scalar(select(func.count()).select_from(FaqEntry)):
        report = faq_import.import_faq(session=session, path=FAQ)
        yield f"demo FAQ: {report.created} entries from {FAQ.name}"
