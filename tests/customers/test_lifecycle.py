"""Customer provisioning end to end: workflow steps, retries after injected failures, update, delete, R6, R16."""

import pytest
import sqlalchemy as sa

from helpers import assert_error_body, customer_body, validate_against_spec, wait_for
from wholesale.kit import faults

URL = "/v1/wholesale/customers"


def _create(client, partner, **overrides) -> str:
    response = client.post(URL, json=customer_body(partner.template_id, **overrides), headers=partner.headers)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == response.json()["url"]
    validate_against_spec(response.json(), "ResourceURL")
    return response.json()["url"].replace("http://testserver", "")


def _settled(client, partner, url, timeout=30):
    return wait_for(
        lambda: client.get(url, headers=partner.headers).json(),
        lambda c: c.get("status") not in ("provisioning", "updating", "deleting"),
        timeout=timeout,
    )


def test_post_202_then_provisioned_with_org_country_from_billing_address(client, partner, db):
    """R1/R3 and R15/R16 end to end: the partner onboards by API alone (no order, no human step), and the
    identity org's country is the billing country."""
    body = customer_body(partner.template_id)
    body["address"] |= {"country": "CA", "stateOrProvince": "BC", "city": "Vancouver"}
    url = _create(client, partner, **body)
    first = client.get(url, headers=partner.headers).json()
    assert first["status"] in ("provisioning", "provisioned")
    customer = _settled(client, partner, url)
    assert customer["status"] == "provisioned"
    validate_against_spec(customer, "Customer")
    org = client.get(f"/v1/organizations/{customer['orgId']}", headers=partner.headers).json()
    assert org["countryCode"] == "CA" and org["displayName"] == body["customerInfo"]["name"]
    detailed = client.get(url + "?includePackageLicenseInfo=true", headers=partner.headers).json()
    for package in detailed["resourceDetails"]["packages"]:
        assert package["status"] == "provisioned" and len(package["licenseIds"]) == 1
    from wholesale.customers.models import CallingLocation
    from wholesale.dialin.models import MeetingsSite
    from wholesale.identity.models import User

    with db.session(write=False) as s:
        admin = s.scalars(sa.select(User).where(User.email == body["customerInfo"]["primaryEmail"])).one()
        assert admin.org_id == customer["orgId"] and admin.roles == ["full_admin"]
        assert s.scalars(sa.select(MeetingsSite).where(MeetingsSite.org_id == customer["orgId"])).one()
        assert (
            s.scalars(sa.select(CallingLocation).where(CallingLocation.org_id == customer["orgId"])).one().timezone
            == "America/Los_Angeles"
        )


@pytest.mark.parametrize(
    "step",
    [
        "customers.org",
        "customers.admin",
        "customers.site",
        "customers.location",
        "customers.grant:webex_calling",
        "customers.finish",
    ],
)
def test_each_step_is_retried_after_an_injected_failure(client, partner, step):
    faults.inject(step, times=2)
    url = _create(client, partner)
    customer = _settled(client, partner, url)
    assert customer["status"] == "provisioned", customer
    assert step not in faults._pending  # the fault fired twice, then the retry succeeded


def test_a_package_that_never_grants_gives_provisioned_with_errors(client, partner):
    faults.inject(
        "customers.grant:webex_calling",
        times=100,
        error_code=2560,
        description="Webex Calling services are down for maintenance.",
    )
    customer = _settled(client, partner, _create(client, partner))
    assert customer["status"] == "provisioned_with_errors"
    validate_against_spec(customer, "Customer")
    packages = {p["name"]: p for p in customer["resourceDetails"]["packages"]}
    assert packages["webex_calling"]["status"] == "error"
    assert packages["webex_calling"]["errors"] == [
        {"errorCode": 2560, "description": "Webex Calling services are down for maintenance."}
    ]
    assert packages["webex_meetings"]["status"] == "provisioned"


