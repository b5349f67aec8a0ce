"""A customer create that reports every problem of its request at once, for a form that shows them all together
(the portal's); the API's create and precheck answer the first problem, as before."""

from sqlalchemy.orm import Session

from wholesale.customers import rules, service
from wholesale.customers.models import Customer
from wholesale.customers.schemas import CustomerCreate
from wholesale.partners.tenancy import Tenant


def create_customer(session: Session, tenant: Tenant, body: CustomerCreate) -> Customer:
    """Run every create rule first and raise all their problems together (kit.problems.Problems, or the one
    problem itself); then create exactly as service.create_customer does (which checks again, within its own
    plan, so nothing is skipped)."""
    rules.plan_create(session, tenant.partner, body, every_problem=True)
    return service.create_customer(session, tenant, body)
