"""Schemathesis over the app's own `/openapi.json`: every operation, signed in as each staff role, answers
no 500 and only what it documents (status, content type, headers, body schema; refusals in core.problems'
shape).

Bounded so that it runs with the suite: a fixed number of generated cases per operation, each as one of the
roles, and a deadline on each case. A finding here gets a focused regression test beside the code it is about
(tests/core/test_bad_input.py).
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from server import app
from staff.models import Role, StaffUser
from tests import live
from tests.conftest import BACKENDS, app_environment, clear_caches, database

EXAMPLES = 16  # per operation, each signed in as one of the roles
DEADLINE = timedelta(seconds=5)  # per case; one slower than this is a finding too
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# PostgreSQL, as deployed, where it answers (the whole run on each backend would double the suite's time)
BACKEND = BACKENDS[-1]

schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def tokens(tmp_path_factory):
    """The app on a fresh database, WeChat calls going to the sandbox; a bearer token for a staff member
    of each role, at their current token version."""
    from core.db import session_scope
    from staff import service as staff_service
    from staff.security import issue_token

    with (database(BACKEND, tmp_path_factory.mktemp("fuzz")) as url, pytest.MonkeyPatch.context() as mp,
          app_environment(url, mp) as env, live.sandbox(env) as (base, _state)):
        mp.setenv("WECHAT_API_BASE", base)
        clear_caches()
        with TestClient(app):  # the lifespan: migrations, search warm-up
            with session_scope() as s:
                users = {role: staff_service.create_user(session=s, username=f"fuzz-{role.value}",
                                                         password="Fuzz-pass-12345", role=role) for role in Role}
            ids = {role: user.id for role, user in users.items()}

            def current(role: Role) -> str:  # a case may sign out (which revokes the role's earlier tokens)
                with session_scope() as s:
                    user = s.get(StaffUser, ids[role])
                    return issue_token(user.id, role.value, user.token_version)

            yield current


@schema.parametrize()
@schema.given(role=st.sampled_from(list(Role)))
@settings(max_examples=EXAMPLES, deadline=DEADLINE, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_documented(case, role, tokens):
    case.call_and_validate(headers={"Authorization": f"Bearer {tokens(role)}"}, checks=CHECKS)
