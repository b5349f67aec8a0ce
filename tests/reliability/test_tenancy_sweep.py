"""Tenancy sweep (issue 16): every operation of our OpenAPI, called by every kind of outsider with partner A's ids,
answers exactly as it does for ids that do not exist: a 4xx, never a byte of A's data, and no way to tell that
A's resource exists. The operations are read from the OpenAPI document, so a new route is swept without a test
being written; a new route with a request body needs one line in BODIES (a body that passes validation, so the
request reaches the tenancy check instead of stopping at a 400 that proves nothing)."""

import base64
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from helpers import customer_body, wait_for
from subscribers_support import sub_body

pytestmark = pytest.mark.slow

CUSTOMERS = "/v1/wholesale/customers"
BULK_ROW = {"package": "webex_meetings", "firstName": "Ada", "lastName": "Lovelace"}

# Operations outside partner tenancy: health, the operators' job probes, telephony domain and sandbox clock, the
# reviewers' platform-wide queue, and the consent link (its secret token is the authorisation; tests/subscribers
# cover it).
NOT_TENANT_SCOPED = re.compile(
    r"^/(healthz|readyz)$|^/v1/(ops|telephony|compliance|sandbox)/|^/v1/subscribers/consent/"
)

# Request bodies that pass validation, with {placeholders} for A's values. Keys are "METHOD path".
BODIES: dict[str, Any] = {
    "POST /v1/wholesale/customers": "{customer on A's org}",
    "POST /v1/wholesale/customers/validate": {"orgId": "{orgId}"},
    "PUT /v1/wholesale/customers/{customerId}": {"packages": ["webex_meetings"]},
    "POST /v1/wholesale/customerTemplates": {"name": "Sweep"},
    "PUT /v1/wholesale/customerTemplates/{templateId}": {"name": "Renamed"},
    "PUT /v1/meetings/sites/{siteId}/defaultCallInNumber": {"number": None},
    "POST /v1/wholesale/subscribers": "{subscriber of A's customer}",
    "POST /v1/wholesale/subscribers/validate": {"customerId": "{customerId}", "email": "{email}"},
    "POST /v1/wholesale/subscribers/bulk": "{bulk rows for A's customer}",
    "PUT /v1/wholesale/subscribers/{subscriberId}": {"packages": ["webex_calling"]},
    "POST /v1/wholesale/billing/reports": {
        "billingStartDate": "2026-01-01",
        "billingEndDate": "2026-01-31",
        "subPartnerOrgId": "{subPartnerOrgId}",
    },
    "POST /v1/webhooks": {"name": "Sweep", "targetUrl": "http://127.0.0.1:9/sweep", "resource": "all", "event": "all"},
    "PUT /v1/webhooks/{webhookId}": {"name": "Renamed", "targetUrl": "http://127.0.0.1:9/renamed"},
}

# Query and path parameters that carry one of A's values, by name (the rest keep their defaults).
ID_PARAMS = {
    "customerId": "customerId",
    "templateId": "templateId",
    "siteId": "siteId",
    "subscriberId": "subscriberId",
    "importId": "importId",
    "orgId": "orgId",
    "id": "reportId",
    "webhookId": "webhookId",
    "deliveryId": "deliveryId",
    "externalId": "externalId",
    "externalCustomerId": "externalId",
    "email": "email",
    "personId": "personId",
    "targetId": "customerId",
    "subPartnerOrgId": "subPartnerOrgId",
}


@dataclass
class World:
    """Partner A's resources (the values outsiders must not reach) and the outsiders' headers."""

    values: dict[str, str]
    secrets: list[str]  # A's data that no outsider's response may contain (names, emails, ids, ...)
    owner: dict[str, str]  # A's own headers
    before: dict[str, Any]  # what A reads of its resources before the sweep
    callers: dict[str, "Caller"] = field(default_factory=dict)


