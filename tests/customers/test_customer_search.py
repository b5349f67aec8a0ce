"""The partner's customer search (issue 14, the portal's list and its CSV export): text over name, externalId and
orgId, shown statuses, three orders, the total; filter, count and page in SQL, a fixed number of queries whatever
the page holds (a list of 10,000 customers must render in under 100 ms)."""

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from wholesale.customers import service as customers
from wholesale.customers.models import Customer, CustomerPackageRow
from wholesale.kit import clock, ids
from wholesale.kit.errors import DomainError
from wholesale.kit.pagination import PageParams


def _add(session, tenant, n: int, **fields) -> Customer:
    at = clock.now() - timedelta(hours=1) + timedelta(seconds=n)
    customer = Customer(
        id=ids.new_id("ENTERPRISE"),
        partner_org_id=tenant.partner_org_id,
        org_id=fields.pop("org_id", None),
        external_id=fields.pop("external_id", f"ext-{uuid.uuid4().hex[:8]}"),
        provisioning_id=tenant.template_id,
        name=fields.pop("name", f"Customer {n:03d}"),
        address_line1="1 Main Street",
        city="Paris",
        country="FR",
        status=fields.pop("status", "provisioned"),
        errors=[],
        package_limits={},
        compliance_hold=fields.pop("hold", False),
        revision=1,
        created=at,
        updated=at,
    )
    session.add(customer)
    session.flush()
    for name in fields.pop("packages", ["webex_meetings"]):
        session.add(
            CustomerPackageRow(
                customer_id=customer.id,
                name=name,
                status="provisioned",
                quantity_limit=None,
                assigned=0,
                license_ids=[],
                errors=[],
                warnings=[],
                created=at,
            )
        )
    session.flush()
    return customer


def _find(session, tenant, **kwargs):
    items, total = customers.find_customers(session, tenant.tenant, **kwargs)
    return [c.external_id for c in items], total


def test_text_matches_name_external_id_and_org_id_of_this_partner_only(session, make_tenant):
    me, other = make_tenant(), make_tenant()
    _add(session, me, 0, name="Boulangerie Dupont", external_id="fr-001", org_id="ORG-Paris-1")
    _add(session, me, 1, name="Fromagerie", external_id="FR-002", org_id="ORG-Lyon-2")
    _add(session, me, 2, name=None, external_id="no-name")
    _add(session, other, 3, name="Boulangerie Ailleurs", external_id="fr-003")
    assert _find(session, me, text="boulangerie") == (["fr-001"], 1)
    assert _find(session, me, text=" fr-00 ", sort="name") == (["fr-001", "FR-002"], 2)  # any case, trimmed
    assert _find(session, me, text="lyon") == (["FR-002"], 1)
    assert _find(session, me, text="%") == ([], 0)  # a wildcard is a plain character
    assert _find(session, me, sort="name") == (["fr-001", "FR-002", "no-name"], 3)  # no name: by externalId
    with pytest.raises(DomainError):
        customers.find_customers(session, me.tenant, text="x" * 201)


def test_statuses_order_and_pages_with_the_total(session, tenant):
    for n in range(7):
        _add(session, tenant, n, external_id=f"held-{n}", hold=True)
    _add(session, tenant, 7, external_id="busy", status="provisioning")
    _add(session, tenant, 8, external_id="plain")
    _add(session, tenant, 9, external_id="gone", status="deleting")
    held, total = _find(session, tenant, statuses=["pending_rpl_review"], params=PageParams(max=5, offset=0))
    assert held == [f"held-{n}" for n in range(5)] and total == 7  # oldest first when asked
    held, total = _find(session, tenant, statuses=["pending_rpl_review"], params=PageParams(max=5, offset=5))
    assert held == ["held-5", "held-6"] and total == 7
    assert _find(session, tenant, statuses=["provisioned"]) == (["plain"], 1)  # a held one reads pending
    newest, _ = _find(session, tenant, descending=True, params=PageParams(max=3, offset=0))
    assert newest == ["gone", "plain", "busy"]
    by_status, _ = _find(session, tenant, sort="status", params=PageParams(max=3, offset=0))
    # deleting < pending_rpl_review < provisioned < provisioning (ties by id)
    assert by_status[0] == "gone" and {by_status[1], by_status[2]} <= {f"held-{n}" for n in range(7)}
    last, _ = _find(session, tenant, sort="status", descending=True, params=PageParams(max=2, offset=0))
    assert last == ["busy", "plain"]
    with pytest.raises(DomainError):
        customers.find_customers(session, tenant.tenant, statuses=["deleted"])
    with pytest.raises(DomainError):
        customers.find_customers(session, tenant.tenant, sort="revenue")


def test_a_page_takes_the_same_few_queries_however_many_customers_it_lists(session, tenant):
    for n in range(60):
        _add(session, tenant, n, packages=["webex_meetings", "webex_calling"])
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    # This session's connection only: on PostgreSQL the engine is shared with the workers' threads (the
    # provisioning pump looks at its queue every 0.1 s), whose statements are not the page's.
    connection = session.connection()
    sa.event.listen(connection, "before_cursor_execute", count)
    try:
        small, _ = customers.find_customers(session, tenant.tenant, params=PageParams(max=2, offset=2))
        few = len(statements)
        statements.clear()
        big, total = customers.find_customers(session, tenant.tenant, params=PageParams(max=50, offset=2))
        many = len(statements)
        statements.clear()
        everything, _ = customers.find_customers(session, tenant.tenant)  # the export
        export = len(statements)
    finally:
        sa.event.remove(connection, "before_cursor_execute", count)
    assert len(small) == 2 and len(big) == 50 and total == 60 and len(everything) == 60
    assert few == many == 3  # the page, the count, the packages
    assert export == 2  # every row, then the packages
    assert all(c.packages == ["webex_calling", "webex_meetings"] for c in everything)
