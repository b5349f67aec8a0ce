"""What subscribers write to the usage ledger (R2): a unit taken or given back, with the units after it; a unit
taken also carries the subscriber's email (which never changes), what billing reports show for it."""

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from wholesale.ledger import service as ledger
from wholesale.ledger.service import Change, Kind
from wholesale.subscribers.repository import Units


def assigned(
    session: Session,
    partner_org_id: str,
    customer_id: str,
    subscriber_id: str,
    package: str,
    units: Units,
    email: str,
) -> None:
    """A subscriber (with this email) took one unit of the package."""
    ledger.append(
        session,
        [
            Change(
                partner_org_id,
                customer_id,
                package,
                Kind.SUBSCRIBER_ASSIGNED,
                +1,
                units.assigned,
                subscriber_id,
                units.quantity_limit,
                details={"email": email},
            )
        ],
    )


def released(
    session: Session, partner_org_id: str, customer_id: str, subscriber_id: str, package: str, units: Units | None
) -> None:
    """A subscriber gave its unit back (`units` None: the package row is already gone, so 0 are left)."""
    after, limit = (units.assigned, units.quantity_limit) if units is not None else (0, None)
    ledger.append(
        session,
        [Change(partner_org_id, customer_id, package, Kind.SUBSCRIBER_RELEASED, -1, after, subscriber_id, limit)],
    )


def in_order(
    partner_org_id: str,
    customer_id: str,
    kind: str,
    holders: Sequence[tuple[str, str]],
    units_after: dict[str, Units],
    emails: Mapping[str, str] | None = None,
) -> list[Change]:
    """Ledger rows for many (subscriber id, package) taking (`Kind.SUBSCRIBER_ASSIGNED`) or giving back units at
    once: counted so the last row of each package shows `units_after[package]`, each row one unit apart.
    Units taken carry each subscriber's email (`emails`, by subscriber id)."""
    if kind == Kind.SUBSCRIBER_ASSIGNED and emails is None:
        raise ValueError("subscribers taking units need their emails (billing reports show them)")
    step = 1 if kind == Kind.SUBSCRIBER_ASSIGNED else -1
    remaining: dict[str, int] = {}
    for _subscriber_id, package in holders:
        remaining[package] = remaining.get(package, 0) + 1
    changes = []
    for subscriber_id, package in holders:
        remaining[package] -= 1
        units = units_after[package]
        changes.append(
            Change(
                partner_org_id,
                customer_id,
                package,
                kind,
                step,
                units.assigned - step * remaining[package],
                subscriber_id,
                units.quantity_limit,
                details={"email": emails[subscriber_id]} if emails is not None else None,
            )
        )
    return changes
