"""Our own OpenAPI, fuzzed (issue 16).

Stateful: schemathesis walks the links between operations (those the app declares, kit/links.py: a customer's 202
Location feeds its GET, PUT, DELETE and subscriber creates, a template's id feeds a customer create, a subscriber's
id its GET, PUT, DELETE and consent move; plus the ones schemathesis infers, e.g. list items' ids), so chains such
as template -> customer -> subscriber -> package change -> delete run with ids that exist. Every response: no 5xx,
conformance to our OpenAPI, no use after free, no resource missing after its create (fuzz_support.OWN_EXCEPTIONS:
the async customer delete).

Stateless: every partner-facing operation with the same four kinds of cases as Cisco's spec gets
(fuzz_support.case_strategy), each response held to our own OpenAPI (status, content type, headers, body), which
tests/foundation/test_fuzz.py (5xx only) does not do.

`bench/fuzz.py` runs both with many more examples, the stateful one over billing and bulk imports too."""

import dataclasses
import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from fuzz_support import (
    CHAIN_PATHS,
    STATEFUL_PATHS,
    Tally,
    build_world,
    examples,
    fuzz_operations,
    record,
    run_stateful,
    scale,
    stateful_machine,
)

pytestmark = pytest.mark.slow

# Partner-facing operations (webhooks stay out: a generated targetUrl would be resolved by DNS; the sandbox clock
# and job probes too, as in tests/foundation/test_fuzz.py).
OWN_PATHS = r"^/v1/(wholesale|subscribers|compliance|meetings|organizations|telephony|auditEvents)"


def test_the_customer_chain_is_declared_as_links(app):
    paths = app.openapi()["paths"]
    created = paths["/v1/wholesale/customers"]["post"]["responses"]["202"]["links"]
    assert {"GetCustomer", "UpdateCustomer", "RemoveCustomer", "ProvisionSubscriber"} <= set(created)
    template = paths["/v1/wholesale/customerTemplates"]["post"]["responses"]["201"]["links"]
    assert template["ProvisionCustomer"]["requestBody"] == {"provisioningId": "$response.body#/id"}
    subscriber = paths["/v1/wholesale/subscribers"]["post"]["responses"]
    assert {"GetSubscriber", "UpdateSubscriber", "RemoveSubscriber"} <= set(subscriber["200"]["links"])
    assert "ResendConsent" in subscriber["202"]["links"]


def test_stateful_chains_over_our_openapi(app, client, db):
    world = build_world(client, db, "Stateful fuzz")
    paths = CHAIN_PATHS if scale() == 1 else STATEFUL_PATHS
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=paths)
    tally = Tally("own-stateful")
    machine = stateful_machine(schema, world, tally, client)
    config = settings(
        max_examples=examples(20),
        stateful_step_count=8,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=scale() == 1,  # `make test` runs the same scenarios every time
    )
    restarts = run_stateful(machine, config, tally)
    summary = tally.summary()
    summary |= {"transitions": schema.statistic.transitions.total, "scenarios": machine.scenarios, "restarts": restarts}
    record("spec", **summary)
    print(json.dumps({k: v for k, v in summary.items() if k != "examples"}))
    assert not tally.server_errors, "\n".join(tally.server_errors[:10])
    assert not tally.violations, "\n".join(tally.violations[:10])
    # The chain ran: customers created, subscribers created for them, and a subscriber deleted.
    for label in (
        "POST /v1/wholesale/customers",
        "POST /v1/wholesale/subscribers",
        "DELETE /v1/wholesale/subscribers/{subscriberId}",
    ):
        assert tally.successes[label], (label, summary["by_operation"].get(label))


def test_every_operation_conforms_to_our_openapi(app, client, db, platform_token):
    world = build_world(client, db, "Own fuzz")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=OWN_PATHS)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40
    tally = Tally("own")
    # The bench also sends every case as an operator and a reviewer (the platform's roles).
    for role in ["partner"] if scale() == 1 else ["partner", "operator", "reviewer"]:
        headers = world.headers if role == "partner" else {"Authorization": f"Bearer {platform_token(role)}"}
        fuzz_operations(operations, dataclasses.replace(world, headers=headers), tally, examples(3))
    summary = tally.summary()
    record("spec", **summary)
    print(json.dumps({k: v for k, v in summary.items() if k not in ("examples", "by_operation")}))
    assert not tally.server_errors, "\n".join(tally.server_errors[:10])
    assert not tally.violations, "\n".join(tally.violations[:10])
