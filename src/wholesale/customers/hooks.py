"""Where other domains hook into the customer lifecycle (compliance screening, subscriber removal)."""

from sqlalchemy.orm import Session

from wholesale.customers.models import Customer

_address_listeners: list = []


def on_address_changed(listener) -> None:  # noqa: ANN001
    """Register a function called (in the same transaction) when a billing address is set or changes (R10)."""
    _address_listeners.append(listener)


def address_changed(session: Session, customer: Customer) -> None:
    """Tell listeners the billing address was set or changed."""
    for listener in _address_listeners:
        listener(session, customer)


def customer_removing(session: Session, customer: Customer) -> None:
    """Remove the customer's subscribers and their users, in the removal's transaction."""
    from wholesale.subscribers import service as subscribers

    subscribers.remove_customer_subscribers(session, customer)
