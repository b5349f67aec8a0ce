"""R10/R11: every new customer is screened once, by a workflow on the compliance queue (one for each provisioning
batch), so its provisioning run never waits for the screening."""

import time

import pytest
import sqlalchemy as sa
from dbos import DBOS

from helpers import customer_body, wait_for

URL = "/v1/wholesale/customers"


def _screenings(db, customer_id: str) -> list:
    from wholesale.compliance.models import Screening

    with db.session(write=False) as s:
        return list(s.scalars(sa.select(Screening).where(Screening.customer_id == customer_id)))


def test_a_new_customer_is_screened_once_off_its_provisioning_run(client, partner, db):
    response = client.post(URL, json=customer_body(partner.template_id), headers=partner.headers)
    assert response.status_code == 202, response.text
    customer_id = response.json()["url"].rsplit("/", 1)[1]
    screenings = wait_for(lambda: _screenings(db, customer_id), lambda rows: len(rows) >= 1)
    assert [(s.trigger, s.decision) for s in screenings] == [("created", "clear")]
    # By the workflow its provisioning batch enqueued for the batch's screenings, on the compliance queue (it ends
    # just after it recorded the screening).
    (screening,) = wait_for(
        lambda: [
            w
            for w in DBOS.list_workflows(name="compliance.screen_batch", status="SUCCESS")
            if [customer_id, "created"] in w.input["args"][0]
        ],
        lambda found: len(found) == 1,
    )
    assert screening.queue_name == "compliance"


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


def _create(client, partner) -> str:
    response = client.post(URL, json=customer_body(partner.template_id), headers=partner.headers)
    assert response.status_code == 202, response.text
    return response.json()["url"].rsplit("/", 1)[1]


@pytest.mark.parametrize("stage", ["screen", "record"])
def test_a_screening_that_fails_in_its_batch_gets_a_job_of_its_own_and_the_others_are_recorded(
    client, partner, db, monkeypatch, stage
):
    """R10: a screening cannot be skipped. One that fails in its batch's workflow, while screening (`screen`) or
    while being recorded (`record`), is handed to a `compliance.screen_customer` job of its own; the batch's other
    screenings are recorded by the batch, each once."""
    from wholesale.compliance import service as compliance

    failed: list[str] = []
    victim: list[str] = []
    name = "query_for" if stage == "screen" else "screen_customer"
    real = getattr(compliance, name)

    def once(*args, **kwargs):
        customer_id = args[0].id if stage == "screen" else args[1]
        if victim and customer_id == victim[0] and not failed:
            failed.append(customer_id)
            raise RuntimeError(f"{stage} failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(compliance, name, once)
    victim.append(_create(client, partner))
    others = [_create(client, partner) for _ in range(2)]
    for customer_id in [victim[0], *others]:
        rows = wait_for(lambda cid=customer_id: _screenings(db, cid), lambda rows: len(rows) >= 1)
        assert [(s.trigger, s.decision) for s in rows] == [("created", "clear")]
    assert failed == victim
    alone = DBOS.get_workflow_status(f"compliance.screen:{victim[0]}:1:created")
    assert alone is not None and alone.queue_name == "compliance"
    for customer_id in others:
        assert DBOS.get_workflow_status(f"compliance.screen:{customer_id}:1:created") is None
    wait_for(lambda: DBOS.get_workflow_status(alone.workflow_id).status, lambda s: s == "SUCCESS")
    time.sleep(0.5)  # nothing screens anyone a second time
    assert [len(_screenings(db, cid)) for cid in [victim[0], *others]] == [1, 1, 1]