def test_a_step_that_never_succeeds_gives_error(client, partner):
    faults.inject("customers.org", times=100, error_code=2500, description="Identity directory unavailable.")
    customer = _settled(client, partner, _create(client, partner))
    assert customer["status"] == "error"
    assert customer["errors"][0]["description"] == "Identity directory unavailable."
    # An update retries a customer in error.
    faults.clear()
    update = client.put(
        customer["id"].join([URL + "/", ""]),
        json={"packages": ["webex_meetings", "webex_calling"]},
        headers=partner.headers,
    )
    assert update.status_code == 202
    assert _settled(client, partner, f"{URL}/{customer['id']}")["status"] == "provisioned"


def test_update_adds_and_removes_packages(client, partner):
    """R4: after onboarding the partner keeps managing the customer through the API."""
    url = _create(client, partner)
    _settled(client, partner, url)
    update = client.put(url, json={"packages": ["webex_calling", "webex_suite"]}, headers=partner.headers)
    assert update.status_code == 202 and update.json()["url"].endswith(url)
    customer = _settled(client, partner, url)
    assert customer["status"] == "provisioned"
    assert customer["packages"] == ["webex_calling", "webex_suite"]


def test_address_change_moves_the_org_country(client, partner):
    """R16 after a change: the org country follows the billing country."""
    url = _create(client, partner)
    customer = _settled(client, partner, url)
    new_address = {"addressLine1": "10 Rue de Rivoli", "city": "Paris", "zipOrPostalCode": "75001", "country": "FR"}
    assert (
        client.put(
            url, json={"packages": customer["packages"], "address": new_address}, headers=partner.headers
        ).status_code
        == 202
    )
    customer = _settled(client, partner, url)
    assert customer["address"]["country"] == "FR"
    assert client.get(f"/v1/organizations/{customer['orgId']}", headers=partner.headers).json()["countryCode"] == "FR"


def test_delete_goes_through_deleting_then_404_and_keeps_a_tombstone(client, partner, db):
    from wholesale.customers.models import Customer
    from wholesale.events.models import AuditEvent

    body = customer_body(partner.template_id)
    url = _create(client, partner, externalId=body["externalId"])
    customer = _settled(client, partner, url)
    deleted = client.delete(url, headers=partner.headers)
    assert deleted.status_code == 202 and deleted.content == b""
    wait_for(lambda: client.get(url, headers=partner.headers).status_code, lambda code: code == 404)
    with db.session(write=False) as s:
        tomb = s.get(Customer, customer["id"])
        actions = list(
            s.scalars(
                sa.select(AuditEvent.action).where(AuditEvent.subject_id == customer["id"]).order_by(AuditEvent.id)
            )
        )
    assert tomb.status == "deleted" and tomb.deleted_at is not None
    assert actions[0] == "customer.created" and actions[-2:] == ["customer.delete_requested", "customer.deleted"]
    # The external id is free again.
    assert (
        client.post(
            URL, json=customer_body(partner.template_id, externalId=body["externalId"]), headers=partner.headers
        ).status_code
        == 202
    )


def test_delete_while_provisioning_wins(client, partner):
    faults.inject("customers.site", times=2)
    url = _create(client, partner)
    assert client.delete(url, headers=partner.headers).status_code == 202
    wait_for(lambda: client.get(url, headers=partner.headers).status_code, lambda code: code == 404)


def test_partner_own_org_appears_flagged_and_leaves_when_cancelled(client, partner):
    """R6: a wholesale subscription for the partner's own org lists it; cancelling removes it by itself."""
    body = customer_body(partner.template_id, orgId=partner.org_id, packages=["webex_meetings"])
    body.pop("customerInfo")
    body.pop("provisioningParameters")
    response = client.post(URL, json=body, headers=partner.headers)
    assert response.status_code == 202
    url = response.json()["url"].replace("http://testserver", "")
    customer = _settled(client, partner, url)
    assert customer["isPartnerOrg"] is True and customer["orgId"] == partner.org_id
    listed = client.get(URL, headers=partner.headers).json()["items"]
    assert [c["id"] for c in listed if c["isPartnerOrg"]] == [customer["id"]]
    validate_against_spec({"items": listed}, "CustomerListResponse")
    client.delete(url, headers=partner.headers)
    wait_for(
        lambda: [c["id"] for c in client.get(URL, headers=partner.headers).json()["items"]],
        lambda ids: customer["id"] not in ids,
    )


