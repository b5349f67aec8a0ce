"""Schemathesis fuzzing shared by tests/reliability/test_fuzz_cisco.py, test_fuzz_stateful.py and bench/fuzz.py.

- `build_world`: a partner with a real token and template, provisioned customers, subscribers (one waiting for its
  consent move), a billing report and a sub-partner. Generated cases use their ids some of the time: a
  provisioningId or customerId drawn from the schema names nothing, so without them no create would ever pass
  validation and no read would find anything.
- `case_strategy`: one case of an operation, one of three kinds: as schemathesis generates it (positive or
  negative data), with real ids put in, or a realistic request (the ids and the values our rules accept) in which
  some fields keep the generated value.
- `Tally` and `check_response`: every response is held to the spec it was generated from (status declared,
  content type, headers, body schema) and counted; `CISCO_EXCEPTIONS` lists where Cisco's spec contradicts itself,
  each with the reason, applied failure by failure (never a whole check switched off).
- `examples(n)` and `record`: the bench scales the number of examples (WHOLESALE_FUZZ_SCALE) and collects the
  figures (WHOLESALE_FUZZ_REPORT, a JSON-lines file).
"""

import datetime as dt
import itertools
import json
import os
import random
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from helpers import customer_body, wait_for

CISCO_SPEC = Path(__file__).parent / "contract" / "wholesale-openapi.json"
CUSTOMERS = "/v1/wholesale/customers"
SUBSCRIBERS = "/v1/wholesale/subscribers"


# ------------------------------------------------------------------------------------------------ scale and report


def scale(kind: str = "spec") -> float:
    """How many times the default examples to run: WHOLESALE_FUZZ_SCALE for the specs, WHOLESALE_FUZZ_MACHINE_SCALE
    for the state machines (bench/fuzz.py sets them; 1 in `make test`)."""
    name = "WHOLESALE_FUZZ_MACHINE_SCALE" if kind == "machine" else "WHOLESALE_FUZZ_SCALE"
    return float(os.environ.get(name, "1"))


def examples(default: int, kind: str = "spec") -> int:
    """Examples for one unit of fuzzing: the test's default, scaled."""
    return max(1, round(default * scale(kind)))


def record(kind: str, **figures: Any) -> None:
    """Append one run's figures to WHOLESALE_FUZZ_REPORT (JSON lines), when the bench asked for them."""
    path = os.environ.get("WHOLESALE_FUZZ_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"kind": kind, **figures}, default=sorted) + "\n")


# ------------------------------------------------------------------------------------------------ the world


@dataclass
class World:
    """One partner's resources that generated cases may name, and the pools the fuzz itself fills."""

    headers: dict[str, str]
    partner_org_id: str
    template_id: str
    sub_partner_org_id: str
    customers: list[str]  # provisioned, never deleted by the fuzz
    customer_external_ids: list[str]
    customer_org_ids: list[str]
    subscribers: list[str]  # provisioned, never deleted by the fuzz
    subscriber_emails: list[str]
    person_ids: list[str]
    pending: list[str]  # subscribers waiting for their consent move
    reports: list[str]
    templates: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)  # compliance cases (of a customer named like a listed party)
    # What the fuzz created: the only ids a generated DELETE may use (the stable ones keep every read meaningful).
    created: dict[str, list[str]] = field(default_factory=lambda: {"customer": [], "subscriber": [], "report": []})
    _counter: Iterable[int] = field(default_factory=lambda: itertools.count(1))

    def unique(self) -> str:
        return f"{next(self._counter):05d}{uuid.uuid4().hex[:8]}"

    def extension(self) -> str:
        return str(100000 + next(self._counter) % 900000)  # digits, unique per run (at most 900,000 calls)


def _id_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1].split("?", 1)[0]


