"""Customer rules at service level, on a session rolled back after each test: no HTTP, no worker, milliseconds.

A provisioned customer is made by running the whole provisioning run (`provisioning.steps.converge`) in the
test's own transaction, which is exactly what the workflow's one step does.
"""

from typing import Any

import pytest

from helpers import customer_body
from wholesale.customers import service, templates
from wholesale.customers.schemas import CustomerCreate, CustomerUpdate
from wholesale.kit.errors import Conflict, Forbidden, NotFound
from wholesale.provisioning import steps


def _provisioned(session, ctx, **overrides: Any):
    customer = service.create_customer(
        session, ctx.tenant, CustomerCreate.model_validate(customer_body(ctx.template_id, **overrides))
    )
    failed, status = steps.converge(session, customer, new=True)
    assert (failed, status) == ({}, "provisioned")
    return customer


def test_update_is_refused_while_provisioning(session, tenant):
    customer = service.create_customer(
        session, tenant.tenant, CustomerCreate.model_validate(customer_body(tenant.template_id))
    )
    with pytest.raises(Conflict, match="cannot take 'update_requested'"):
        service.update_customer(
            session, tenant.tenant, customer.id, CustomerUpdate.model_validate({"packages": ["webex_meetings"]})
        )


def test_removing_a_package_in_use_is_409_naming_the_holders(session, tenant):
    from wholesale.customers.models import CustomerPackageRow

    customer = _provisioned(session, tenant)
    row = session.get(CustomerPackageRow, (customer.id, "webex_calling"))
    row.assigned = 3
    with pytest.raises(Conflict, match=r"while 3 user\(s\) hold it"):
        service.update_customer(
            session, tenant.tenant, customer.id, CustomerUpdate.model_validate({"packages": ["webex_meetings"]})
        )
    below = {
        "packages": ["webex_meetings", "webex_calling"],
        "provisioningParameters": {"packages": {"limits": {"webex_calling": 2}}},
    }
    with pytest.raises(Conflict, match="2 is below the 3 already assigned"):
        service.update_customer(session, tenant.tenant, customer.id, CustomerUpdate.model_validate(below))
    assert customer.status == "provisioned"  # nothing changed


def test_limits_are_stored_and_shown(session, tenant):
    """R2/R8: the partner states quantities per package and sees caps and assigned units to reconcile with."""
    params = customer_body(tenant.template_id)["provisioningParameters"]
    params["packages"] = {"limits": {"webex_calling": 5, "webex_suite": 9}}
    customer = _provisioned(session, tenant, provisioningParameters=params)
    read = service.get_customer(session, tenant.tenant, customer.id, include_licenses=False)
    packages = {p["name"]: p for p in read["resourceDetails"]["packages"]}
    assert packages["webex_calling"]["quantityLimit"] == 5 and "quantityLimit" not in packages["webex_meetings"]
    update = CustomerUpdate.model_validate({"packages": ["webex_meetings", "webex_calling", "webex_suite"]})
    service.update_customer(session, tenant.tenant, customer.id, update)
    steps.converge(session, customer, new=False)
    read = service.get_customer(session, tenant.tenant, customer.id, include_licenses=False)
    assert {p["name"]: p.get("quantityLimit") for p in read["resourceDetails"]["packages"]}["webex_suite"] == 9


def test_another_partners_customer_is_not_found_for_reads_and_writes(session, make_tenant):
    mine, theirs = make_tenant(), make_tenant()
    customer = _provisioned(session, theirs)
    with pytest.raises(NotFound):
        service.get_customer(session, mine.tenant, customer.id, include_licenses=False)
    with pytest.raises(NotFound):
        service.delete_customer(session, mine.tenant, customer.id)
    assert service.get_customer(session, theirs.tenant, customer.id, include_licenses=False)["id"] == customer.id


def test_a_sub_partner_sees_its_own_customers_and_its_parent_does_not_without_acting(session, make_tenant):
    parent = make_tenant()
    sub = make_tenant(parent=parent.partner_org_id)
    customer = _provisioned(session, sub)
    assert service.get_customer(session, sub.tenant, customer.id, include_licenses=False)["id"] == customer.id
    with pytest.raises(NotFound):
        service.get_customer(session, parent.tenant, customer.id, include_licenses=False)


def test_a_suspended_partner_resolves_for_reads_but_not_for_writes(session, make_tenant):
    from wholesale.partners import tenancy
    from wholesale.partners.models import Partner

    ctx = make_tenant()
    session.get(Partner, ctx.partner_org_id).provisioning_state = "suspended"
    principal = ctx.tenant.principal
    assert tenancy.resolve(session, principal, None, writing=False).partner == ctx.partner_org_id
    with pytest.raises(Forbidden, match="suspended"):
        tenancy.resolve(session, principal, None, writing=True)


def test_template_allowed_packages_and_deletion_in_use(session, tenant):
    from wholesale.customers.schemas import TemplateIn

    narrow = templates.create_template(
        session, tenant.tenant, TemplateIn(name="Meetings only", allowedPackages=["webex_meetings"])
    )
    body = customer_body(narrow["id"], packages=["webex_meetings", "webex_calling"])
    with pytest.raises(Exception, match="does not allow webex_calling"):
        service.create_customer(session, tenant.tenant, CustomerCreate.model_validate(body))
    _provisioned(session, tenant)
    with pytest.raises(Conflict, match="used by 1 customer"):
        templates.delete_template(session, tenant.tenant, tenant.template_id)
