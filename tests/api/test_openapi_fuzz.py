"""Every API operation, fuzzed from its own OpenAPI schema with schemathesis: whatever is sent,
the answer is never a 5xx, and its status code is one the schema documents.

Requests go to the WSGI app in this process, authenticated as an admin of the account named in
the path (a random slug would stop every request at the 404). Replies are not waited for: no
worker runs here, and the fuzzing is about input, not about answers.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from accounts.auth import api_token_create
from accounts.models import Membership
from conversations import api as chat_api
from conversations.selectors import reply_wait

# Bounded so the whole run stays well under two minutes on two cores.
EXAMPLES_PER_OPERATION = 8


# Loaded while the tests are collected: the schema page reads no database.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def keep_the_test_connection(db):
    # As Django's test client does: the handler must not close the connection that holds the
    # test's transaction at the end of each request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded_token(make_user, account) -> str:
    admin = make_user(account, role=Membership.Role.ADMIN, username="fuzz-admin")
    _, raw = api_token_create(user=admin, name="fuzz")
    return raw


@pytest.fixture(autouse=True)
def no_waiting_for_replies(monkeypatch):
    monkeypatch.setattr(
        chat_api, "reply_wait", lambda *, reply_id, timeout: reply_wait(reply_id=reply_id, timeout=0)
    )


# One test per operation, named by it ("GET /api/..."): schemathesis's own parametrize gives every
# operation the same test id, and pytest-xdist (which `make test` uses) runs one test per id, so
# only one operation of 65 would have been fuzzed.
OPERATIONS = {result.ok().label: result.ok() for result in schema.get_all_operations()}


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_input_gives_a_server_error_or_an_undocumented_status(label, seeded_token, account):
    @given(case=OPERATIONS[label].as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,  # the same inputs on every run: a failure here is reproducible
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case) -> None:
        if case.path_parameters and "account" in case.path_parameters:
            case.path_parameters["account"] = account.slug
        case.call_and_validate(
            headers={"Authorization": f"Bearer {seeded_token}"},
            checks=[not_a_server_error, status_code_conformance],
        )

    fuzz()