def _provision(client, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(CUSTOMERS, json=body, headers=headers)
    assert response.status_code == 202, response.text
    customer_id = _id_of(response.json()["url"])
    return wait_for(
        lambda: client.get(f"{CUSTOMERS}/{customer_id}", headers=headers).json(),
        lambda c: c.get("status") not in ("provisioning", "updating"),
        timeout=60,
    )


def build_world(client, db, name: str = "Fuzz") -> World:
    """A partner with two provisioned customers (one with caps), three subscribers, one pending consent move,
    a billing report and a sub-partner; its token's headers call everything."""
    from wholesale.customers.schemas import TemplateIn
    from wholesale.customers.templates import add_template
    from wholesale.identity.roles import Role
    from wholesale.identity.service import create_token
    from wholesale.partners.service import create_partner
    from wholesale.subscribers.service import create_free_account

    with db.transaction() as session:
        partner = create_partner(session, name=f"{name} {uuid.uuid4().hex[:6]}")
        token = create_token(session, org_id=partner.org_id, role=Role.PARTNER_ADMIN)
        template = add_template(session, partner.org_id, TemplateIn(name=f"{name} template"))
        sub = create_partner(session, name=f"{name} sub {uuid.uuid4().hex[:6]}", parent_org_id=partner.org_id)
        partner_org_id, template_id, sub_org_id = partner.org_id, template.id, sub.org_id
    headers = {"Authorization": f"Bearer {token}"}

    customers = []
    for limits in (None, {"webex_meetings": 50, "webex_calling": 50}):
        body = customer_body(template_id, packages=["webex_meetings", "webex_calling", "webex_suite"])
        if limits:
            body["provisioningParameters"]["packages"] = {"limits": limits}
        customers.append(_provision(client, headers, body))
    assert all(c["status"] == "provisioned" for c in customers), customers

    subscribers = []
    for customer, package in ((customers[0], "webex_meetings"), (customers[1], "webex_meetings")):
        email = f"fz-{uuid.uuid4().hex[:12]}@example.com"
        response = client.post(
            SUBSCRIBERS,
            json={
                "customerId": customer["id"],
                "email": email,
                "package": package,
                "provisioningParameters": {"firstName": "Ada", "lastName": "Fuzz"},
            },
            headers=headers,
        )
        assert response.status_code == 200, response.text
        subscribers.append(response.json())

    free = f"free-{uuid.uuid4().hex[:10]}@example.org"
    with db.transaction() as session:
        create_free_account(session, free, first_name="Free", last_name="Fuzz")
    response = client.post(
        SUBSCRIBERS,
        json={
            "customerId": customers[0]["id"],
            "email": free,
            "package": "webex_meetings",
            "provisioningParameters": {},
        },
        headers=headers,
    )
    assert response.status_code == 202, response.text
    pending = [response.json()["id"]]

    sites = client.get("/v1/meetings/sites", headers=headers).json().get("items", [])
    cases = [_listed_case(client, db, headers, template_id)]
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    report = client.post(
        "/v1/wholesale/billing/reports",
        json={"billingStartDate": str(yesterday - dt.timedelta(days=30)), "billingEndDate": str(yesterday)},
        headers=headers,
    )
    assert report.status_code == 200, report.text

    return World(
        headers=headers,
        partner_org_id=partner_org_id,
        template_id=template_id,
        sub_partner_org_id=sub_org_id,
        customers=[c["id"] for c in customers],
        customer_external_ids=[c["externalId"] for c in customers],
        customer_org_ids=[c["orgId"] for c in customers],
        subscribers=[s["id"] for s in subscribers],
        subscriber_emails=[s["email"] for s in subscribers],
        person_ids=[s["personId"] for s in subscribers],
        pending=pending,
        reports=[report.json()["id"]],
        templates=[template_id],
        sites=[site["id"] for site in sites],
        cases=cases,
    )


def _listed_case(client, db, headers: dict[str, str], template_id: str) -> str:
    """A customer named as an OFAC SDN entry: its screening job opens a compliance case; the case's id."""
    from wholesale.compliance import service as compliance

    body = customer_body(template_id, packages=["webex_meetings"])
    body.pop("provisioningParameters")
    body["customerInfo"]["name"] = "Mahan Air"
    body["address"] = {"addressLine1": "1 Main Street", "city": "Tehran", "country": "IR"}
    customer_id = _provision(client, headers, body)["id"]

    def case_id() -> str | None:
        with db.session(write=False) as session:
            case = compliance.open_case_of(session, customer_id)
            return case.id if case else None

    return wait_for(case_id, lambda found: found is not None, timeout=60)


# ------------------------------------------------------------------------------------------------ strategies

UNIQUE, EXTENSION = "@@unique@@", "@@extension@@"
# What the world's customers hold (generated cases try the others).
SUBSCRIBER_PACKAGES = ["webex_meetings", "webex_calling", "webex_suite"]
CUSTOMER_PACKAGE_SETS = [
    ["webex_meetings"],
    ["webex_meetings", "webex_calling"],
    ["webex_meetings", "webex_calling", "webex_suite"],
    ["webex_meetings", "webex_calling", "webex_suite", "attendant_console"],
    ["webex_voice", "cisco_calling_plan"],
]


def normalised(label: str) -> str:
    """An operation's label as Cisco's spec writes it (our paths carry /v1)."""
    method, path = label.split(" ", 1)
    return f"{method} {path.removeprefix('/v1')}"


def _realize(value: Any, world: World) -> Any:
    """Fill the placeholders a realistic value carries, fresh for every call (emails and ids stay unique)."""
    if isinstance(value, str):
        return value.replace(UNIQUE, world.unique()).replace(EXTENSION, world.extension())
    if isinstance(value, dict):
        return {k: _realize(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_realize(v, world) for v in value]
    return value


def _pool(world: World, kind: str, *, deleting: bool) -> list[str]:
    """Ids of a kind a case may name: for a DELETE only what the fuzz created itself."""
    created = world.created.get(kind, [])
    if deleting:
        return created
    stable = {"customer": world.customers, "subscriber": world.subscribers, "report": world.reports}[kind]
    return stable + created[-20:]


class Pick:
    """Choices made by Hypothesis (`draw`) or by a seeded random.Random (the stateful run's before_call)."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any] | None = None, rng: random.Random | None = None):
        self._draw, self._rng = draw, rng

    def choice(self, values: list[Any]) -> Any:
        if self._draw is not None:
            return self._draw(st.sampled_from(values))
        assert self._rng is not None
        return self._rng.choice(values)

    def integer(self, low: int, high: int) -> int:
        if self._draw is not None:
            return self._draw(st.integers(low, high))
        assert self._rng is not None
        return self._rng.randint(low, high)

    def boolean(self) -> bool:
        return self.integer(0, 1) == 1


@st.composite
def _realistic(draw, key: str, world: World) -> dict[str, Any]:
    return realistic_parts(Pick(draw), key, world)


def realistic_parts(pick: Pick, key: str, world: World) -> dict[str, Any]:
    """The path, query and body of a request our rules accept (with placeholders), for the operations that have one."""
    method, path = key.split(" ", 1)
    deleting = method == "DELETE"
    today = dt.datetime.now(dt.UTC).date()
    out: dict[str, Any] = {}

    def one(kind: str) -> str | None:
        ids = _pool(world, kind, deleting=deleting)
        return pick.choice(ids) if ids else None

    if path.startswith("/wholesale/customers/{customerId}"):
        out["path"] = {"customerId": one("customer")}
    elif path.endswith("/emails/consentMove"):
        out["path"] = {"subscriberId": pick.choice(world.pending)}
    elif path.startswith("/wholesale/subscribers/{subscriberId}"):
        out["path"] = {"subscriberId": one("subscriber")}
    elif path.startswith("/meetings/sites/{siteId}") and world.sites:
        out["path"] = {"siteId": pick.choice(world.sites)}
    elif path == "/organizations/{orgId}":
        out["path"] = {"orgId": pick.choice(world.customer_org_ids)}
    elif path.startswith("/compliance/cases/{caseId}"):
        out["path"] = {"caseId": pick.choice(world.cases)}
    elif path == "/wholesale/billing/reports/{id}":
        out["path"] = {"id": one("report")}
    elif path.startswith("/wholesale/customerTemplates/{templateId}"):
        out["path"] = {"templateId": pick.choice(world.templates)}
    elif path.startswith("/wholesale/subscribers/bulk/{importId}") and world.imports:
        out["path"] = {"importId": pick.choice(world.imports)}
    if any(v is None for v in out.get("path", {}).values()):
        del out["path"]

    if key == "POST /wholesale/customers":
        packages = pick.choice(CUSTOMER_PACKAGE_SETS)
        body = customer_body(world.template_id, packages=packages)
        body["externalId"] = f"fz-{UNIQUE}"
        body["customerInfo"]["primaryEmail"] = f"fz-admin-{UNIQUE}@example.com"
        if pick.boolean():
            body["provisioningParameters"]["packages"] = {"limits": {packages[0]: pick.integer(1, 5)}}
        out["body"] = body
    elif key == "POST /wholesale/customers/validate":
        body = customer_body(world.template_id, packages=pick.choice(CUSTOMER_PACKAGE_SETS))
        body["customerInfo"]["primaryEmail"] = f"fz-pre-{UNIQUE}@example.com"
        out["body"] = body
    elif key == "PUT /wholesale/customers/{customerId}":
        # The full admin holds the customer's tier package (webex_suite here): a list without it is a 409.
        body = {"packages": pick.choice(CUSTOMER_PACKAGE_SETS[2:4])}
        if pick.boolean():
            body["externalId"] = f"fz-upd-{UNIQUE}"
        out["body"] = body
    elif key == "POST /wholesale/subscribers":
        package = pick.choice(SUBSCRIBER_PACKAGES)
        out["body"] = {
            "customerId": pick.choice(world.customers),
            "email": f"fz-{UNIQUE}@example.com",
            "package": package,
            "provisioningParameters": {"firstName": "Ada", "lastName": "Fuzz", "extension": EXTENSION},
        }
    elif key == "PUT /wholesale/subscribers/{subscriberId}":
        body = {"package": pick.choice(SUBSCRIBER_PACKAGES)}
        if pick.boolean():
            body["provisioningParameters"] = {"extension": EXTENSION}
        out["body"] = body
    elif key == "POST /wholesale/subscribers/validate":
        out["body"] = {
            "customerId": pick.choice(world.customers),
            "email": pick.choice([f"fz-pre-{UNIQUE}@example.com", *world.subscriber_emails]),
            "package": pick.choice(SUBSCRIBER_PACKAGES),
            "provisioningParameters": {"extension": EXTENSION},
        }
    elif key == "POST /wholesale/billing/reports":
        end = today - dt.timedelta(days=pick.integer(1, 60))
        start = end - dt.timedelta(days=pick.integer(0, 90))
        body = {"billingStartDate": str(start), "billingEndDate": str(end)}
        body["type"] = pick.choice(["PARTNER", "CUSTOMER", "USER"])
        if pick.boolean():
            body["subPartnerOrgId"] = world.sub_partner_org_id
        out["body"] = body
    elif key == "POST /compliance/cases/{caseId}/decision":
        out["body"] = {"decision": pick.choice(["approve", "reject"]), "reason": "fuzz"}
    elif key == "POST /compliance/cases/{caseId}/contactAttempts":
        out["body"] = {"channel": "phone", "outcome": pick.choice(["reached", "reached", "unreachable"])}
    elif key == "PUT /meetings/sites/{siteId}/defaultCallInNumber":
        out["body"] = {"number": None}  # back to the derived number
    elif key == "POST /compliance/screenings":
        out["body"] = {"name": pick.choice(["Mahan Air", "Pizza Fuzz"]), "country": pick.choice(["IR", "US"])}
    elif key in ("POST /wholesale/customerTemplates", "PUT /wholesale/customerTemplates/{templateId}"):
        out["body"] = {"name": f"Fz {UNIQUE}", "language": "en_us"}
    elif key == "POST /wholesale/subscribers/bulk":
        out["body"] = {
            "customerId": pick.choice(world.customers),
            "rows": [
                {
                    "email": f"fz-bulk-{UNIQUE}@example.com",
                    "firstName": "Bulk",
                    "lastName": "Fuzz",
                    "package": "webex_meetings",
                }
                for _ in range(pick.integer(1, 3))
            ],
        }
    elif key == "GET /wholesale/customers":
        out["query"] = pick.choice(
            [
                {},
                {"externalId": world.customer_external_ids[0]},
                {"orgId": world.customer_org_ids[1]},
                {"status": ["provisioned"]},
                {"max": "1", "offset": "1"},
            ]
        )
    elif key == "GET /wholesale/subscribers":
        out["query"] = pick.choice(
            [
                {},
                {"customerId": world.customers[0]},
                {"externalCustomerId": world.customer_external_ids[1]},
                {"email": world.subscriber_emails[0]},
                {"personId": world.person_ids[0]},
                {"status": "pending_user_migration"},
                {"max": 2, "offset": 1, "sortBy": "lastStatusChange", "sortOrder": "DESC"},
            ]
        )
    elif key == "GET /wholesale/billing/reports":
        out["query"] = pick.choice([{}, {"type": "PARTNER"}, {"subPartnerOrgId": world.sub_partner_org_id}])
    elif key == "GET /wholesale/subPartners":
        out["query"] = pick.choice([{}, {"provisioningState": "active"}, {"max": "1"}])
    elif method in ("GET", "DELETE", "PUT", "POST") and "path" in out:
        out.setdefault("query", {})
    return out


# Real ids a generated case may carry instead of its own: by parameter or body field name.
def _real_ids(world: World, deleting: bool) -> dict[str, list[str]]:
    return {
        "provisioningId": [world.template_id],
        "customerId": _pool(world, "customer", deleting=deleting),
        "subscriberId": _pool(world, "subscriber", deleting=deleting),
        "id": _pool(world, "report", deleting=deleting),
        "templateId": world.templates,
        "importId": world.imports,
        "externalId": world.customer_external_ids,
        "externalCustomerId": world.customer_external_ids,
        "orgId": world.customer_org_ids,
        "email": world.subscriber_emails,
        "personId": world.person_ids,
        "subPartnerOrgId": [world.sub_partner_org_id],
        "siteId": world.sites,
        "caseId": world.cases,
    }


@dataclass
class Drawn:
    """A case and how it was made (for the figures)."""

    case: Any
    kind: str  # generated | negative | real_ids | realistic


def case_strategy(operation, world: World) -> st.SearchStrategy[Drawn]:
    """One case of an operation: generated (positive or negative), with real ids, or realistic with some fields
    left as generated."""
    from schemathesis import GenerationMode
    from schemathesis.core import NOT_SET

    key = normalised(operation.label)
    positive = operation.as_strategy(GenerationMode.POSITIVE)
    negative = operation.as_strategy(GenerationMode.NEGATIVE)
    # The spec's own examples (Cisco's carry quirks: quoted strings, `US`: countries, made-up ids).
    try:
        from_examples = operation.schema.get_strategies_from_examples(operation)
    except Exception:
        from_examples = []
    kinds = ["generated", "negative", "real_ids", "realistic", "realistic"] + (["example"] if from_examples else [])

    @st.composite
    def draw_case(draw) -> Drawn:
        kind = draw(st.sampled_from(kinds))
        if kind == "negative":
            try:
                return Drawn(draw(negative), kind)
            except Exception:  # an operation with nothing to negate
                kind = "generated"
        if kind == "example":
            case = draw(st.one_of(from_examples))
            kind = draw(st.sampled_from(["example", "example_real_ids"]))
        else:
            case = draw(positive)
        if kind in ("generated", "example"):
            return Drawn(case, kind)
        ids = _real_ids(world, deleting=operation.method.upper() == "DELETE")
        path = dict(case.path_parameters or {})
        query = dict(case.query or {})
        body = case.body
        if kind in ("real_ids", "example_real_ids"):
            for name in path:
                if ids.get(name):
                    path[name] = draw(st.sampled_from(ids[name]))
            for name in query:
                if ids.get(name) and draw(st.booleans()):
                    query[name] = draw(st.sampled_from(ids[name]))
            if isinstance(body, dict):
                body = dict(body)
                for name in body:
                    if ids.get(name):
                        body[name] = draw(st.sampled_from(ids[name]))
        else:
            real = draw(_realistic(key, world))
            path.update(real.get("path", {}))
            if "query" in real:
                # Realistic query parameters; each generated one stays with probability 1/5.
                keep = {k: v for k, v in query.items() if draw(st.integers(0, 4)) == 0}
                query = {**keep, **real["query"]}
            else:
                query = {k: v for k, v in query.items() if k != "onBehalfOfSubPartnerOrgId" or draw(st.booleans())}
            if "body" in real:
                real_body = real["body"]
                if isinstance(body, dict):
                    # Each top-level field keeps its generated value with probability 1/6.
                    for name in sorted(set(body) & set(real_body)):
                        if draw(st.integers(0, 5)) == 0:
                            real_body[name] = body[name]
                body = real_body
        case = operation.Case(
            path_parameters=path or None,
            query=query or None,
            body=_realize(body, world) if body is not NOT_SET else NOT_SET,
            media_type=case.media_type,
        )
        return Drawn(case, kind)

    return draw_case()


def explicit_case(operation, world: World, seed_draw: Callable[[st.SearchStrategy[Any]], Any]) -> Any:
    """The realistic case of an operation with nothing left generated (every operation's first call)."""
    real = seed_draw(_realistic(normalised(operation.label), world))
    path_names = [p.name for p in operation.path_parameters]
    path = real.get("path", {})
    if any(name not in path for name in path_names):
        return None
    from schemathesis.core import NOT_SET

    return operation.Case(
        path_parameters=path or None,
        query=real.get("query") or None,
        body=_realize(real["body"], world) if "body" in real else NOT_SET,
        media_type="application/json" if "body" in real else None,
    )


# ------------------------------------------------------------------------------------------------ checks


@dataclass(frozen=True)
class SpecException:
    """A response that breaks a spec where the spec contradicts itself (or, for our own spec, where a generic
    stateful check does not know a documented behaviour): which failures it covers, and why."""

    operation: str  # regex on the normalised label
    check: str
    status: int | None
    instance_path: str | None  # regex on the JSON pointer of the failing value (schema failures)
    reason: str
    when: Callable[[Any], bool] | None = None  # a further condition on the response

    def covers(self, label: str, check: str, status: int, failure: Any, response: Any) -> bool:
        if check != self.check or not re.fullmatch(self.operation, normalised(label)):
            return False
        if self.status is not None and status != self.status:
            return False
        if self.instance_path is not None:
            pointer = "/" + "/".join(str(p) for p in getattr(failure, "instance_path", []) or [])
            if re.fullmatch(self.instance_path, pointer) is None:
                return False
        return self.when is None or self.when(response)


# Where Cisco's spec contradicts itself (docs/API_DECISIONS.md), an exception names the failures it covers and why.
# None is needed today: every quirk of WHOLESALE_API.md §12 is one where our choice follows Cisco's *schema*, and the
# checks read only schemas, declared statuses and declared headers (never the examples):
# - Q1 subPartners: schema `items`, example `subPartners`: we send `items` (SubPartnersListResponse).
# - Q3 precheck `info`: schema object, examples arrays: we send an object (the Precheck*Response schemas).
# - Q4 Report example `reportType`, property `type`: we send `type`.
# - Q5 billing create: 200 declared, 202 in prose: we answer 200.
# - Q2 consentMove without /wholesale: the spec's path is served (the fuzz calls it); Q7 string/integer paging, Q8
#   `sortBy`, Q9 validate without a package, Q11 customerInfo/orgId: request side, where any 4xx is declared.
# - Q10 Location on GET customer: declared, we send it. Q12 no security in the spec: every case carries our token.
# - Subscriber `package`: enum of 6 in the Subscriber schema, while a PUT may set 9 (WholesalePackagesSubscriber):
#   we leave `package` out for the other three and send `packages` (subscribers/service.to_read), so no body breaks it.
# Statuses Cisco does not declare (413 for an oversized body, 422) never answer a request generated from its spec
# (bodies stay small, validation errors are 400); tests/reliability/test_bad_input.py covers 413 on our own spec.
CISCO_EXCEPTIONS: list[SpecException] = []


def _status_is(value: str) -> Callable[[Any], bool]:
    def check(response: Any) -> bool:
        try:
            return response.json().get("status") == value
        except ValueError:
            return False

    return check


def _customer_still_deleting(response: Any) -> bool:
    """Whether the customer a response's URL names is still being removed (read from the database)."""
    from urllib.parse import unquote, urlsplit

    from wholesale.customers.models import Customer
    from wholesale.db.session import get_database

    match = re.search(r"/customers/([^/?#]+)", unquote(urlsplit(str(response.request.url)).path))
    if match is None:
        return False
    with get_database().session(write=False) as session:
        customer = session.get(Customer, match.group(1))
        return customer is not None and customer.status == "deleting" and customer.deleted_at is None


# Our own spec, stateful checks: behaviour docs/API_DECISIONS.md documents that a generic check does not know.
ASYNC_DELETE = (
    "DELETE customer answers 202 (Cisco's spec): the customer and what hangs off it read as before, with status "
    "'deleting', until its removal workflow ends, then 404 (API_DECISIONS 'DELETE customer')"
)
OWN_EXCEPTIONS: list[SpecException] = [
    SpecException(
        operation=r"GET /wholesale/customers/\{customerId\}",
        check="use_after_free",
        status=200,
        instance_path=None,
        reason=ASYNC_DELETE,
        when=_status_is("deleting"),
    ),
    SpecException(
        operation=r"GET /wholesale/customers/\{customerId\}/compliance",
        check="use_after_free",
        status=200,
        instance_path=None,
        reason=ASYNC_DELETE,
        when=_customer_still_deleting,
    ),
]


def conformance_checks() -> dict[str, Any]:
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return {
        "status_code_conformance": status_code_conformance,
        "content_type_conformance": content_type_conformance,
        "response_headers_conformance": response_headers_conformance,
        "response_schema_conformance": response_schema_conformance,
    }


def stateful_checks() -> dict[str, Any]:
    from schemathesis.specs.openapi.checks import ensure_resource_availability, use_after_free

    return {
        **conformance_checks(),
        "use_after_free": use_after_free,
        "ensure_resource_availability": ensure_resource_availability,
    }


@dataclass
class Tally:
    """What one spec's fuzz run did and found."""

    spec: str
    operations: set[str] = field(default_factory=set)
    cases: Counter[str] = field(default_factory=Counter)  # per operation
    kinds: Counter[str] = field(default_factory=Counter)
    successes: Counter[str] = field(default_factory=Counter)  # 2xx per operation
    statuses: Counter[int] = field(default_factory=Counter)
    by_operation: dict[str, Counter[int]] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    excepted: Counter[str] = field(default_factory=Counter)  # per exception reason

    def summary(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "operations": len(self.operations),
            "operations_with_2xx": sum(1 for op in self.operations if self.successes[op]),
            "cases": sum(self.cases.values()),
            "kinds": dict(self.kinds),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "server_errors": len(self.server_errors),
            "schema_violations": len(self.violations),
            "excepted": dict(self.excepted),
            "by_operation": {op: dict(sorted(c.items())) for op, c in sorted(self.by_operation.items())},
            "without_2xx": sorted(op for op in self.operations if not self.successes[op]),
            "examples": (self.server_errors + self.violations)[:20],
        }


def _failures(exc: BaseException) -> list[Any]:
    if isinstance(exc, BaseExceptionGroup):
        return [f for inner in exc.exceptions for f in _failures(inner)]
    return [exc]


def check_response(
    tally: Tally,
    case: Any,
    response: Any,
    kind: str = "generated",
    *,
    checks: dict[str, Any] | None = None,
    exceptions: list[SpecException] | None = None,
    recorder: Any = None,
) -> None:
    """Count one response and hold it to the spec its case came from (never a 5xx; every check, less the
    failures a SpecException covers)."""
    checks = conformance_checks() if checks is None else checks
    exceptions = CISCO_EXCEPTIONS if exceptions is None else exceptions
    label = case.operation.label
    tally.operations.add(label)
    tally.cases[label] += 1
    tally.kinds[kind] += 1
    tally.statuses[response.status_code] += 1
    tally.by_operation.setdefault(label, Counter())[response.status_code] += 1
    where = f"{label} [{kind}] -> {response.status_code}"
    if response.status_code >= 500:
        tally.server_errors.append(f"{where}: {response.text[:500]}\n  {case.as_curl_command()[:1500]}")
    elif 200 <= response.status_code < 300:
        tally.successes[label] += 1
    for name, check in checks.items():
        try:
            case.validate_response(response, checks=[check], recorder=recorder)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
            for failure in _failures(exc):
                rule = next(
                    (r for r in exceptions if r.covers(label, name, response.status_code, failure, response)), None
                )
                if rule is not None:
                    tally.excepted[rule.reason] += 1
                else:
                    text = getattr(failure, "message", None) or str(failure)
                    tally.violations.append(f"{where} {name}: {text[:1200]}\n  body: {response.text[:600]}")


def after_response(world: World, label: str, response: Any) -> None:
    """Put what a successful create made into the pools later cases draw from."""
    key = normalised(label)
    if not 200 <= response.status_code < 300:
        return
    try:
        body = response.json()
    except ValueError:
        return
    if key == "POST /wholesale/customers":
        world.created["customer"].append(_id_of(body["url"]))
    elif key == "POST /wholesale/subscribers":
        (world.pending if body.get("status") == "pending_user_migration" else world.created["subscriber"]).append(
            body["id"]
        )
    elif key == "POST /wholesale/billing/reports":
        world.created["report"].append(body["id"])
    elif key == "POST /wholesale/customerTemplates":
        world.templates.append(body["id"])
    elif key == "POST /wholesale/subscribers/bulk":
        world.imports.append(body["id"])


# Create first (so reads and deletes have ids of the fuzz's own), deletes last.
def _order(operation) -> tuple[int, str]:
    method, path = operation.method.upper(), operation.path
    rank = {"POST": 0, "GET": 1, "PUT": 2, "DELETE": 3}.get(method, 2)
    if method == "POST" and (path.endswith("/validate") or "consent" in path):
        rank = 2
    return rank, operation.label


def fuzz_operations(operations: list[Any], world: World, tally: Tally, max_examples: int) -> None:
    """Every operation: one realistic case, then `max_examples` drawn by `case_strategy`; all checked."""
    for operation in sorted(operations, key=_order):
        fuzz_operation(operation, world, tally, max_examples)


def fuzz_operation(operation: Any, world: World, tally: Tally, max_examples: int) -> None:
    """One operation: its realistic case, then `max_examples` drawn cases."""
    from hypothesis import HealthCheck, given, settings

    quiet = settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)

    def send(case: Any, kind: str) -> None:
        response = case.call(headers=world.headers)
        after_response(world, operation.label, response)
        check_response(tally, case, response, kind)

    @given(data=st.data())
    @settings(quiet, max_examples=1)
    def first(data) -> None:
        case = explicit_case(operation, world, data.draw)
        if case is not None:
            send(case, "realistic")

    @given(data=st.data())
    @settings(quiet, max_examples=max_examples)
    def run(data) -> None:
        drawn = data.draw(case_strategy(operation, world))
        send(drawn.case, drawn.kind)

    first()
    run()


# ------------------------------------------------------------------------------------------------ stateful (links)

# Our own OpenAPI's resources the stateful run walks: customers, templates, subscribers (bulk and consent moves
# included), billing reports. The consent link itself (its token is the credential) stays out.
# The short run: only the customer -> subscriber -> delete chains (templates feed the customer creates).
CHAIN_PATHS = r"^/v1/(wholesale/(customers|customerTemplates|subscribers(?!/bulk))|subscribers/\{subscriberId\})"
STATEFUL_PATHS = r"^/v1/(wholesale/(customers|customerTemplates|subscribers|billing)|subscribers/\{subscriberId\})"


def _known_ids(world: World) -> set[str]:
    return {
        *world.customers,
        *world.subscribers,
        *world.pending,
        *world.reports,
        *world.templates,
        *world.imports,
        *(i for ids in world.created.values() for i in ids),
    }


def overlay(case: Any, world: World, rng: random.Random) -> None:
    """Make a stateful step's case realistic in place: body and query values our rules accept, except the ids a
    link put in (they name what an earlier step created)."""
    real = realistic_parts(Pick(rng=rng), normalised(case.operation.label), world)
    known = _known_ids(world)
    deleting = case.operation.method.upper() == "DELETE"
    ids = _real_ids(world, deleting=deleting)
    path = dict(case.path_parameters or {})
    for name, value in path.items():
        # A generated id (no link gave one): half the time one that exists (a DELETE: one the fuzz created).
        if value not in known and ids.get(name) and (deleting or rng.random() < 0.5):
            path[name] = rng.choice(ids[name])
    case.path_parameters = path
    if "body" in real and isinstance(case.body, dict):
        body = _realize(real["body"], world)
        for name, value in case.body.items():
            if name in body and isinstance(value, str) and value in known:
                body[name] = value
        case.body = body
    query = {k: v for k, v in (case.query or {}).items() if k != "onBehalfOfSubPartnerOrgId"}
    if "query" in real:
        linked = {k: v for k, v in query.items() if isinstance(v, str) and v in known}
        query = {**real["query"], **linked}
    case.query = query or None


def protect(case: Any, world: World, rng: random.Random) -> None:
    """A DELETE a link aimed at one of the world's stable resources (a list's items feed it) takes one the fuzz
    created instead, or names nothing: the stable ones keep every later read and create meaningful."""
    if case.operation.method.upper() != "DELETE":
        return
    path = dict(case.path_parameters or {})
    for name, kind in (("customerId", "customer"), ("subscriberId", "subscriber"), ("id", "report")):
        stable = {"customer": world.customers, "subscriber": world.subscribers, "report": world.reports}[kind]
        if path.get(name) in stable or (kind == "subscriber" and path.get(name) in world.pending):
            created = world.created[kind]
            path[name] = rng.choice(created) if created else f"spared-{world.unique()}"
    case.path_parameters = path


def settle(client: Any, world: World, response: Any, timeout: float = 20.0) -> None:
    """What a client does after a customer's 202: poll its Location until the status settles (so a link to a
    subscriber create finds it provisioned)."""
    location = response.headers.get("location")
    location = location[0] if isinstance(location, list) else location
    if not location:
        return
    path = location[location.index("/v1/") :]
    wait_for(
        lambda: client.get(path, headers=world.headers),
        lambda r: r.status_code != 200 or r.json().get("status") not in ("provisioning", "updating"),
        timeout=timeout,
    )


def stateful_machine(schema: Any, world: World, tally: Tally, client: Any = None, realistic_share: float = 0.75) -> Any:
    """Schemathesis' state machine over `schema`'s links (declared and inferred), as the world's partner; most steps
    made realistic by `overlay` (a seeded choice), a customer's 202 followed by polling until it settles (with
    `client`), every response checked (conformance,
    use after free, resource availability) less OWN_EXCEPTIONS."""
    import zlib

    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": world.headers}

        scenarios = 0

        def setup(self) -> None:
            self.steps = 0
            type(self).scenarios += 1

        def before_call(self, case: Any) -> None:
            # Seeded by the step's place in the scenario: the same scenario makes the same choices.
            self.steps = getattr(self, "steps", 0) + 1
            rng = random.Random(zlib.crc32(f"{case.operation.label} {self.steps}".encode()))
            if rng.random() < realistic_share:
                overlay(case, world, rng)
            protect(case, world, rng)

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            after_response(world, case.operation.label, response)
            if client is not None and response.status_code == 202 and "/customers" in case.operation.label:
                settle(client, world, response)

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            check_response(
                tally,
                case,
                response,
                "stateful",
                checks=stateful_checks(),
                exceptions=OWN_EXCEPTIONS,
                recorder=self.recorder,
            )

    return Machine


def run_stateful(machine: Any, config: Any, tally: Tally, max_restarts: int = 100) -> int:
    """Run the machine until it has played `config.max_examples` scenarios. Hypothesis stops a run with Flaky when
    the server's state (which persists between scenarios) makes a replayed prefix take another path; like
    schemathesis' own engine, start again instead of failing: what the run found is in `tally`. Returns the
    restarts."""
    from hypothesis.errors import Flaky

    restarts = 0
    while machine.scenarios < config.max_examples:
        try:
            machine.run(settings=replace_settings(config, max_examples=config.max_examples - machine.scenarios))
            return restarts
        except Flaky:
            restarts += 1
            if restarts > max_restarts:
                raise
    return restarts


def replace_settings(config: Any, **changes: Any) -> Any:
    from hypothesis import settings

    return settings(config, **changes)
