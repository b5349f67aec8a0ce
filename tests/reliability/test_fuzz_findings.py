"""Regressions for what the fuzzers of issue 16 found (tests/reliability/test_fuzz_*.py, bench/fuzz.py), one test
per finding, at the level the finding needs."""

import pytest

from helpers import customer_body


def test_a_template_only_removed_customers_used_is_a_409_not_a_500(session, tenant):
    """Stateful fuzz over our OpenAPI: template -> customer -> DELETE customer -> DELETE template answered 500
    (FOREIGN KEY constraint failed): the removed customer's tombstone still names its template."""
    from wholesale.customers import service, templates
    from wholesale.customers.schemas import CustomerCreate, TemplateIn
    from wholesale.kit.errors import Conflict
    from wholesale.provisioning import steps

    template = templates.create_template(session, tenant.tenant, TemplateIn(name="Short-lived"))
    body = customer_body(template["id"], packages=["webex_meetings"])
    customer = service.create_customer(session, tenant.tenant, CustomerCreate.model_validate(body))
    session.flush()
    steps.converge(session, customer, new=True)
    service.delete_customer(session, tenant.tenant, customer.id)
    assert steps.remove_everything(session, customer.id)
    session.flush()

    with pytest.raises(Conflict, match="1 removed customer") as refused:
        templates.delete_template(session, tenant.tenant, template["id"])
        session.flush()  # where the foreign key failed before
    assert refused.value.error_code == 409400
    assert templates.get_template(session, tenant.tenant, template["id"])["name"] == "Short-lived"


def test_same_named_customers_get_distinct_site_urls():
    """State machine (compliance cases, 100x): the ~500th customer named 'Mahan Air' failed its provisioning run with
    UNIQUE constraint failed: meetings_sites.site_url. The URL's suffix was the tail of a new id, lowercased: about
    2^18 values, so same-named customers collided within hundreds (~48 expected in 5,000); now 40 random bits."""
    from wholesale.dialin.service import _site_url

    urls = [_site_url("Mahan Air") for _ in range(5000)]
    assert len(set(urls)) == len(urls)
    assert all(url.startswith("mahan-air-") and url.endswith(".webex.com") for url in urls)
