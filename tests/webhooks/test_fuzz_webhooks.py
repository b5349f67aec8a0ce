"""Schemathesis over /v1/webhooks: no generated request makes a 5xx (the suite-wide fuzz leaves webhooks out: a
generated targetUrl would be resolved by DNS)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.slow


def fuzz(operation, headers: dict[str, str]) -> None:
    """25 generated cases of one operation: never a 5xx, every error in the Webex error body."""
    label = operation.label

    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error])
        assert response.status_code < 500, (label, response.text)
        if response.status_code >= 400:
            assert set(response.json()) == {"message", "errors", "trackingId"}, (label, response.text)

    check()


def test_no_server_errors(app, client, make_partner):
    partner = make_partner()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="^/v1/webhooks")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7
    for operation in operations:
        fuzz(operation, partner.headers)
