"""Where other domains take part in the customer lifecycle, inside its transaction."""

from sqlalchemy.orm import Session

from wholesale.customers.models import Customer


def customer_removing(session: Session, customer: Customer) -> None:
    """Remove the customer's subscribers and their users, in the removal's transaction."""
    from wholesale.subscribers import service as subscribers

    subscribers.remove_customer_subscribers(session, customer)
