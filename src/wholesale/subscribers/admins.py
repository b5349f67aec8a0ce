"""The customer's side of subscribers, called by the customer lifecycle (`wholesale.provisioning`): the full
administrator's subscriber of the customer's tier package (R5), and every subscriber going with its customer."""

from sqlalchemy.orm import Session

from wholesale.customers.models import Customer, CustomerPackageRow
from wholesale.identity import repository as identity_repo
from wholesale.identity import service as identity
from wholesale.identity.models import User
from wholesale.kit import clock, ids
from wholesale.ledger import service as ledger
from wholesale.ledger.service import Kind
from wholesale.subscribers import repository, rules, service, usage
from wholesale.subscribers.models import CustomerAdminTier, Subscriber
from wholesale.subscribers.repository import Units
from wholesale.subscribers.rules import Calling, Planned

# The customer's packages are still being granted in the workflow step that creates its full admin.
GRANTING = ("provisioning", "provisioned")


def ensure_admin_subscriber(
    session: Session,
    customer: Customer,
    *,
    user: User | None = None,
    new_user: bool = False,
    rows: dict[str, CustomerPackageRow] | None = None,
) -> None:
    """Make the customer's full admin a subscriber of the customer's tier package (R5); a full cap is a package warning.

    Callers that hold the admin `user` (`new_user`: created in this transaction, so no subscriber yet) and the
    package `rows` pass them, saving the reads.
    """
    if user is None:
        user = identity.find_user(session, customer.primary_email) if customer.primary_email else None
    if (
        user is None
        or user.org_id != customer.org_id
        or (not new_user and repository.by_user(session, user.id) is not None)
    ):
        return
    rows = rows if rows is not None else repository.package_rows(session, customer.id)
    # A user made in this transaction is the customer's first admin: no tier was recorded for it yet (a get of a
    # row that does not exist always asks the database).
    recorded = None if new_user else repository.get_tier(session, customer.id)
    tier = recorded.package if recorded is not None else rules.person_tier(rows)
    if tier is None:
        return  # no person package: nothing to give
    if recorded is None:
        session.add(CustomerAdminTier(customer_id=customer.id, package=tier, created=clock.now()))
    units = repository.take_units(session, customer.id, tier, 1, statuses=GRANTING)  # R8
    if units is None:
        row = rows[tier]
        row.warnings = [
            *(row.warnings or []),
            {
                "errorCode": 3200,
                "description": f"The full administrator {user.email} did not get {tier}: its cap of {row.quantity_limit} leaves 0.",
            },
        ]
        return
    planned = Planned(user.email, tier, Calling(), free=None)
    subscriber = Subscriber(
        **service.subscriber_values(
            customer, planned, subscriber_id=ids.new_id("SUBSCRIBER"), user_id=user.id, now=clock.now()
        )
    )
    session.add(subscriber)
    usage.assigned(session, customer.partner_org_id, customer.id, subscriber.id, tier, units, subscriber.email)  # R2
    service.audit(
        session, subscriber, "subscriber.created", {"customerId": customer.id, "package": tier, "fullAdmin": True}
    )


def remove_customer_subscribers(session: Session, customer: Customer) -> int:
    """Delete every subscriber of a customer being removed, and the users of its org (a free account stays its owner's)."""
    subscribers = repository.of_customer(session, customer.id)
    # R2: each gives its unit back; the packages themselves leave the ledger when the customer's rows go.
    held = repository.package_rows(session, customer.id)
    ledger.append(
        session,
        usage.in_order(
            customer.partner_org_id,
            customer.id,
            Kind.SUBSCRIBER_RELEASED,
            [(s.id, s.package) for s in subscribers],
            {s.package: Units(0, held[s.package].quantity_limit if s.package in held else None) for s in subscribers},
        ),
    )
    repository.delete_of_customer(session, customer.id)
    org = identity_repo.get_org(session, customer.org_id) if customer.org_id else None
    if org is not None and org.kind == "customer":
        identity.delete_users(session, org_id=org.id)
    elif subscribers and customer.org_id:
        # The partner's own org (R6) keeps its other users; only subscribers' users go.
        identity.delete_users(session, org_id=customer.org_id, user_ids=[s.user_id for s in subscribers])
    service.audit_many(
        session,
        customer,
        "subscriber.deleted",
        [(s.id, {"customerId": customer.id, "package": s.package, "reason": "customer removed"}) for s in subscribers],
    )
    return len(subscribers)
