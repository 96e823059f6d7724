"""Demo content for an empty library: the notice PolicyPush grew from, with its interpretation, and the FAQ.

Their passages' embeddings ship beside them (VECTORS): embedding them takes a core most of a minute, which a
first `policypush run` would otherwise spend before it answers. `python -m policies.seed` writes the file
again after the seed content or the model changes (tests/policies/test_seed.py says when).
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from policies import faq_import, service
from policies.models import FaqEntry, Policy, TextEmbedding
from policies.schemas import InterpretationUpdate, PolicyCreate

SEED_DIR = Path(__file__).resolve().parent / "data" / "seed"
NOTICE = SEED_DIR / "seed-policy-notice.txt"
NOTICE_POLICY = SEED_DIR / "notice-policy.json"
FAQ = SEED_DIR / "faq-kb.csv"
VECTORS = SEED_DIR / "embeddings.npz"  # text_hash -> float16 vector of every passage above


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


def load_vectors(*, session: Session) -> None:
    """Add the shipped vectors the database lacks, so that seeding embeds nothing."""
    if not VECTORS.exists():
        return
    shipped = np.load(VECTORS)
    hashes = [h.decode() for h in shipped["hashes"]]
    have = set(session.scalars(select(TextEmbedding.text_hash)))
    session.add_all(TextEmbedding(text_hash=h, vector=v.tobytes())
                    for h, v in zip(hashes, shipped["vectors"]) if h not in have)
    session.flush()


def seed_demo(*, session: Session) -> Iterator[str]:
    """Load what an empty library lacks; yields a line for each thing loaded. Flushes, does not commit."""
    load_vectors(session=session)
    policy = seed_notice(session=session)
    if policy is not None:
        yield f"demo policy: {policy.doc_number} 《{policy.title}》 with its interpretation (/p/{policy.id})"
    if not session.scalar(select(func.count()).select_from(FaqEntry)):
        report = faq_import.import_faq(session=session, path=FAQ)
        yield f"demo FAQ: {report.created} entries from {FAQ.name}"


def write_vectors() -> None:
    """Seed an empty SQLite database, embedding every passage, and keep its vectors in VECTORS."""
    from sqlalchemy import create_engine

    from core import models

    VECTORS.unlink(missing_ok=True)  # from scratch: only what the seed content has now
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/seed.db")
        models.metadata().create_all(engine)
        with Session(engine) as session:
            for _line in seed_demo(session=session):
                pass
            session.commit()
            rows = session.execute(select(TextEmbedding.text_hash, TextEmbedding.vector)
                                   .order_by(TextEmbedding.text_hash)).all()
        engine.dispose()
    np.savez_compressed(VECTORS, hashes=np.array([h.encode() for h, _ in rows]),
                        vectors=np.stack([np.frombuffer(v, dtype=np.float16) for _, v in rows]))
    print(f"{VECTORS}: {len(rows)} passages")


if __name__ == "__main__":
    write_vectors()