def test_list_filters(client, partner):
    a = _create(client, partner)
    b_body = customer_body(partner.template_id)
    b = _create(client, partner, externalId=b_body["externalId"])
    ca, cb = _settled(client, partner, a), _settled(client, partner, b)
    by_ext = client.get(f"{URL}?externalId={b_body['externalId']}", headers=partner.headers).json()["items"]
    assert [c["id"] for c in by_ext] == [cb["id"]]
    by_org = client.get(f"{URL}?orgId={ca['orgId']}", headers=partner.headers).json()["items"]
    assert [c["id"] for c in by_org] == [ca["id"]]
    for query in ("status=provisioned,error", "status=provisioned&status=error"):
        assert {ca["id"], cb["id"]} <= {
            c["id"] for c in client.get(f"{URL}?{query}", headers=partner.headers).json()["items"]
        }
    assert client.get(f"{URL}?status=error", headers=partner.headers).json()["items"] == []
    assert_error_body(client.get(f"{URL}?status=bogus", headers=partner.headers), 400)


def test_templates_crud(client, make_partner):
    a, b = make_partner(), make_partner()
    created = client.post(
        "/v1/wholesale/customerTemplates",
        json={
            "name": "Gold",
            "language": "de_de",
            "meetingsTimezone": "Europe/Berlin",
            "pstnEnabled": False,
            "allowedPackages": ["webex_suite"],
        },
        headers=a.headers,
    )
    assert created.status_code == 201
    tid = created.json()["id"]
    assert client.get(f"/v1/wholesale/customerTemplates/{tid}", headers=a.headers).json()["pstnEnabled"] is False
    assert_error_body(client.get(f"/v1/wholesale/customerTemplates/{tid}", headers=b.headers), 404)
    ids = [t["id"] for t in client.get("/v1/wholesale/customerTemplates", headers=a.headers).json()["items"]]
    assert tid in ids and a.template_id in ids
    replaced = client.put(f"/v1/wholesale/customerTemplates/{tid}", json={"name": "Gold 2"}, headers=a.headers).json()
    assert replaced["name"] == "Gold 2" and replaced["pstnEnabled"] is True and "allowedPackages" not in replaced
    assert_error_body(
        client.post(
            "/v1/wholesale/customerTemplates", json={"name": "x", "meetingsTimezone": "Nowhere/Land"}, headers=a.headers
        ),
        400,
    )
    _create(client, a)
    assert (
        "used by 1 customer"
        in assert_error_body(client.delete(f"/v1/wholesale/customerTemplates/{a.template_id}", headers=a.headers), 409)[
            "message"
        ]
    )
    assert client.delete(f"/v1/wholesale/customerTemplates/{tid}", headers=a.headers).status_code == 204
    assert_error_body(client.get(f"/v1/wholesale/customerTemplates/{tid}", headers=a.headers), 404)


def test_suspended_sub_partner_may_read_and_delete_but_not_create(client, make_partner, db):
    from wholesale.partners.models import Partner

    parent = make_partner()
    sub = make_partner(parent=parent.org_id)
    url = _create(client, sub)
    _settled(client, sub, url)
    with db.transaction() as s:
        s.get(Partner, sub.org_id).provisioning_state = "suspended"
    assert_error_body(client.post(URL, json=customer_body(sub.template_id), headers=sub.headers), 403)
    assert client.get(url, headers=sub.headers).status_code == 200
    assert client.delete(url, headers=sub.headers).status_code == 202
