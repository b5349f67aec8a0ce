"""Every customer workflow step may run again after its own commit (issue 16, probe 5).

DBOS records a step's output only after the step returns, so a process that dies between the step's commit and
that record runs the step again on recovery. Each step must then find its own result and return it, leaving the
data as it was: at service level each step runs twice in a row on a rolled-back session; through the workflows a
fault point raises right after a step committed, so DBOS retries the step on committed data
(tests/customers/test_crash_after_commit.py kills a real process there instead).
"""

from typing import Any

import pytest
import sqlalchemy as sa
from dbos import DBOS

from helpers import customer_body, wait_for
from wholesale.customers import provisioning as customer_steps
from wholesale.customers import repository
from wholesale.customers import service as customers
from wholesale.customers.models import Customer
from wholesale.customers.schemas import CustomerCreate, CustomerUpdate
from wholesale.db.base import Base
from wholesale.events.models import AuditEvent
from wholesale.kit import faults
from wholesale.provisioning import steps

URL = "/v1/wholesale/customers"


def _snapshot(session, partner_org_id: str) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table that belongs to the partner, its customers or their orgs."""
    session.flush()
    owned = session.execute(sa.select(Customer.id, Customer.org_id).where(Customer.partner_org_id == partner_org_id))
    customer_ids, org_ids = set(), set()
    for customer_id, org_id in owned:
        customer_ids.add(customer_id)
        org_ids.update([org_id] if org_id else [])
    snapshot: dict[str, list[tuple[str, ...]]] = {}
    for table in Base.metadata.sorted_tables:
        c = table.c
        conditions = []
        if "partner_org_id" in c:
            conditions.append(c.partner_org_id == partner_org_id)
        if "customer_id" in c:
            conditions.append(c.customer_id.in_(customer_ids))
        if "org_id" in c:
            conditions.append(c.org_id.in_(org_ids))
        if table.name == "orgs":
            conditions.append(c.id.in_(org_ids))
        if conditions:
            rows = session.execute(sa.select(table).where(sa.or_(*conditions))).all()
            snapshot[table.name] = sorted(tuple(repr(v) for v in row) for row in rows)
    return snapshot


def _create(session, tenant, **overrides: Any):
    # The enqueue happens in the test's transaction, which is rolled back: no workflow runs.
    body = CustomerCreate.model_validate(customer_body(tenant.template_id, **overrides))
    return customers.create_customer(session, tenant.tenant, body)


def _actions(session, customer_id: str) -> list[str]:
    session.flush()
    return list(
        session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.subject_id == customer_id).order_by(AuditEvent.id)
        )
    )


def _twice(session, tenant, run):
    """Run a step, then again as a recovery would; both results and the data after each."""
    first = run()
    after_first = _snapshot(session, tenant.partner_org_id)
    second = run()
    assert second == first
    assert _snapshot(session, tenant.partner_org_id) == after_first
    return first


def test_converge_twice_returns_the_settled_status_and_changes_nothing(session, tenant):
    customer = _create(session, tenant)
    assert _twice(session, tenant, lambda: steps.converge(session, customer, new=True)) == ({}, "provisioned")
    assert _actions(session, customer.id).count("customer.settled") == 1


def test_converge_of_an_update_twice(session, tenant):
    customer = _create(session, tenant)
    steps.converge(session, customer, new=True)
    update = {
        "packages": ["webex_calling", "webex_suite"],
        "address": {"addressLine1": "10 Rue de Rivoli", "city": "Paris", "zipOrPostalCode": "75001", "country": "FR"},
    }
    customers.update_customer(session, tenant.tenant, customer.id, CustomerUpdate.model_validate(update))
    assert _twice(session, tenant, lambda: steps.converge(session, customer, new=False)) == ({}, "provisioned")
    assert _actions(session, customer.id).count("org.country_changed") == 1


def test_converge_that_left_a_package_failing_runs_again_without_doubling_anything(session, tenant):
    """Not settled: the re-run tries the failed package again and repeats nothing else, not even the
    full admin's warning that its capped package had no unit left."""
    params = customer_body(tenant.template_id)["provisioningParameters"] | {
        "packages": {"limits": {"webex_calling": 0}}
    }
    customer = _create(session, tenant, provisioningParameters=params)
    faults.inject("customers.grant:webex_meetings", times=2, error_code=2560, description="Meetings down.")
    result = _twice(session, tenant, lambda: steps.converge(session, customer, new=True))
    assert result == ({"webex_meetings": (2560, "Meetings down.")}, None)
    calling = repository.get_package(session, customer.id, "webex_calling")
    assert [w["errorCode"] for w in calling.warnings] == [3200]
    assert customer.status == "provisioning"


def test_grant_twice_after_it_settled(session, tenant):
    customer = _create(session, tenant)
    faults.inject("customers.grant:webex_calling")
    failed, status = steps.converge(session, customer, new=True)
    assert status is None and list(failed) == ["webex_calling"]

    def grant():
        held = repository.packages_of(session, [customer.id])[customer.id]
        return steps.grant(session, customer, [r for r in held if r.name in failed], held)

    assert _twice(session, tenant, grant) == ({}, "provisioned")
    assert _actions(session, customer.id).count("customer.settled") == 1


