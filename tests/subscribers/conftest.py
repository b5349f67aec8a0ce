"""Fixtures for subscriber tests: provisioned customers with caps, and customer-admin tokens."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from helpers import customer_body, wait_for

CUSTOMERS = "/v1/wholesale/customers"


@dataclass
class CustomerCtx:
    """A provisioned customer."""

    id: str
    org_id: str
    external_id: str
    admin_email: str
    location_id: str | None


@pytest.fixture
def make_customer(client, db) -> Callable[..., CustomerCtx]:
    """Factory: provision a customer for a partner with packages and caps, and wait until it is provisioned."""
    from wholesale.customers.models import CallingLocation

    def make(
        partner, packages: list[str] | None = None, limits: dict[str, int] | None = None, **overrides: Any
    ) -> CustomerCtx:
        body = customer_body(
            partner.template_id, packages=packages or ["webex_suite", "webex_calling", "webex_meetings"], **overrides
        )
        if limits:
            body["provisioningParameters"]["packages"] = {"limits": limits}
        response = client.post(CUSTOMERS, json=body, headers=partner.headers)
        assert response.status_code == 202, response.text
        url = response.json()["url"].replace("http://testserver", "")
        customer = wait_for(
            lambda: client.get(url, headers=partner.headers).json(),
            lambda c: c.get("status") not in ("provisioning", "updating"),
            timeout=30,
        )
        assert customer["status"] in ("provisioned", "provisioned_with_errors"), customer
        with db.session(write=False) as s:
            location = s.scalars(
                sa.select(CallingLocation).where(CallingLocation.customer_id == customer["id"])
            ).first()
        return CustomerCtx(
            customer["id"],
            customer["orgId"],
            body["externalId"],
            body["customerInfo"]["primaryEmail"],
            location.id if location else None,
        )

    return make


@pytest.fixture
def customer(make_customer, partner) -> CustomerCtx:
    """A provisioned customer (suite, calling, meetings; no caps)."""
    return make_customer(partner)


@pytest.fixture
def customer_admin_headers(db) -> Callable[[str], dict[str, str]]:
    """Factory: headers of a customer-admin token for a customer org."""
    from wholesale.identity.roles import Role
    from wholesale.identity.service import create_token

    def make(org_id: str) -> dict[str, str]:
        with db.transaction() as session:
            token = create_token(session, org_id=org_id, role=Role.CUSTOMER_ADMIN)
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def free_account(db) -> Callable[[], str]:
    """Factory: an active free account outside any customer; returns its email."""
    from wholesale.subscribers.service import create_free_account

    def make() -> str:
        email = f"free-{uuid.uuid4().hex[:10]}@example.org"
        with db.transaction() as session:
            create_free_account(session, email, first_name="Free", last_name="User")
        return email

    return make


# ---------------------------------------------------------------------------------------------- service level

LOCATION = {
    "name": "Head Office",
    "address": {"addressLine1": "771 Alder Drive", "city": "Milpitas", "stateOrProvince": "CA", "country": "US"},
    "timezone": "America/Los_Angeles",
    "language": "en_us",
}


@dataclass
class Provisioned:
    """A customer provisioned inside the test's rolled-back session, with the tenant that owns it."""

    customer: Any  # wholesale.customers.models.Customer
    tenant: Any  # wholesale.partners.tenancy.Tenant

    @property
    def id(self) -> str:
        return self.customer.id

    @property
    def org_id(self) -> str:
        return self.customer.org_id

    @property
    def external_id(self) -> str:
        return self.customer.external_id

    @property
    def admin_email(self) -> str:
        return self.customer.primary_email

    def assigned(self, session, package: str) -> int:
        """Units of a package assigned now (read fresh: the caps are taken in SQL)."""
        from wholesale.subscribers import repository

        return repository.package_row(session, self.id, package).assigned


@pytest.fixture
def provisioned(session, tenant) -> Callable[..., Provisioned]:
    """Factory: a customer provisioned in the test's session by the provisioning run the workflow makes
    (identity org, full admin with its tier package, site, calling location, packages granted); no workers."""
    from wholesale.customers.models import Customer, CustomerPackageRow
    from wholesale.kit import clock, ids
    from wholesale.provisioning.steps import converge

    def make(
        packages: list[str] | None = None, limits: dict[str, int] | None = None, *, owner: Any = None
    ) -> Provisioned:
        owner = owner or tenant
        ext = uuid.uuid4().hex[:10]
        now = clock.now()
        session.flush()  # the owner's partner and template first
        customer = Customer(
            id=ids.new_id("ENTERPRISE"),
            partner_org_id=owner.partner_org_id,
            external_id=f"ext-{ext}",
            provisioning_id=owner.template_id,
            name=f"Pizza {ext}",
            primary_email=f"admin-{ext}@example.com",
            language="en_us",
            address_line1="771 Alder Drive",
            city="Milpitas",
            state_or_province="CA",
            zip_or_postal_code="95035",
            country="US",
            status="provisioning",
            errors=[],
            package_limits=limits or {},
            calling_location=LOCATION,
            revision=1,
            created=now,
            updated=now,
        )
        session.add(customer)
        session.flush()
        for name in packages or ["webex_suite", "webex_calling", "webex_meetings"]:
            session.add(
                CustomerPackageRow(
                    customer_id=customer.id,
                    name=name,
                    status="provisioning",
                    quantity_limit=(limits or {}).get(name),
                    assigned=0,
                    license_ids=[],
                    errors=[],
                    warnings=[],
                    created=now,
                )
            )
        session.flush()
        converge(session, customer, new=True)
        session.flush()
        assert customer.status in ("provisioned", "provisioned_with_errors"), customer.status
        return Provisioned(customer, owner.tenant)

    return make
