"""Helpers shared by test modules (importable as `helpers`)."""

import re
import time
import uuid
from collections.abc import Callable
from typing import Any


def customer_body(template_id: str, **overrides: Any) -> dict[str, Any]:
    """A valid create body (meetings + calling, US address) with overrides merged in."""
    ext = uuid.uuid4().hex[:10]
    body: dict[str, Any] = {
        "provisioningId": template_id,
        "packages": ["webex_meetings", "webex_calling"],
        "externalId": f"ext-{ext}",
        "address": {
            "addressLine1": "771 Alder Drive",
            "city": "Milpitas",
            "stateOrProvince": "CA",
            "zipOrPostalCode": "95035",
            "country": "US",
        },
        "customerInfo": {"name": f"Pizza {ext}", "primaryEmail": f"admin-{ext}@example.com", "language": "en_us"},
        "provisioningParameters": {
            "calling": {
                "location": {
                    "name": "Head Office",
                    "address": {
                        "addressLine1": "771 Alder Drive",
                        "city": "Milpitas",
                        "stateOrProvince": "CA",
                        "country": "US",
                    },
                    "timezone": "America/Los_Angeles",
                    "language": "en_us",
                }
            }
        },
    }
    body.update(overrides)
    return body


def wait_for(
    fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 20.0, interval: float = 0.05
) -> Any:
    """Poll until a condition holds; return the last value (fails the test on timeout)."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting; last value: {value!r}")
        time.sleep(interval)
        value = fetch()
    return value


def partner_admin(org_id: str):
    """The principal of a partner admin of `org_id`, as a request's token resolves it (for service-level tests)."""
    from wholesale.identity.roles import Role
    from wholesale.identity.schemas import Principal

    return Principal(token_id="test", org_id=org_id, role=Role.PARTNER_ADMIN, scopes=frozenset(), partner_org_id=org_id)


def without_ids(text: str) -> str:
    """The text with every id-shaped run (base64 ids, UUIDs, hashes: 20+ characters of [A-Za-z0-9_-]) replaced by
    <id>, so a test looking for a short secret ("SDN", "12345") cannot find it by chance inside a random id."""
    return re.sub(r"[A-Za-z0-9_-]{20,}", "<id>", text)


def assert_error_body(response, status: int) -> dict[str, Any]:
    """Check the Webex error body and the TrackingID header; return the body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message", "errors", "trackingId"}, body
    assert isinstance(body["message"], str) and body["message"]
    assert body["errors"] and all(set(e) == {"description", "errorCode"} for e in body["errors"]), body
    assert all(isinstance(e["errorCode"], int) and e["description"] for e in body["errors"])
    assert body["trackingId"] == response.headers["trackingid"]
    return body


_SPEC: dict[str, Any] | None = None


def validate_against_spec(instance: Any, schema_name: str) -> None:
    """Validate a response body against a schema of Cisco's published wholesale OpenAPI file (tests/contract)."""
    import json
    from pathlib import Path

    import jsonschema

    global _SPEC
    if _SPEC is None:
        _SPEC = json.loads((Path(__file__).parent / "contract" / "wholesale-openapi.json").read_text())
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": _SPEC["components"]}
    jsonschema.Draft7Validator(schema).validate(instance)


def fuzz_operation(operation, headers: dict[str, str]) -> None:
    """25 generated cases of one schemathesis operation: never a 5xx, and every error in the Webex error body."""
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

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


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(web, path: str = "/portal/signin") -> str:
    """The CSRF token the portal gave this cookie jar (any portal page carries it; the sign-in page by default)."""
    return CSRF.search(web.get(path).text).group(1)


def portal_sign_in(web, token: str) -> str:
    """Sign in to the portal with an API token (the developers' way in); return the CSRF token for form posts."""
    csrf = csrf_of(web)
    response = web.post("/portal/signin", data={"csrf": csrf, "token": token})
    assert response.status_code == 303, response.text
    fresh = csrf_of(web)
    assert fresh != csrf  # rotated at sign-in
    return fresh
