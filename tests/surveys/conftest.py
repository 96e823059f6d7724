"""Fixtures for survey tests: staff, followers with bound enterprises, and surveys taken through approval."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from core.db import utcnow
from staff.models import Role
from subscriptions.models import Enterprise, EnterpriseBinding, Follower
from surveys import service
from surveys.schemas import SurveyCreate
from tests.push.conftest import make_park, make_staff

DEFINITION = {
    "title": "惠企政策需求调查",
    "pages": [
        {"name": "p1", "elements": [
            {"type": "radiogroup", "name": "know", "title": "您是否了解该政策？", "isRequired": True,
             "choices": [{"value": "yes", "text": "了解"}, {"value": "no", "text": "不了解"}]},
            {"type": "checkbox", "name": "need", "title": "您最需要哪些支持？", "visibleIf": "{know} = 'yes'",
             "choices": ["融资", "用工", "税费"], "showOtherItem": True, "maxSelectedChoices": 2},
        ]},
        {"name": "p2", "elements": [
            {"type": "rating", "name": "score", "title": "总体满意度", "isRequired": True,
             "minRateDescription": "很不满意", "maxRateDescription": "很满意"},
            {"type": "comment", "name": "advice", "title": "其他建议", "maxLength": 200},
        ]},
    ],
    "triggers": [{"type": "complete", "expression": "{know} = 'no'"}],
}


@pytest.fixture
def people(session):
    return {"author": make_staff(session, Role.editor), "reviewer": make_staff(session, Role.reviewer)}


def make_follower(session, *, industry: str | None = "13", size: str | None = "小") -> Follower:
    park = make_park(session)
    follower = Follower(openid=f"o{uuid.uuid4().hex[:20]}", park_id=park.id)
    enterprise = Enterprise(credit_code=uuid.uuid4().hex[:18].upper(), name="测试企业", industry_code=industry,
                            park_id=park.id, size=size)
    session.add_all([follower, enterprise])
    session.flush()
    session.add(EnterpriseBinding(follower_id=follower.id, enterprise_id=enterprise.id))
    session.flush()
    return follower


def open_survey(session, people, **values):
    values.setdefault("title", "需求调查")
    values.setdefault("definition", DEFINITION)
    values.setdefault("closes_at", utcnow() + timedelta(days=7))
    values.setdefault("public", True)
    survey = service.create(session=session, survey_in=SurveyCreate(**values), author=people["author"])
    service.submit(session=session, survey=survey)
    service.approve(session=session, survey=survey, reviewer=people["reviewer"])
    service.open_survey(session=session, survey=survey)
    return survey
