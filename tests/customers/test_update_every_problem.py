"""A customer update checks every rule before it changes anything; the portal's change form asks for every problem at
once (issue 14, finding 3), the API still answers the first, and a refused change leaves the customer as it was."""

import pytest

from helpers import customer_body
from wholesale.customers import service as customers
from wholesale.customers.schemas import CustomerCreate, CustomerUpdate
from wholesale.kit.errors import DomainError
from wholesale.kit.problems import Problems
from wholesale.provisioning import steps


def test_an_update_reports_every_problem_for_a_form_and_the_first_for_the_api(session, tenant):
    body = customer_body(tenant.template_id, packages=["webex_meetings"])
    body.pop("provisioningParameters")
    customer = customers.create_customer(session, tenant.tenant, CustomerCreate.model_validate(body))
    steps.converge(session, customer, new=True)
    before = (customer.status, customer.external_id, customer.city, customer.revision)
    bad = CustomerUpdate.model_validate(
        {
            "packages": ["webex_meetings", "webex_calling"],  # calling without a location
            "externalId": " ",
            "address": {"addressLine1": " ", "city": "", "country": "UK"},
        }
    )
    with pytest.raises(Problems) as every:
        customers.update_customer(session, tenant.tenant, customer.id, bad, every_problem=True)
    named = {p.message.split(":", 1)[0] for p in every.value.found}
    assert named == {
        "provisioningParameters.calling.location",
        "externalId",
        "address.addressLine1",
        "address.city",
        "address.country",
    }
    with pytest.raises(DomainError) as first:
        customers.update_customer(session, tenant.tenant, customer.id, bad)
    assert not isinstance(first.value, Problems)
    assert first.value.message.startswith("provisioningParameters.calling.location:")
    assert (customer.status, customer.external_id, customer.city, customer.revision) == before  # nothing changed
    good = CustomerUpdate.model_validate({"packages": ["webex_meetings"], "externalId": "renamed"})
    customers.update_customer(session, tenant.tenant, customer.id, good, every_problem=True)
    assert customer.status == "updating" and customer.external_id == "renamed"
