"""Helpers of the dial-in tests (importable as `dialin_support`): a test domain, addresses, customers, sites, audit."""

from typing import Any

import sqlalchemy as sa

from helpers import customer_body, wait_for

# A small domain the e2e tests reason about. NZ is absent on purpose (ANZ falls back to AU).
TEST_DOMAIN_CSV = """country,number,label,tollType,available
US,+14085550142,United States Toll (San Jose),toll,true
US,+16465550199,United States Toll (New York),toll,true
CA,+14165550177,Canada Toll (Toronto),toll,true
FR,+33170918646,France Toll (Paris),toll,true
JP,+81345781488,Japan Toll (Tokyo),toll,true
AE,+97145217710,United Arab Emirates Toll (Dubai),toll,true
AU,+61280735099,Australia Toll (Sydney),toll,true
GB,+442071234567,United Kingdom Toll (London),toll,true
DE,+493012345678,Germany Toll (Berlin),toll,true
SG,+6531234567,Singapore Toll,toll,true
"""

ADDRESSES: dict[str, dict[str, Any]] = {
    "US": {
        "addressLine1": "771 Alder Drive",
        "city": "Milpitas",
        "stateOrProvince": "CA",
        "zipOrPostalCode": "95035",
        "country": "US",
    },
    "CA": {
        "addressLine1": "1 Front St W",
        "city": "Toronto",
        "stateOrProvince": "ON",
        "zipOrPostalCode": "M5J 2X5",
        "country": "CA",
    },
    "FR": {"addressLine1": "5 Rue de Rivoli", "city": "Paris", "zipOrPostalCode": "75001", "country": "FR"},
    "JP": {"addressLine1": "1-1 Marunouchi", "city": "Tokyo", "zipOrPostalCode": "100-0005", "country": "JP"},
    "NZ": {"addressLine1": "1 Queen Street", "city": "Auckland", "zipOrPostalCode": "1010", "country": "NZ"},
    "AE": {"addressLine1": "Sheikh Zayed Road 1", "city": "Dubai", "country": "AE"},
    "GB": {"addressLine1": "10 Downing Street", "city": "London", "zipOrPostalCode": "SW1A 2AA", "country": "GB"},
}


def create_customer(client, partner, country: str, packages: list[str] | None = None) -> dict[str, Any]:
    """Create a customer in a country through the API and wait until it settles."""
    body = customer_body(partner.template_id, packages=packages or ["webex_meetings"], address=dict(ADDRESSES[country]))
    body.pop("provisioningParameters")
    response = client.post("/v1/wholesale/customers", json=body, headers=partner.headers)
    assert response.status_code == 202, response.text
    return settle(client, partner, response.json()["url"].replace("http://testserver", ""))


def settle(client, partner, url: str) -> dict[str, Any]:
    """Poll a customer until its status settles."""
    return wait_for(
        lambda: client.get(url, headers=partner.headers).json(),
        lambda c: c.get("status") not in ("provisioning", "updating", "deleting"),
        timeout=30,
    )


def site_of(client, headers: dict[str, str], org_id: str) -> dict[str, Any]:
    """Read the one meetings site of an org through the sites API."""
    response = client.get("/v1/meetings/sites", params={"orgId": org_id}, headers=headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) == 1, items
    return items[0]


def audit(db, subject_id: str, action: str) -> list[dict[str, Any]]:
    """Return the data of a subject's audit events with an action, oldest first."""
    from wholesale.events.models import AuditEvent

    with db.session(write=False) as s:
        rows = s.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.subject_id == subject_id, AuditEvent.action == action)
            .order_by(AuditEvent.id)
        ).all()
        return [r.data for r in rows]
