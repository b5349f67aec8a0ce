"""Cisco's official Webex Wholesale spec against our server (issue 16): schemathesis generates requests for every
operation of Cisco's OpenAPI (tests/contract/wholesale-openapi.json, a copy of
shared/reference/webex-openapi/wholesale-openapi.json), sends them to our app at /v1 with a real partner token,
and holds every response to Cisco's schemas: never a 5xx, every status declared for the operation, the content
type and headers declared, every body valid. Where Cisco's spec contradicts itself the exception is written down
in fuzz_support.SPEC_EXCEPTIONS with its reason (docs/API_DECISIONS.md).

Cases are of four kinds (fuzz_support.case_strategy): as generated, negative data, generated with our real ids
(template, customers, subscribers, reports) put in, and realistic requests with some fields left generated, so
creates, updates and deletes succeed too; every operation starts with one fully realistic request and must
answer 2xx at least once. `bench/fuzz.py` runs the same with many more examples."""

import json

import pytest
import schemathesis

from fuzz_support import CISCO_SPEC, Tally, build_world, examples, fuzz_operations, record

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cisco_schema(app):
    schema = schemathesis.openapi.from_path(CISCO_SPEC)
    schema.config.update(base_url="http://localhost/v1")  # Webex's base is https://webexapis.com/v1
    schema.app = app
    return schema


def test_the_copy_is_cisco_s_spec():
    from pathlib import Path

    shared = Path("/work/shared/reference/webex-openapi/wholesale-openapi.json")
    if shared.exists():
        assert json.loads(shared.read_text()) == json.loads(CISCO_SPEC.read_text())


def test_cisco_spec_against_our_server(cisco_schema, client, db):
    world = build_world(client, db, "Cisco fuzz")
    operations = [result.ok() for result in cisco_schema.get_all_operations()]
    assert len(operations) == 18  # every operation of Cisco's spec (SOURCE.txt: 18 operations, 10 paths)
    tally = Tally("cisco")
    fuzz_operations(operations, world, tally, examples(8))
    summary = tally.summary()
    record("spec", **summary)
    print(json.dumps({k: v for k, v in summary.items() if k != "examples"}))
    assert not tally.server_errors, "\n".join(tally.server_errors[:10])
    assert not tally.violations, "\n".join(tally.violations[:10])
    assert summary["operations"] == 18
    assert not summary["without_2xx"], summary["without_2xx"]


def test_the_checks_bite(cisco_schema):
    """A harness that never fails proves nothing: an undeclared status, a body off Cisco's schema and a 5xx are
    each counted."""
    import httpx

    from fuzz_support import check_response

    operation = cisco_schema["/wholesale/customers/{customerId}"]["GET"]
    case = operation.Case(path_parameters={"customerId": "x"})
    request = httpx.Request("GET", "http://localhost/v1/wholesale/customers/x")
    tally = Tally("cisco")
    for status, body in ((200, {"id": "x", "status": "sleeping"}), (418, {}), (503, {})):
        check_response(tally, case, httpx.Response(status, json=body, request=request))
    assert len(tally.server_errors) == 1
    assert any("sleeping" in v for v in tally.violations), tally.violations
    assert any("418" in v for v in tally.violations), tally.violations
