"""Status filters apply before paging (issue 14, finding 1): every page is full and `has_more` means another row
exists, for `pending_rpl_review` (R11: a settled customer under a compliance hold, its services active) as for
stored statuses."""

from helpers import customer_body
from wholesale.customers import service as customers
from wholesale.customers.schemas import CustomerCreate
from wholesale.kit.pagination import PageParams
from wholesale.provisioning import steps


def _listed(session, tenant, statuses, max_, offset=0):
    page = customers.list_customers(
        session,
        tenant.tenant,
        PageParams(max=max_, offset=offset),
        external_id=None,
        org_id=None,
        statuses=statuses,
        include_licenses=False,
    )
    return [i["id"] for i in page.items], page.has_more


def test_pending_rpl_review_pages_are_full_and_end_where_the_rows_end(session, tenant):
    made = []
    for n in range(6):
        body = customer_body(tenant.template_id, packages=["webex_meetings"])
        body.pop("provisioningParameters")
        customer = customers.create_customer(session, tenant.tenant, CustomerCreate.model_validate(body))
        steps.converge(session, customer, new=True)
        customer.compliance_hold = n % 2 == 0  # 0, 2, 4 are under review
        made.append(customer.id)
    session.flush()
    held, free = made[0::2], made[1::2]
    assert _listed(session, tenant, ["pending_rpl_review"], 2) == (held[:2], True)
    assert _listed(session, tenant, ["pending_rpl_review"], 2, offset=2) == (held[2:], False)
    assert _listed(session, tenant, ["provisioned"], 10) == (free, False)
    both, _ = _listed(session, tenant, ["provisioned", "pending_rpl_review"], 10)
    assert both == made
    assert _listed(session, tenant, ["provisioning"], 10) == ([], False)
