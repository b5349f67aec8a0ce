"""R10/R11: every new customer is screened once, by a workflow of its own on the compliance queue, so its
provisioning run never waits for the screening."""

import sqlalchemy as sa
from dbos import DBOS

from helpers import customer_body, wait_for

URL = "/v1/wholesale/customers"


def _screenings(db, customer_id: str) -> list:
    from wholesale.compliance.models import Screening

    with db.session(write=False) as s:
        return list(s.scalars(sa.select(Screening).where(Screening.customer_id == customer_id)))


def test_a_new_customer_is_screened_once_by_its_own_workflow(client, partner, db):
    response = client.post(URL, json=customer_body(partner.template_id), headers=partner.headers)
    assert response.status_code == 202, response.text
    customer_id = response.json()["url"].rsplit("/", 1)[1]
    screenings = wait_for(lambda: _screenings(db, customer_id), lambda rows: len(rows) >= 1)
    assert [(s.trigger, s.decision) for s in screenings] == [("created", "clear")]
    screening = DBOS.get_workflow_status(f"compliance.screen:{customer_id}:1:created")
    assert screening is not None and screening.queue_name == "compliance"


def test_provisioning_settles_while_screening_cannot_run(client, partner, db, monkeypatch):
    """R11: a screening that fails (here: every attempt) does not hold the customer's provisioning up."""
    from wholesale.compliance import workflows

    def broken(*_args, **_kwargs):
        raise RuntimeError("screening unavailable")

    monkeypatch.setattr(workflows.lists, "get_screener", broken)
    response = client.post(URL, json=customer_body(partner.template_id), headers=partner.headers)
    url = response.json()["url"].replace("http://testserver", "")
    customer = wait_for(
        lambda: client.get(url, headers=partner.headers).json(), lambda c: c["status"] != "provisioning"
    )
    assert customer["status"] == "provisioned"
    assert _screenings(db, customer["id"]) == []
