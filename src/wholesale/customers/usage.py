"""What customers write to the usage ledger (R2): packages added and removed, caps changed, and the values
billing reports show for the customer (name, externalId, orgId, the partner's own org) whenever they change."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from wholesale.customers.models import Customer, CustomerPackageRow
from wholesale.ledger import service as ledger
from wholesale.ledger.service import Change, Kind


def created(session: Session, customer: Customer, rows: Iterable[CustomerPackageRow]) -> None:
    """A new customer: its displayed values, then the packages it holds from now (one append)."""
    ledger.append(session, [_details(customer), *_added(customer, rows)])


def packages_added(session: Session, customer: Customer, rows: Iterable[CustomerPackageRow]) -> None:
    """The customer holds these packages from now, with no unit assigned yet."""
    ledger.append(session, _added(customer, rows))


def _added(customer: Customer, rows: Iterable[CustomerPackageRow]) -> list[Change]:
    return [
        Change(customer.partner_org_id, customer.id, r.name, Kind.PACKAGE_ADDED, 0, 0, None, r.quantity_limit)
        for r in rows
    ]


def packages_removed(session: Session, customer: Customer, rows: Iterable[CustomerPackageRow]) -> None:
    """The customer no longer holds these packages (their units were given back before)."""
    ledger.append(
        session,
        [Change(customer.partner_org_id, customer.id, r.name, Kind.PACKAGE_REMOVED, 0, 0, None, None) for r in rows],
    )


def limits_changed(session: Session, customer: Customer, rows: Iterable[CustomerPackageRow]) -> None:
    """These packages' caps changed (each row already shows its new `quantity_limit`)."""
    ledger.append(
        session,
        [
            Change(
                customer.partner_org_id, customer.id, r.name, Kind.LIMIT_CHANGED, 0, r.assigned, None, r.quantity_limit
            )
            for r in rows
        ],
    )


def shown(customer: Customer) -> dict[str, Any]:
    """What a billing report shows for the customer: strings ("" when none) and whether it is the partner's own org."""
    return {
        "name": customer.name or "",
        "externalId": customer.external_id or "",
        "orgId": customer.org_id or "",
        "internal": bool(customer.is_partner_org),
    }


def details(session: Session, customer: Customer) -> None:
    """The customer's displayed values from now on: written when it is created and whenever one of them changes
    (externalId, the org provisioning creates), so a past report shows them as they were."""
    ledger.append(session, [_details(customer)])


def _details(customer: Customer) -> Change:
    return Change(customer.partner_org_id, customer.id, "", Kind.CUSTOMER_DETAILS, 0, 0, details=shown(customer))
