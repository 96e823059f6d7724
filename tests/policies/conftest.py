"""Fixtures for the policy library tests."""
from __future__ import annotations

from datetime import date

import pytest

from policies import search, service
from policies.schemas import InterpretationUpdate, PolicyCreate
from subscriptions import service as subscriptions

FULL = {"background": "依据", "goals": "目标", "main_content": "主要内容文字", "keywords": "关键词",
        "scope": "范围", "standards": "标准", "benefits": "举措", "changes": "差异"}


@pytest.fixture
def seeded(session):
    """A session with the shipped topics and tags."""
    subscriptions.seed_reference_data(session=session)
    return session


def make_policy(session, *, title="稳岗返还政策", doc_number="葫人社发〔2024〕1号", interpretation=FULL,
                on=date(2024, 8, 1), **fields):
    policy = service.create_policy(session=session, policy_in=PolicyCreate(title=title, doc_number=doc_number,
                                                                           **fields), actor_id=None, on=on)
    if interpretation:
        service.set_interpretation(session=session, policy=policy,
                                   interpretation_in=InterpretationUpdate(**interpretation))
    return policy


@pytest.fixture
def fresh_search():
    """The search index of this process forgotten before and after the test."""
    search.reset()
    yield search
    search.reset()