@dataclass
class Caller:
    """An outsider: its headers, the template its creates name (its own partner's), its own org (not a secret to
    it), and whether it claims to act for A's sub-partner (onBehalfOfSubPartnerOrgId) on every route that takes it."""

    headers: dict[str, str]
    template_id: str
    own_org: str
    acting_for_a: bool = False


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _stranger(value: str) -> str:
    """A value of the same shape as one of A's that names nothing: an id of the same kind with another uuid."""
    try:
        decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        decoded = ""
    if decoded.startswith("ciscospark://"):
        kind = decoded.split("/")[3]
        text = f"ciscospark://us/{kind}/{uuid.uuid4()}".encode()
        return base64.urlsafe_b64encode(text).decode().rstrip("=")
    if "@" in value:
        return f"nobody-{uuid.uuid4().hex[:10]}@example.com"
    return f"ext-{uuid.uuid4().hex[:10]}"


def _token(db, org_id: str, role: str) -> str:
    from wholesale.identity.roles import Role
    from wholesale.identity.service import create_token

    with db.transaction() as s:
        return create_token(s, org_id=org_id, role=Role(role))


def _provisioned(client, headers, customer_id: str) -> dict[str, Any]:
    return wait_for(
        lambda: client.get(f"{CUSTOMERS}/{customer_id}", headers=headers).json(),
        lambda c: c.get("status") not in ("provisioning", "updating"),
        timeout=60,
    )


def _customer(client, a, **overrides: Any) -> dict[str, Any]:
    response = client.post(CUSTOMERS, json=customer_body(a.template_id, **overrides), headers=a.headers)
    assert response.status_code == 202, response.text
    return _provisioned(client, a.headers, response.json()["url"].rsplit("/", 1)[1])


@pytest.fixture(scope="module")
def world(client, database_url) -> World:
    from conftest import PartnerCtx
    from wholesale.customers.schemas import TemplateIn
    from wholesale.customers.templates import add_template
    from wholesale.db.session import get_database
    from wholesale.identity.roles import Role
    from wholesale.identity.service import create_token, ensure_platform_org
    from wholesale.partners.service import create_partner

    db = get_database()

    def partner(parent: str | None = None) -> PartnerCtx:
        with db.transaction() as s:
            made = create_partner(s, name=f"Sweep {uuid.uuid4().hex[:6]}", parent_org_id=parent)
            token = create_token(s, org_id=made.org_id, role=Role.PARTNER_ADMIN)
            tpl = add_template(s, made.org_id, TemplateIn(name="Standard"))
            return PartnerCtx(made.org_id, token, tpl.id)

    a, b = partner(), partner()
    a_sub, b_sub = partner(a.org_id), partner(b.org_id)
    hook = client.post(
        "/v1/webhooks",
        json={"name": "A's hook", "targetUrl": "http://127.0.0.1:9/a-hook", "resource": "all", "event": "all"},
        headers=a.headers,
    )
    assert hook.status_code == 200, hook.text
    x = _customer(client, a, packages=["webex_meetings", "webex_calling"])
    y = _customer(client, a, packages=["webex_meetings"])
    b_customer = _customer(client, b, packages=["webex_meetings"])
    subscriber = client.post("/v1/wholesale/subscribers", json=sub_body(x["id"]), headers=a.headers)
    assert subscriber.status_code in (200, 201, 202), subscriber.text
    sub = subscriber.json()
    bulk = client.post(
        "/v1/wholesale/subscribers/bulk",
        json={"customerId": x["id"], "rows": [{"email": f"bulk-{uuid.uuid4().hex[:8]}@example.com", **BULK_ROW}]},
        headers=a.headers,
    )
    assert bulk.status_code == 202, bulk.text
    report = client.post(
        "/v1/wholesale/billing/reports",
        json={"billingStartDate": "2026-01-01", "billingEndDate": "2026-01-31"},
        headers=a.headers,
    )
    assert report.status_code == 200, report.text
    # A's world settles before it is read: the report generated, the bulk import done.
    wait_for(
        lambda: client.get(f"/v1/wholesale/billing/reports/{report.json()['id']}", headers=a.headers).json()["status"],
        lambda status: status == "COMPLETED",
        timeout=60,
    )
    wait_for(
        lambda: client.get(f"/v1/wholesale/subscribers/bulk/{bulk.json()['id']}", headers=a.headers).json()["status"],
        lambda status: status == "completed",
        timeout=60,
    )
    site = client.get(f"/v1/meetings/sites?orgId={x['orgId']}", headers=a.headers).json()["items"][0]
    deliveries = wait_for(
        lambda: client.get(f"/v1/webhooks/{hook.json()['id']}/deliveries", headers=a.headers).json()["items"],
        lambda items: bool(items),
        timeout=60,
    )
    values = {
        "customerId": x["id"],
        "orgId": x["orgId"],
        "externalId": x["externalId"],
        "templateId": a.template_id,
        "siteId": site["id"],
        "subscriberId": sub["id"],
        "email": sub["email"],
        "personId": sub.get("personId") or sub["id"],
        "importId": bulk.json()["id"],
        "reportId": report.json()["id"],
        "webhookId": hook.json()["id"],
        "deliveryId": deliveries[0]["id"],
        "subPartnerOrgId": a_sub.org_id,
    }
    secrets = [*values.values(), a.org_id, y["id"], y["orgId"], y["externalId"], "A's hook"]
    world = World(
        values=values, secrets=[s for s in secrets if s], owner=a.headers, before=_reads(client, a.headers, values)
    )
    with db.transaction() as s:
        platform = ensure_platform_org(s).id
    world.callers = {
        "partner B": Caller(b.headers, b.template_id, b.org_id),
        "partner B acting for A's sub-partner": Caller(b.headers, b.template_id, b.org_id, acting_for_a=True),
        "B's sub-partner": Caller(b_sub.headers, b_sub.template_id, b_sub.org_id),
        "A's sub-partner": Caller(a_sub.headers, a_sub.template_id, a_sub.org_id),
        "B's customer admin": Caller(
            _headers(_token(db, b_customer["orgId"], Role.CUSTOMER_ADMIN)), b.template_id, b_customer["orgId"]
        ),
        "admin of A's other customer": Caller(
            _headers(_token(db, y["orgId"], Role.CUSTOMER_ADMIN)), a.template_id, y["orgId"]
        ),
        "reviewer": Caller(_headers(_token(db, platform, Role.REVIEWER)), b.template_id, platform),
    }
    return world


