"""What customers write to the usage ledger (R2): packages added and removed, caps changed."""

from collections.abc import Iterable

from sqlalchemy.orm import Session

from wholesale.customers.models import Customer, CustomerPackageRow
from wholesale.ledger import service as ledger
from wholesale.ledger.service import Change, Kind


def packages_added(session: Session, customer: Customer, rows: Iterable[CustomerPackageRow]) -> None:
    """The customer holds these packages from now, with no unit assigned yet."""
    ledger.append(
        session,
        [
            Change(customer.partner_org_id, customer.id, r.name, Kind.PACKAGE_ADDED, 0, 0, None, r.quantity_limit)
            for r in rows
        ],
    )


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
