"""Every field rule of customer create/update/validate: 400 naming the field, 409 for conflicts (R8, R9, R15)."""

import copy
import uuid

import pytest

from helpers import assert_error_body, customer_body

URL = "/v1/wholesale/customers"


def _post(client, partner, body, url=URL):
    return client.post(url, json=body, headers=partner.headers)


def _set(body, path, value):
    target = body
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[key]
    if value is KeyError:
        target.pop(keys[-1], None)
    else:
        target[keys[-1]] = value
    return body


CASES = [
    ("address.country", "UK", "use 'GB'"),
    ("address.country", "XX", "not an ISO-3166 alpha-2"),
    ("address.country", "USA", "not an ISO-3166 alpha-2"),
    ("address.country", "", "is required"),
    ("address.addressLine1", "x" * 51, "at most 50"),
    ("address.addressLine2", "y" * 51, "at most 50"),
    ("address.stateOrProvince", KeyError, "required for addresses in US"),
    ("address.stateOrProvince", "ZZ", "not a state or province of US"),
    ("customerInfo.name", "50% Off Ltd", "must not contain '%'"),
    ("customerInfo.primaryEmail", "not-an-email", "not a valid email"),
    ("customerInfo.language", "klingon", "language code"),
    ("provisioningParameters.calling.location.timezone", "Mars/Olympus", "IANA time zone"),
    ("provisioningParameters.calling.location.address.country", "ZZ", "not an ISO-3166"),
    ("provisioningParameters.calling", KeyError, "is required when a calling package"),
    ("provisioningId", "nope", "not a customer template of this partner"),
    ("packages", [], "at least one package"),
    ("packages", ["webex_meetings", "cisco_calling_plan"], "cisco_calling_plan is an add-on"),
    ("packages", ["webex_meetings", "attendant_console"], "attendant_console is an add-on"),
    ("packages", ["webex_voice", "attendant_console"], "attendant_console is an add-on"),
    ("packages", ["webex_teleporter"], "packages.0"),
    ("customerInfo", KeyError, "customerInfo: is required for a new customer"),
]


@pytest.mark.parametrize(("path", "value", "expected"), CASES, ids=[f"{c[0]}={str(c[1])[:12]}" for c in CASES])
def test_create_rejects_with_the_field_named(client, partner, path, value, expected):
    body = _set(customer_body(partner.template_id), path, value)
    err = assert_error_body(_post(client, partner, body), 400)
    assert expected in err["message"], err["message"]
    field = path.split(".")[0]
    assert field in err["message"]


# The precheck body has no customerInfo.language (spec) and customerInfo is optional there.
@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [c for c in CASES if c[0] not in ("customerInfo", "customerInfo.language", "provisioningId")],
)
def test_precheck_runs_the_same_rules(client, partner, path, value, expected):
    body = _set(customer_body(partner.template_id), path, value)
    assert expected in assert_error_body(_post(client, partner, body, URL + "/validate"), 400)["message"]


def test_addons_with_a_base_package_are_accepted(client, partner):
    for packages in (
        ["webex_calling", "cisco_calling_plan"],
        ["cx_essentials", "attendant_console"],
        ["common_area_calling", "cisco_calling_plan"],
    ):
        assert _post(client, partner, customer_body(partner.template_id, packages=packages)).status_code == 202


def test_state_or_province_accepts_codes_and_names_and_is_normalised(client, partner):
    from helpers import wait_for

    body = customer_body(partner.template_id)
    body["address"]["stateOrProvince"] = "California"
    url = _post(client, partner, body).json()["url"].replace("http://testserver", "")
    customer = wait_for(
        lambda: client.get(url, headers=partner.headers).json(), lambda c: c["status"] != "provisioning"
    )
    assert customer["address"]["stateOrProvince"] == "CA"
    ca = customer_body(partner.template_id, packages=["webex_meetings"])
    ca.pop("provisioningParameters")
    ca["address"] |= {"country": "CA", "stateOrProvince": "ON", "city": "Toronto"}
    assert _post(client, partner, ca).status_code == 202
    gb = copy.deepcopy(ca)
    gb["externalId"] += "-gb"
    gb["customerInfo"]["primaryEmail"] = "gb-" + gb["customerInfo"]["primaryEmail"]
    gb["address"] = {"addressLine1": "1 Main St", "city": "London", "country": "gb"}
    assert _post(client, partner, gb).status_code == 202  # no state needed in GB; country upper-cased


def test_duplicate_external_id_is_409(client, partner):
    body = customer_body(partner.template_id)
    assert _post(client, partner, body).status_code == 202
    again = customer_body(partner.template_id, externalId=body["externalId"])
    assert "already exists" in assert_error_body(_post(client, partner, again), 409)["message"]


def test_same_external_id_is_fine_for_another_partner(client, make_partner):
    a, b = make_partner(), make_partner()
    body = customer_body(a.template_id)
    assert _post(client, a, body).status_code == 202
    assert _post(client, b, customer_body(b.template_id, externalId=body["externalId"])).status_code == 202


def test_primary_email_already_in_use_is_the_spec_error_10022(client, partner):
    from helpers import wait_for

    body = customer_body(partner.template_id)
    url = _post(client, partner, body).json()["url"].replace("http://testserver", "")
    wait_for(lambda: client.get(url, headers=partner.headers).json()["status"], lambda s: s == "provisioned")
    again = customer_body(partner.template_id, customerInfo=body["customerInfo"])
    err = assert_error_body(_post(client, partner, again), 400)
    assert err["errors"][0]["errorCode"] == 10022


