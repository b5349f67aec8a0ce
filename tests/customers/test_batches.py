"""Provisioning runs in batches (issue 15): one workflow and one transaction per batch of queued runs, one
failing run retried alone without failing its batch, superseded runs dropped, and one customer's changes in
order under a burst."""

import threading

import pytest
import sqlalchemy as sa
from dbos import DBOS
from dbos._serialization import DefaultSerializer

from helpers import customer_body, partner_admin, wait_for
from wholesale.customers import runs
from wholesale.customers import service as customers
from wholesale.customers.models import CallingLocation, Customer, CustomerPackageRow
from wholesale.customers.schemas import CustomerCreate, CustomerUpdate
from wholesale.events.models import AuditEvent
from wholesale.kit import faults
from wholesale.partners import tenancy
from wholesale.provisioning import workflows

URL = "/v1/wholesale/customers"


def _create(session, tenant, n: int, start: int = 0) -> list[Customer]:
    return [
        customers.create_customer(
            session,
            tenant.tenant,
            CustomerCreate.model_validate(
                customer_body(tenant.template_id, externalId=f"batch-{i}", customerInfo=_info(i))
            ),
        )
        for i in range(start, start + n)
    ]


def _info(i: int) -> dict:
    return {"name": f"Batch {i}", "primaryEmail": f"batch{i}-{id(_info)}@example.com"}


def _enqueued(session, workflow_id: str) -> bool:
    """True when the workflow was enqueued in this (uncommitted) transaction: DBOS's row is in our database."""
    table = "dbos.workflow_status" if session.get_bind().dialect.name == "postgresql" else "workflow_status"
    found = session.execute(sa.text(f"SELECT 1 FROM {table} WHERE workflow_uuid = :id"), {"id": workflow_id})
    return found.first() is not None


def _screenings_enqueued(session) -> list[list[list[str]]]:
    """The [customer id, trigger] pairs of each `compliance.screen_batch` enqueued (by this transaction, or committed
    by an earlier test)."""
    schema = "dbos." if session.get_bind().dialect.name == "postgresql" else ""
    rows = session.execute(
        sa.text(
            f"SELECT i.inputs FROM {schema}workflow_status s JOIN {schema}workflow_input i USING (workflow_uuid)"
            " WHERE s.name = 'compliance.screen_batch'"
        )
    )
    return [DefaultSerializer().deserialize(inputs)["args"][0] for (inputs,) in rows]


def test_a_failing_run_is_retried_alone_and_the_rest_of_its_batch_settles(session, tenant):
    first, second, third = _create(session, tenant, 3)
    taken = runs.take(session, 50)
    assert [r.customer_id for r in taken] == [first.id, second.id, third.id] and all(r.new for r in taken)
    faults.inject("customers.site", times=1)  # the first run of the batch fails after its org and admin
    counts = workflows.converge_taken(session, taken, isolated=True)
    assert counts == {"settled": 2, "superseded": 0, "retried": 1}
    assert (second.status, third.status) == ("provisioned", "provisioned")
    session.refresh(first)  # its savepoint rolled back: nothing of its run is left
    assert first.status == "provisioning" and first.org_id is None
    assert _enqueued(session, f"customers.provision:{first.id}:1")
    assert not _enqueued(session, f"customers.provision:{second.id}:1")
    # The audit rows of the run that rolled back went with it; the others' were written at the batch's end.
    settled = session.scalars(
        sa.select(AuditEvent.subject_id).where(
            AuditEvent.action == "customer.settled", AuditEvent.subject_id.in_([first.id, second.id, third.id])
        )
    )
    assert sorted(settled) == sorted([second.id, third.id])
    org_rows = session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "org.created", AuditEvent.subject_id == first.id)
    )
    assert org_rows == 0
    assert runs.take(session, 50) == []  # the rows went with the batch


def test_a_batch_shares_its_statements_and_a_run_that_raises_fails_it_whole(session, tenant):
    """Without savepoints the runs of a batch share one flush: each table gets one INSERT for the whole batch, and
    the customers' meetings sites and calling locations are read in one SELECT each, not one per run."""
    made = _create(session, tenant, 20)
    session.flush()
    statements: list[tuple[str, bool]] = []
    reads: list[str] = []

    def seen(_conn, _cursor, statement, _params, _context, executemany):
        statements.append((" ".join(statement.split()[:3]), executemany))
        if statement.lstrip().startswith("SELECT"):
            reads.append(" ".join(statement.split()))

    connection = session.connection()
    sa.event.listen(connection, "before_cursor_execute", seen)
    try:
        counts = workflows.converge_taken(session, runs.take(session, 50), isolated=False)
        session.flush()
    finally:
        sa.event.remove(connection, "before_cursor_execute", seen)
    assert counts == {"settled": 20, "superseded": 0, "retried": 0}
    assert {c.status for c in made} == {"provisioned"}
    for table in ("audit_events", "events", "orgs", "users", "subscribers", "meetings_sites", "calling_locations"):
        inserts = [many for text, many in statements if text == f"INSERT INTO {table}"]
        assert inserts == [True], (table, inserts)
    for table in ("meetings_sites", "calling_locations"):
        assert len([r for r in reads if f" FROM {table} " in r]) == 1, (table, reads)
    faults.inject("customers.site", times=1)
    _create(session, tenant, 1, start=20)
    with pytest.raises(faults.InjectedFault):
        workflows.converge_taken(session, runs.take(session, 50), isolated=False)


