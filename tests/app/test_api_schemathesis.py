"""Schemathesis against /api/v1/openapi.json, through the WSGI app with a valid token: for every operation a
bounded number of generated requests; none may answer 5xx (TESTING re-raises, so a crash fails here too),
and every answer must match the documented status codes, content types and schemas."""
from __future__ import annotations

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.app.test_api import make_token

EXAMPLES = 25  # per operation: the ~20 operations stay well under a minute
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_api_conforms_to_its_openapi_document(app: Flask) -> None:
    token = make_token(app, "service_desk", "api", "alerts")  # the service desk may do most things
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        conforms()
