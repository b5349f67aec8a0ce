"""Schemathesis over our own OpenAPI: no generated request to the API makes a 5xx, whoever sends it."""

import pytest
import schemathesis

from helpers import fuzz_operation

pytestmark = pytest.mark.slow


# The sandbox clock and job probes are left out: random bodies would move the session's clock or park
# hour-long durable sleeps on the shared queue; they have their own tests.
API_PATHS = "^/v1/(wholesale|subscribers|compliance|meetings|organizations|telephony)"


@pytest.fixture(scope="module")
def api_schema(app, client):
    """Our OpenAPI document, served by the app (workers already running via `client`)."""
    return schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=API_PATHS)


@pytest.fixture(scope="module")
def fuzz_partner(database_url):
    from wholesale.customers.schemas import TemplateIn
    from wholesale.customers.templates import add_template
    from wholesale.db.session import get_database
    from wholesale.identity.roles import Role
    from wholesale.identity.service import create_token
    from wholesale.partners.service import create_partner

    with get_database().transaction() as session:
        partner = create_partner(session, name="Fuzz Partner")
        token = create_token(session, org_id=partner.org_id, role=Role.PARTNER_ADMIN)
        add_template(session, partner.org_id, TemplateIn(name="Fuzz"))
    return token


@pytest.mark.parametrize("who", ["partner", "reviewer", "operator"])
def test_no_server_errors(api_schema, fuzz_partner, platform_token, who):
    # Driven by hand (not the pytest plugin, which does not support pytest 9 yet): every operation, 25 cases each.
    token = fuzz_partner if who == "partner" else platform_token(who)
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        fuzz_operation(operation, headers)
