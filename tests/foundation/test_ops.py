"""Health, readiness, metrics, job probes, the sandbox clock and tick, and the CLI's stdout contract."""

import json
import os
import re
import subprocess
import sys

import sqlalchemy as sa

from helpers import assert_error_body, customer_body, wait_for


def test_healthz_needs_no_auth_and_readyz_checks_db_and_jobs(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = wait_for(lambda: client.get("/readyz"), lambda r: r.status_code == 200, timeout=60)
    assert ready.json()["checks"] == {"database": "ok", "jobs": "ok", "screening": "ok"}


def test_metrics_count_requests_per_route_and_show_queue_depth(client, partner):
    client.get("/v1/wholesale/subPartners", headers=partner.headers)
    text = client.get("/metrics").text
    assert 'wholesale_http_requests_total{method="GET",route="/v1/wholesale/subPartners",status="200"}' in text
    assert "wholesale_http_request_duration_seconds_bucket" in text
    assert "wholesale_job_queue_depth" in text or "# HELP wholesale_job_queue_depth" in text
    # The provisioning runs waiting for a batch are a queue of their own (issue 15).
    assert re.search(r'^wholesale_job_queue_depth\{queue="customer_runs",status="queued"\} \d+', text, re.M), text


def test_job_probe_runs_once_in_process(client, platform_token):
    headers = {"Authorization": f"Bearer {platform_token('operator')}"}
    created = client.post("/v1/ops/jobProbes", json={"sleepSeconds": 0}, headers=headers)
    assert created.status_code == 202
    probe = wait_for(
        lambda: client.get(f"/v1/ops/jobProbes/{created.json()['id']}", headers=headers).json(),
        lambda p: p["status"] == "done",
    )
    assert [r["step"] for r in probe["runs"]] == ["started", "finished"]
    # The counters move when the workflow function returns, a moment after its last step marked the probe done.
    metrics = wait_for(
        lambda: client.get("/metrics").text,
        lambda text: 'wholesale_job_duration_seconds_count{queue="default",workflow="ops.probe"}' in text,
    )
    assert 'wholesale_jobs_total{outcome="ok",queue="default",workflow="ops.probe"}' in metrics  # labels sorted


def test_enqueue_refuses_a_queue_the_workflow_does_not_declare(db):
    import pytest

    from wholesale.jobs.enqueue import enqueue

    with db.session() as session, pytest.raises(ValueError, match="runs on queue 'default'"):
        enqueue(session, "ops.probe", "x", key="k", queue="provisioning")


def test_job_probes_are_operator_only(client, partner):
    assert_error_body(client.post("/v1/ops/jobProbes", json={}, headers=partner.headers), 403)


def test_job_is_enqueued_in_the_callers_transaction(db):
    """A rolled-back state change leaves no job behind; a committed one leaves exactly one."""
    from wholesale.jobs.probe import JobProbe, create_probe
    from wholesale.jobs.runtime import get_client

    session = db.session()
    probe = create_probe(session, sleep_seconds=0)
    session.rollback()
    session.close()
    assert get_client().list_workflows(workflow_ids=[f"probe:{probe.id}"]) == []
    with db.transaction() as session:
        probe = create_probe(session, sleep_seconds=0)
    assert len(get_client().list_workflows(workflow_ids=[f"probe:{probe.id}"])) == 1
    wait_for(lambda: db.session(write=False).get(JobProbe, probe.id).status, lambda s: s == "done")


def test_sandbox_clock_moves_forward_only_and_tick_runs_schedules(client, platform_token):
    from wholesale.kit import clock

    headers = {"Authorization": f"Bearer {platform_token('operator')}"}
    before = clock.now()
    moved = client.post("/v1/sandbox/clock", json={"advanceSeconds": 86400}, headers=headers)
    assert moved.status_code == 200
    assert (clock.now() - before).total_seconds() >= 86400
    assert_error_body(client.post("/v1/sandbox/clock", json={"advanceSeconds": -5}, headers=headers), 400)
    assert_error_body(client.post("/v1/sandbox/clock", json={"now": "2000-01-01T00:00:00Z"}, headers=headers), 400)
    assert_error_body(client.post("/v1/sandbox/clock", json={}, headers=headers), 400)
    tick = client.post("/v1/sandbox/tick", headers=headers)
    assert tick.status_code == 200 and tick.json()["jobs"] and set(tick.json()["jobs"].values()) == {"SUCCESS"}


def test_sandbox_clock_is_bounded_and_can_be_reset(client, platform_token, partner):
    """Issue 16, probe 4: "now: 9999-12-31" was accepted and broke every create for good; 1e20 seconds was a 500."""
    headers = {"Authorization": f"Bearer {platform_token('operator')}"}
    before = client.get("/v1/sandbox/clock", headers=headers).json()["offsetSeconds"]
    far = {"now": "9999-12-31T23:59:59Z"}
    assert "10 years" in assert_error_body(client.post("/v1/sandbox/clock", json=far, headers=headers), 400)["message"]
    assert_error_body(client.post("/v1/sandbox/clock", json={"advanceSeconds": 1e20}, headers=headers), 400)
    body = customer_body(partner.template_id)
    assert client.post("/v1/wholesale/customers", json=body, headers=partner.headers).status_code == 202
    try:
        reset = client.delete("/v1/sandbox/clock", headers=headers)
        assert reset.status_code == 200 and reset.json()["offsetSeconds"] == 0
        assert_error_body(client.delete("/v1/sandbox/clock", headers=partner.headers), 403)
    finally:  # the rest of the session runs on the clock it had
        client.post("/v1/sandbox/clock", json={"advanceSeconds": before}, headers=headers)


def test_sandbox_routes_do_not_exist_without_the_flag(database_url, platform_token):
    from fastapi.testclient import TestClient

    from wholesale.app import create_app
    from wholesale.config import Settings

    app = create_app(Settings(sandbox=False), workers=False)
    headers = {"Authorization": f"Bearer {platform_token('operator')}"}
    with TestClient(app) as c:
        assert_error_body(c.post("/v1/sandbox/clock", json={"advanceSeconds": 1}, headers=headers), 404)
        assert_error_body(c.post("/v1/sandbox/tick", headers=headers), 404)
    from wholesale.app import install_clock
    from wholesale.config import get_settings

    install_clock(get_settings())  # back to the session's sandbox clock


def _cli(*args: str, url: str) -> subprocess.CompletedProcess:
    env = os.environ | {"WHOLESALE_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "wholesale.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_cli_prints_only_the_id_and_only_the_token(database_url, db):
    from wholesale.identity.models import ApiToken

    created = _cli("partners", "create", "CLI Partner", url=database_url)
    assert created.returncode == 0, created.stderr
    org_id = created.stdout.strip()
    assert "\n" not in org_id and len(org_id) > 20
    sub = _cli("partners", "create", "CLI Sub", "--parent", org_id, url=database_url)
    assert sub.returncode == 0
    token = _cli("tokens", "create", "--org", org_id, "--role", "partner-admin", url=database_url)
    assert token.returncode == 0 and token.stdout.strip().startswith("whs_")
    # Stored hashed, never in clear.
    with db.session(write=False) as session:
        stored = [t.token_hash for t in session.scalars(sa.select(ApiToken).where(ApiToken.org_id == org_id))]
    assert token.stdout.strip() not in stored and len(stored) == 1
    bad = _cli("tokens", "create", "--org", org_id, "--role", "operator", url=database_url)
    assert bad.returncode == 1 and bad.stdout == ""
    unknown = _cli("partners", "create", "X", "--parent", "nope", url=database_url)
    assert unknown.returncode == 1 and "not found" in unknown.stderr


def test_request_log_is_one_json_line_with_tracking_and_partner(database_url, partner):
    code = (
        "import logging, io, json\n"
        "from fastapi.testclient import TestClient\n"
        "from wholesale.app import create_app\n"
        "from wholesale.config import Settings\n"
        "app = create_app(Settings(log_requests=True), workers=False)\n"
        "with TestClient(app) as c:\n"
        f"    c.get('/v1/wholesale/subPartners', headers={{'Authorization': 'Bearer {partner.token}', 'TrackingID': 'LOG-1'}})\n"
    )
    env = os.environ | {"WHOLESALE_DATABASE_URL": database_url}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    lines = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    request = [entry for entry in lines if entry.get("msg") == "request"]
    assert len(request) == 1
    assert request[0]["trackingId"] == "LOG-1" and request[0]["partnerOrgId"] == partner.org_id
    assert (
        request[0]["status"] == 200
        and request[0]["route"] == "/v1/wholesale/subPartners"
        and request[0]["durationMs"] >= 0
    )


def test_a_revoked_token_is_refused_once_the_cache_expires(database_url, client, partner):
    from wholesale.identity.auth import token_cache

    assert client.get("/v1/wholesale/subPartners", headers=partner.headers).status_code == 200
    revoked = _cli("tokens", "revoke", partner.token, url=database_url)
    assert revoked.returncode == 0, revoked.stderr
    assert _cli("tokens", "revoke", partner.token, url=database_url).returncode == 1  # already revoked
    token_cache().clear()  # what the TTL does on its own after WHOLESALE_TOKEN_CACHE_SECONDS
    assert_error_body(client.get("/v1/wholesale/subPartners", headers=partner.headers), 401)
