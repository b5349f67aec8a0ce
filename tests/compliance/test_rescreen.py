"""R10 after a list update: one job re-screens every live customer once per list version, in chunks."""

import uuid

import pytest
import sqlalchemy as sa

from helpers import customer_body, wait_for
from wholesale.compliance import service as compliance
from wholesale.jobs.enqueue import enqueue

URL = "/v1/wholesale/customers"


def _rescreens(db, customer_ids: list[str]) -> dict[str, int]:
    from wholesale.compliance.models import Screening

    with db.session(write=False) as s:
        rows = s.scalars(
            sa.select(Screening.customer_id).where(
                Screening.customer_id.in_(customer_ids), Screening.trigger == "lists_updated"
            )
        )
        counts = dict.fromkeys(customer_ids, 0)
        for cid in rows:
            counts[cid] += 1
        return counts


def _rescreen_all(db) -> str:
    """Enqueue the job a list load enqueues (a fresh key: the lists in force stay the shipped ones)."""
    tag = uuid.uuid4().hex
    with db.transaction() as s:
        return enqueue(s, "compliance.rescreen_all", tag, key=f"compliance.rescreen_all:{tag}")


def _job_done(key: str) -> bool:
    from dbos import DBOS

    status = DBOS.get_workflow_status(key)
    return status is not None and status.status == "SUCCESS"


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(compliance, "RESCREEN_CHUNK", 2)  # several steps even for a handful of customers


def test_every_live_customer_is_rescreened_once_per_list_version(client, partner, db, small_chunks):
    ids = []
    for _ in range(5):
        response = client.post(URL, json=customer_body(partner.template_id), headers=partner.headers)
        ids.append(response.json()["url"].rsplit("/", 1)[1])
    for cid in ids:
        wait_for(
            lambda cid=cid: client.get(f"{URL}/{cid}", headers=partner.headers).json()["status"],
            lambda s: s == "provisioned",
        )
    gone = ids.pop()
    assert client.delete(f"{URL}/{gone}", headers=partner.headers).status_code == 202
    wait_for(lambda: client.get(f"{URL}/{gone}", headers=partner.headers).status_code, lambda code: code == 404)

    first = _rescreen_all(db)
    wait_for(lambda: _job_done(first), bool, timeout=60)
    assert _rescreens(db, ids) == dict.fromkeys(ids, 1)
    assert _rescreens(db, [gone]) == {gone: 0}

    # The same list version again (a job redone, or the same lists loaded twice): nobody is screened twice.
    second = _rescreen_all(db)
    wait_for(lambda: _job_done(second), bool, timeout=60)
    assert _rescreens(db, ids) == dict.fromkeys(ids, 1)


def test_a_customer_whose_rescreen_cannot_be_recorded_gets_a_job_of_its_own(
    client, partner, db, small_chunks, monkeypatch
):
    response = client.post(URL, json=customer_body(partner.template_id), headers=partner.headers)
    cid = response.json()["url"].rsplit("/", 1)[1]
    wait_for(
        lambda cid=cid: client.get(f"{URL}/{cid}", headers=partner.headers).json()["status"],
        lambda s: s == "provisioned",
    )
    real = compliance.screen_customer
    failed_once: list[str] = []

    def flaky(session, customer_id, trigger, result, sha, **kwargs):
        if customer_id == cid and trigger == "lists_updated" and not failed_once:
            failed_once.append(customer_id)
            raise RuntimeError("recording failed")
        return real(session, customer_id, trigger, result, sha, **kwargs)

    monkeypatch.setattr(compliance, "screen_customer", flaky)
    key = _rescreen_all(db)
    wait_for(lambda: _job_done(key), bool, timeout=60)
    assert failed_once == [cid]
    # Its own job (compliance queue) records it.
    wait_for(lambda: _rescreens(db, [cid])[cid], lambda n: n == 1, timeout=60)