def _reads(client, headers: dict[str, str], values: dict[str, str]) -> dict[str, Any]:
    """What A reads of the resources the sweep aims at (timestamps of reads left out)."""
    paths = {
        "customer": f"{CUSTOMERS}/{values['customerId']}",
        "subscriber": f"/v1/wholesale/subscribers/{values['subscriberId']}",
        "template": f"/v1/wholesale/customerTemplates/{values['templateId']}",
        "webhook": f"/v1/webhooks/{values['webhookId']}",
        "report": f"/v1/wholesale/billing/reports/{values['reportId']}",
        "site": f"/v1/meetings/sites/{values['siteId']}",
    }
    out = {}
    for name, path in paths.items():
        response = client.get(path, headers=headers)
        assert response.status_code == 200, f"{name}: {response.text}"
        body = response.json()
        body.pop("tempDownloadURL", None)  # signed with a fresh expiry on every read
        out[name] = body
    return out


def _operations(app) -> list[tuple[str, str, dict[str, Any]]]:
    spec = app.openapi()
    return [
        (method.upper(), path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if not NOT_TENANT_SCOPED.search(path)
    ]


def _fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


def _body(key: str, values: dict[str, str], template_id: str) -> Any:
    """The request body of an operation, naming `values` (A's, or a stranger's) and the caller's template."""
    spec = BODIES.get(key, {})
    if spec == "{customer on A's org}":  # onboard A's customer org as the caller's own customer
        body = customer_body(template_id, orgId=values["orgId"])
        del body["customerInfo"]
        return body
    if spec == "{subscriber of A's customer}":
        return sub_body(values["customerId"])
    if spec == "{bulk rows for A's customer}":
        return {
            "customerId": values["customerId"],
            "rows": [{"email": f"s-{uuid.uuid4().hex[:8]}@example.com", **BULK_ROW}],
        }
    return _fill(spec, values)


def _request(
    method: str, path: str, op: dict[str, Any], values: dict[str, str], acting_for_a: bool
) -> tuple[str, dict[str, str]]:
    query: dict[str, str] = {}
    for param in op.get("parameters", []):
        source = ID_PARAMS.get(param["name"])
        if param["name"] == "onBehalfOfSubPartnerOrgId" and acting_for_a:
            source = "subPartnerOrgId"
        if source is None:
            continue
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", values[source])
        elif param["in"] == "query":
            query[param["name"]] = values[source]
    assert "{" not in path, f"{method} {path}: a path parameter with no value in ID_PARAMS"
    return path, query


def _normalised(response, sent: dict[str, str]) -> tuple[int, str]:
    """Status and body with the caller's own input replaced by its name and the tracking id dropped."""
    text = response.text
    for name, value in sorted(sent.items(), key=lambda kv: -len(kv[1])):
        text = text.replace(value, f"<{name}>")
    text = re.sub(r'"trackingId":\s*"[^"]*"', '"trackingId":""', text)
    return response.status_code, text


def test_every_route_answers_outsiders_as_if_a_did_not_exist(app, client, world):
    """For every caller and operation: A's ids and the ids of nothing get the same answer, a 4xx (lists: the
    same, A-free page), and no response carries any of A's data."""
    strangers = {name: _stranger(value) for name, value in world.values.items()}
    operations = _operations(app)
    assert len(operations) >= 40
    missing_bodies = [f"{m} {p}" for m, p, op in operations if "requestBody" in op and f"{m} {p}" not in BODIES]
    assert not missing_bodies, f"add a valid body to BODIES for: {missing_bodies}"
    failures: list[str] = []
    # Reads first, then writes, deletes last: a leak in a write must not change what a later read sees.
    order = {"GET": 0, "POST": 1, "PUT": 1, "DELETE": 2}
    for method, path, op in sorted(operations, key=lambda o: order.get(o[0], 1)):
        for who, caller in world.callers.items():
            failures += [
                f"{who}: {method} {path} {f}" for f in _probe(client, world, strangers, caller, method, path, op)
            ]
    assert not failures, "\n".join(failures)


def _probe(client, world: World, strangers: dict[str, str], caller: Caller, method: str, path: str, op) -> list[str]:
    """Call one operation as one outsider with A's values and with a stranger's; what is wrong with the answers."""
    key = f"{method} {path}"
    names = {p["name"] for p in op.get("parameters", [])}
    names_a_resource = (
        bool(re.search(r"\{[\w ']+\}", str(BODIES.get(key, ""))))  # a body placeholder
        or any(ID_PARAMS.get(name) for name in names)
        or (caller.acting_for_a and "onBehalfOfSubPartnerOrgId" in names)
    )
    secrets = [s for s in world.secrets if s != caller.own_org]
    found: list[str] = []
    answers = []
    for values in (world.values, strangers):
        url, query = _request(method, path, op, values, caller.acting_for_a)
        body = _body(key, values, caller.template_id) if "requestBody" in op else None
        response = client.request(method, url, params=query, json=body, headers=caller.headers)
        answers.append(_normalised(response, values))
        sent = url + str(query) + str(body)
        leaked = [s for s in secrets if s in response.text and s not in sent]
        if leaked:
            found.append(f"-> {response.status_code} carries A's {leaked}")
    (status_a, text_a), (status_s, text_s) = answers
    if names_a_resource and (status_a, text_a) != (status_s, text_s):
        found.append(f"tells A's resource apart: {status_a} {text_a[:200]} / {status_s} {text_s[:200]}")
    if "{" in path and not 400 <= status_a < 500:
        found.append(f"with A's ids answered {status_a}")
    if "{" in path and key in BODIES and status_a == 400:
        found.append(f"stopped at validation (400), fix its body in BODIES: {text_a[:200]}")
    return found


def test_a_reads_its_resources_unchanged_after_the_sweep(client, world):
    """The outsiders' PUTs, POSTs and DELETEs changed nothing of A's (one that got through would show here)."""
    assert _reads(client, world.owner, world.values) == world.before
