"""A Webex Wholesale client generated at test time from Cisco's own spec (wholesale-openapi.json, see SOURCE.txt)
drives a customer through its whole life: create (202 + Location), provisioned, listed, updated, removed.

The client knows nothing of this server: one method per operationId of the spec (`Provision a Wholesale Customer`
becomes `provision_a_wholesale_customer`), path and query parameters as the spec declares them, the request body
checked against the spec's request schema before it is sent, and every response's status checked against the
operation's documented ones and its body against the spec's response schema. Any client generated from the same
spec (openapi-generator, openapi-python-client, ...) speaks to the API the same way; point it at `/v1`.
"""

import json
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from helpers import customer_body, wait_for

SPEC: dict[str, Any] = json.loads((Path(__file__).parent / "wholesale-openapi.json").read_text())
BASE = "/v1"  # Webex's own base is https://webexapis.com/v1


@dataclass(frozen=True)
class Operation:
    """One operation of the spec."""

    operation_id: str
    method: str
    path: str
    path_params: frozenset[str]
    query_params: frozenset[str]
    body_schema: dict[str, Any] | None
    responses: dict[str, dict[str, Any] | None]  # status -> JSON body schema (None: no body documented)


def _json_schema(content: dict[str, Any] | None) -> dict[str, Any] | None:
    return ((content or {}).get("application/json") or {}).get("schema")


def operations(spec: dict[str, Any]) -> dict[str, Operation]:
    """Every operation of the spec by its Python name (the operationId in snake case)."""
    found = {}
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method == "parameters":
                continue
            params = shared + op.get("parameters", [])
            operation = Operation(
                operation_id=op["operationId"],
                method=method.upper(),
                path=path,
                path_params=frozenset(p["name"] for p in params if p["in"] == "path"),
                query_params=frozenset(p["name"] for p in params if p["in"] == "query"),
                body_schema=_json_schema(op.get("requestBody", {}).get("content")),
                responses={status: _json_schema(r.get("content")) for status, r in op["responses"].items()},
            )
            found[re.sub(r"\W+", "_", operation.operation_id.lower()).strip("_")] = operation
    return found


def validate(instance: Any, schema: dict[str, Any]) -> None:
    """Validate against a schema of the spec (its $refs resolve in the spec's components)."""
    jsonschema.Draft7Validator({"allOf": [schema], "components": SPEC["components"]}).validate(instance)


class WholesaleClient:
    """The generated client: `client.<operation>(body=..., **parameters)` returns the httpx response."""

    def __init__(self, http: httpx.Client, token: str):
        self._http = http
        self._headers = {"Authorization": f"Bearer {token}"}
        for name, operation in operations(SPEC).items():
            setattr(self, name, partial(self._call, operation))

    def _call(self, op: Operation, body: Any = None, **params: Any) -> httpx.Response:
        unknown = set(params) - op.path_params - op.query_params
        if unknown or not op.path_params <= set(params):
            raise TypeError(f"{op.operation_id}: path {sorted(op.path_params)}, query {sorted(op.query_params)}")
        if body is not None:
            assert op.body_schema is not None, f"{op.operation_id} takes no body"
            validate(body, op.body_schema)
        path = op.path.format(**{name: params.pop(name) for name in op.path_params})
        response = self._http.request(op.method, BASE + path, params=params or None, json=body, headers=self._headers)
        status = str(response.status_code)
        assert status in op.responses, f"{op.operation_id}: {status} is not a documented response: {response.text}"
        schema = op.responses[status]
        if schema is not None:
            validate(response.json(), schema)
        return response


def test_the_spec_yields_every_customer_operation():
    names = set(operations(SPEC))
    assert {
        "provision_a_wholesale_customer",
        "get_a_wholesale_customer",
        "list_wholesale_customers",
        "update_a_wholesale_customer",
        "remove_a_wholesale_customer",
    } <= names
    assert len(names) == sum(len([m for m in item if m != "parameters"]) for item in SPEC["paths"].values())


def test_a_customer_lifecycle_through_the_generated_client(client, partner):
    api = WholesaleClient(client, partner.token)
    body = customer_body(partner.template_id)

    created = api.provision_a_wholesale_customer(body=body)
    assert created.status_code == 202
    location = created.headers["location"]
    assert location == created.json()["url"] and "/v1/wholesale/customers/" in location
    customer_id = location.rsplit("/", 1)[1]

    def status() -> str:
        return api.get_a_wholesale_customer(customerId=customer_id).json()["status"]

    assert wait_for(status, lambda s: s != "provisioning", timeout=30) == "provisioned"

    listed = api.list_wholesale_customers(externalId=body["externalId"]).json()["items"]
    assert [c["id"] for c in listed] == [customer_id]

    updated = api.update_a_wholesale_customer(
        customerId=customer_id, body={"packages": ["webex_calling", "webex_suite"]}
    )
    assert updated.status_code == 202 and updated.json()["url"].endswith(customer_id)
    assert wait_for(status, lambda s: s != "updating", timeout=30) == "provisioned"
    assert api.get_a_wholesale_customer(customerId=customer_id).json()["packages"] == ["webex_calling", "webex_suite"]

    removed = api.remove_a_wholesale_customer(customerId=customer_id)
    assert removed.status_code == 202
    gone = wait_for(lambda: api.get_a_wholesale_customer(customerId=customer_id), lambda r: r.status_code == 404, 30)
    assert gone.json()["message"]  # the Webex error body
    assert api.list_wholesale_customers(externalId=body["externalId"]).json()["items"] == []


# The billing scenario: create a report, poll it until it is COMPLETED, download its CSV from tempDownloadURL
# (no token), list it, delete it.
def test_the_spec_yields_every_billing_operation():
    assert {
        "list_wholesale_billing_reports",
        "create_a_wholesale_billing_report",
        "get_a_wholesale_billing_report",
        "delete_a_wholesale_billing_report",
    } <= set(operations(SPEC))


def test_a_billing_report_through_the_generated_client(client, partner):
    api = WholesaleClient(client, partner.token)
    body = {"billingStartDate": "2026-01-01", "billingEndDate": "2026-01-31", "type": "PARTNER"}

    created = api.create_a_wholesale_billing_report(body=body)
    assert created.status_code == 200
    report_id = created.json()["id"]

    report = wait_for(
        lambda: api.get_a_wholesale_billing_report(id=report_id).json(), lambda r: r["status"] != "IN_PROGRESS"
    )
    assert report["status"] == "COMPLETED", report
    download = client.get(report["tempDownloadURL"])  # a plain GET: the URL carries its own authorisation
    assert download.status_code == 200
    assert download.text.splitlines()[0].startswith("date,customerId,customerName,customerExternalId,customerOrgId")

    listed = api.list_wholesale_billing_reports(billingStartDate="2026-01-01", type="PARTNER", status="COMPLETED")
    assert [item["id"] for item in listed.json()["items"]] == [report_id]

    assert api.delete_a_wholesale_billing_report(id=report_id).status_code == 204
    assert api.get_a_wholesale_billing_report(id=report_id).status_code == 404