def test_a_run_left_with_an_ungranted_package_keeps_its_work_and_is_retried_alone(session, tenant):
    (customer,) = _create(session, tenant, 1)
    faults.inject("customers.grant:webex_calling", times=1)
    assert workflows.converge_taken(session, runs.take(session, 50), isolated=True)["retried"] == 1
    assert customer.org_id is not None and customer.status == "provisioning"
    assert _enqueued(session, f"customers.provision:{customer.id}:1")


def test_a_superseded_run_does_nothing(session, tenant):
    deleted, updated = _create(session, tenant, 2)
    customers.request_deletion(session, deleted, reason="test")
    taken = runs.take(session, 50)
    updated.revision += 1  # as if a newer change had been accepted after the run was queued
    assert workflows.converge_taken(session, taken, isolated=True) == {"settled": 0, "superseded": 2, "retried": 0}
    assert deleted.org_id is None and updated.org_id is None
    # R10: the screenings the runs asked for are enqueued all the same, as one workflow for the batch.
    ours = [items for items in _screenings_enqueued(session) if {deleted.id, updated.id} & {cid for cid, _ in items}]
    assert ours == [[[deleted.id, "created"], [updated.id, "created"]]]


def test_take_gives_one_run_per_customer_at_its_latest_revision(session, tenant):
    (customer,) = _create(session, tenant, 1)
    workflows.converge_taken(session, runs.take(session, 50), isolated=True)
    update = CustomerUpdate.model_validate({"packages": ["webex_calling"]})
    customers.update_customer(session, tenant.tenant, customer.id, update)
    runs.queue(session, customer, new=False)  # a second row for the same revision
    assert runs.take(session, 50) == [runs.Run(customer.id, 2, False)]


def _batches() -> list:
    """Every batch workflow that took runs."""
    return [w for w in DBOS.list_workflows(name="customers.converge_batch") if w.output and w.output.get("taken")]


@pytest.mark.slow
def test_through_the_workers_a_batch_retries_its_failing_run_alone(client, partner, db):
    """Three creates committed together wake the pump once: one batch takes all three; the run that fails in
    it settles through its own workflow, the others in the batch."""
    with db.transaction() as session:
        principal_tenant = tenancy.Tenant(partner_admin(partner.org_id), partner_org_id=partner.org_id)
        made = [
            customers.create_customer(
                session,
                principal_tenant,
                CustomerCreate.model_validate(customer_body(partner.template_id, externalId=f"b{i}")),
            )
            for i in range(3)
        ]
        # The batch fails as one (the first fault), then again with a savepoint per run: the first run fails in
        # its savepoint (the second fault), is retried alone and succeeds.
        faults.inject("customers.org", times=2)
    ids = [c.id for c in made]
    settled = wait_for(
        lambda: [client.get(f"{URL}/{i}", headers=partner.headers).json()["status"] for i in ids],
        lambda statuses: all(s == "provisioned" for s in statuses),
        timeout=30,
    )
    assert settled == ["provisioned"] * 3
    alone = [DBOS.get_workflow_status(f"customers.provision:{i}:1") for i in ids]
    assert [w is not None for w in alone] == [True, False, False]
    batch = [w for w in _batches() if w.output["retried"] == 1 and w.output["settled"] == 2]
    assert len(batch) == 1 and batch[0].status == "SUCCESS"
    with db.session(write=False) as s:
        settled_rows = s.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.subject_id.in_(ids), AuditEvent.action == "customer.settled")
        )
    assert settled_rows == 3


@pytest.mark.slow
def test_one_customers_create_update_delete_apply_in_order_under_a_burst(client, partner, db):
    """While 60 other creates are queued and running, one customer is created, updated and deleted: it ends a
    tombstone with nothing left, and its audit trail is in the order of the requests (no run settles it after
    its deletion was accepted)."""
    burst = [customer_body(partner.template_id, externalId=f"burst-{i}") for i in range(60)]

    def send_burst() -> None:
        for body in burst:
            assert client.post(URL, json=body, headers=partner.headers).status_code == 202

    sender = threading.Thread(target=send_burst)
    sender.start()
    created = client.post(URL, json=customer_body(partner.template_id, externalId="ordered"), headers=partner.headers)
    url = created.json()["url"].replace("http://testserver", "")
    wait_for(
        lambda: client.get(url, headers=partner.headers).json()["status"],
        lambda status: status == "provisioned",
        timeout=60,
    )
    updated = client.put(url, json={"packages": ["webex_calling", "webex_suite"]}, headers=partner.headers)
    assert updated.status_code == 202, updated.text
    assert client.delete(url, headers=partner.headers).status_code == 202  # while the update may still run
    sender.join()
    customer_id = url.rsplit("/", 1)[1]
    wait_for(
        lambda: client.get(url, headers=partner.headers).status_code,
        lambda code: code == 404,
        timeout=60,
    )
    with db.session(write=False) as s:
        actions = list(
            s.scalars(
                sa.select(AuditEvent.action)
                .where(AuditEvent.subject_id == customer_id, AuditEvent.action.like("customer.%"))
                .order_by(AuditEvent.id)
            )
        )
        assert s.get(Customer, customer_id).status == "deleted"
        assert s.scalar(sa.select(sa.func.count()).where(CustomerPackageRow.customer_id == customer_id)) == 0
        assert s.scalar(sa.select(sa.func.count()).where(CallingLocation.customer_id == customer_id)) == 0
    assert actions[:3] == ["customer.created", "customer.settled", "customer.update_requested"]
    assert actions[-2:] == ["customer.delete_requested", "customer.deleted"]
    assert len(actions) in (5, 6)  # the update's run settled before the deletion was accepted, or was superseded