def test_settle_with_failures_twice(session, tenant):
    customer = _create(session, tenant)
    faults.inject("customers.grant:webex_calling", times=1, error_code=2560, description="Calling down.")
    failed, _ = steps.converge(session, customer, new=True)
    settled = _twice(session, tenant, lambda: steps.settle_with_failures(session, customer, failed))
    assert settled == "provisioned_with_errors"
    assert repository.get_package(session, customer.id, "webex_calling").status == "error"
    assert _actions(session, customer.id).count("customer.settled") == 1


def test_fail_twice(session, tenant):
    customer = _create(session, tenant)
    assert _twice(session, tenant, lambda: customer_steps.fail(session, customer, "Directory down.", 2500)) == "error"
    assert customer.errors == [{"errorCode": 2500, "description": "Directory down."}]
    assert _actions(session, customer.id).count("customer.failed") == 1


def test_fail_after_the_run_settled_leaves_the_settled_customer_alone(session, tenant):
    """A step that failed after its commit (it never got to record its output) ends in the compensation step:
    the run already settled, so there is nothing to mark failed."""
    customer = _create(session, tenant)
    steps.converge(session, customer, new=True)
    before = _snapshot(session, tenant.partner_org_id)
    assert customer_steps.fail(session, customer, "Lost the checkpoint.", 2500) == "provisioned"
    assert _snapshot(session, tenant.partner_org_id) == before


def test_remove_everything_twice(session, tenant):
    customer = _create(session, tenant)
    steps.converge(session, customer, new=True)
    customers.request_deletion(session, customer, reason="test")
    assert _twice(session, tenant, lambda: steps.remove_everything(session, customer.id)) is True
    assert _actions(session, customer.id).count("customer.deleted") == 1


def test_remove_everything_of_an_unknown_customer_is_false(session):
    assert steps.remove_everything(session, "no-such-customer") is False


# Through the workflows: the step raises right after its commit and DBOS runs it again.


def _settled(client, partner, url):
    return wait_for(
        lambda: client.get(url, headers=partner.headers).json(),
        lambda c: c.get("status") not in ("provisioning", "updating", "deleting"),
        timeout=30,
    )


def _workflow(workflow_id: str):
    status = wait_for(
        lambda: DBOS.get_workflow_status(workflow_id),
        lambda s: s is not None and s.status in ("SUCCESS", "ERROR"),
        timeout=30,
    )
    return status.status, DBOS.retrieve_workflow(workflow_id).get_result() if status.status == "SUCCESS" else None


def _audit_count(db, customer_id: str, action: str) -> int:
    with db.session(write=False) as s:
        return s.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.subject_id == customer_id, AuditEvent.action == action)
        )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("armed", "status", "action", "alone"),
    [
        # The batch committed the run and failed before DBOS recorded it: the batch's step runs again, takes
        # nothing (its queue rows went with the work) and the customer settled once.
        ({"customers.batch.committed": 1}, "provisioned", "customer.settled", False),
        # Every attempt of the batch's step fails after its commit: the run was done by the first one.
        ({"customers.batch.committed": 100}, "provisioned", "customer.settled", False),
        # The run failed in its batch (twice: as one, then in its savepoint) and is retried alone
        # (`customers.provision`), whose steps fail after their commits in turn.
        ({"customers.org": 2, "customers.prepare.committed": 1}, "provisioned", "customer.settled", True),
        ({"customers.grant:webex_calling": 2, "customers.grant.committed": 1}, "provisioned", "customer.settled", True),
        (
            {"customers.grant:webex_calling": 100, "customers.settle.committed": 1},
            "provisioned_with_errors",
            "customer.settled",
            True,
        ),
        ({"customers.org": 100, "customers.fail.committed": 1}, "error", "customer.failed", True),
        ({"customers.org": 2, "customers.prepare.committed": 100}, "provisioned", "customer.settled", True),
    ],
)
def test_a_step_that_fails_after_its_commit_is_run_again_and_the_run_succeeds(
    client, partner, db, armed, status, action, alone
):
    for point, times in armed.items():
        faults.inject(point, times=times, description=f"failed at {point}")
    response = client.post(URL, json=customer_body(partner.template_id), headers=partner.headers)
    assert response.status_code == 202, response.text
    url = response.json()["url"].replace("http://testserver", "")
    customer = _settled(client, partner, url)
    assert customer["status"] == status, customer
    if alone:
        assert _workflow(f"customers.provision:{customer['id']}:1") == ("SUCCESS", status)
    else:
        assert DBOS.get_workflow_status(f"customers.provision:{customer['id']}:1") is None  # done in its batch
    faults.clear()
    assert _audit_count(db, customer["id"], action) == 1


@pytest.mark.slow
def test_a_delete_that_fails_after_its_commit_is_run_again_and_succeeds(client, partner, db):
    response = client.post(URL, json=customer_body(partner.template_id), headers=partner.headers)
    url = response.json()["url"].replace("http://testserver", "")
    customer = _settled(client, partner, url)
    faults.inject("customers.delete.committed")
    assert client.delete(url, headers=partner.headers).status_code == 202
    assert _workflow(f"customers.delete:{customer['id']}:2") == ("SUCCESS", True)
    assert _audit_count(db, customer["id"], "customer.deleted") == 1