def test_template_allowed_packages_are_enforced(client, make_partner):
    p = make_partner(allowedPackages=["webex_meetings"])
    err = assert_error_body(_post(client, p, customer_body(p.template_id)), 400)
    assert "does not allow webex_calling" in err["message"]


def test_another_partners_template_is_refused(client, make_partner):
    a, b = make_partner(), make_partner()
    err = assert_error_body(_post(client, a, customer_body(b.template_id)), 400)
    assert "provisioningId" in err["message"]


def test_negative_limits_are_refused(client, partner):
    body = customer_body(partner.template_id)
    body["provisioningParameters"]["packages"] = {"limits": {"webex_calling": -1}}
    assert "limits" in assert_error_body(_post(client, partner, body), 400)["message"]


def test_org_id_must_be_an_org_of_the_partner(client, make_partner):
    a, b = make_partner(), make_partner()
    body = customer_body(a.template_id, orgId=b.org_id)
    body.pop("customerInfo")
    assert "orgId" in assert_error_body(_post(client, a, body), 400)["message"]


def test_precheck_answers_the_spec_success_shape_and_writes_nothing(client, partner):
    from helpers import validate_against_spec

    body = customer_body(partner.template_id)
    ok = _post(client, partner, body, URL + "/validate")
    assert ok.status_code == 200
    assert ok.json() == {
        "message": "success",
        "info": {"infoCode": 100, "description": "Provisioning preCheck validation successful."},
    }
    validate_against_spec(ok.json(), "CustomerProvisioningPrecheckResponse")
    minimal = {"address": body["address"], "customerInfo": {"primaryEmail": "someone@example.com"}}
    assert _post(client, partner, minimal, URL + "/validate").status_code == 200
    listed = client.get(f"{URL}?externalId={body['externalId']}", headers=partner.headers).json()
    assert listed["items"] == []


def test_parallel_creates_with_one_primary_email_accept_exactly_one(client, make_partner):
    """Issue 16, probe 7: twenty parallel creates with one primaryEmail were all accepted, and 19 ended
    provisioned_with_errors with an org and no admin. The email is held from the create on, for every partner."""
    import threading

    from helpers import wait_for

    a, b = make_partner(), make_partner()
    email = f"shared-{uuid.uuid4().hex[:8]}@example.com"
    results: list[tuple[str, int, dict]] = []

    def post(p) -> None:
        body = customer_body(p.template_id)
        body["customerInfo"]["primaryEmail"] = email
        response = _post(client, p, body)
        results.append((p.headers["Authorization"], response.status_code, response.json()))

    threads = [threading.Thread(target=post, args=(a if i % 2 else b,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = [r for r in results if r[1] == 202]
    refused = [r for r in results if r[1] != 202]
    assert len(accepted) == 1, [r[1] for r in results]
    assert {r[1] for r in refused} == {400}
    assert {r[2]["errors"][0]["errorCode"] for r in refused} == {10022}
    owner = a if accepted[0][0] == a.headers["Authorization"] else b
    url = accepted[0][2]["url"].replace("http://testserver", "")
    status = wait_for(lambda: client.get(url, headers=owner.headers).json()["status"], lambda s: s != "provisioning")
    assert status == "provisioned"
    for p in (a, b):
        listed = client.get("/v1/wholesale/customers", headers=p.headers).json()["items"]
        assert len(listed) == (1 if p is owner else 0)


def test_precheck_tells_a_partner_nothing_of_another_partners_emails(client, make_partner):
    """Issue 16, probe 11 for customers: a precheck answered partner B that an email was partner A's customer's
    admin (or pending customer). Now B's precheck of it is byte-identical to one of an email nobody uses; A's own
    precheck still says 10022, and B's create still fails with the generic 10022 (emails are platform-wide)."""
    import re

    from helpers import wait_for

    a, b = make_partner(), make_partner()
    provisioned = customer_body(a.template_id)
    url = _post(client, a, provisioned).json()["url"].replace("http://testserver", "")
    wait_for(lambda: client.get(url, headers=a.headers).json()["status"], lambda s: s == "provisioned")
    pending = customer_body(a.template_id)  # held by a live customer of A (provisioning or not)
    assert _post(client, a, pending).status_code == 202

    def precheck(p, email: str) -> tuple[int, str]:
        body = {"address": provisioned["address"], "customerInfo": {"primaryEmail": email}}
        response = _post(client, p, body, URL + "/validate")
        text = re.sub(r'"trackingId":\s*"[^"]*"', "", response.text).replace(email, "<email>")
        return response.status_code, text

    nobody = precheck(b, f"nobody-{uuid.uuid4().hex[:8]}@example.com")
    assert nobody[0] == 200
    for body in (provisioned, pending):
        email = body["customerInfo"]["primaryEmail"]
        assert precheck(b, email) == nobody
        assert precheck(a, email)[0] == 400 and "10022" in precheck(a, email)[1]
        again = customer_body(b.template_id)
        again["customerInfo"]["primaryEmail"] = email
        err = assert_error_body(_post(client, b, again), 400)
        assert err["errors"][0]["errorCode"] == 10022 and a.org_id not in str(err)
