"""The consent link's token is a credential (issue 16, probe 10): it is only in the email (the simulated mailer's
outbox); the database keeps its SHA-256, audit rows say to whom an email went, the request log shows
/v1/subscribers/consent/***, and a resend kills the link sent before."""

import hashlib
import logging

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from helpers import assert_error_body
from subscribers_support import consent_links, consent_path, sub_body

URL = "/v1/wholesale/subscribers"


def _pending(client, partner, customer, free_account) -> str:
    response = client.post(URL, json=sub_body(customer.id, email=free_account()), headers=partner.headers)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _stored_anywhere(db, needle: str) -> list[str]:
    """Every table (ours, and the job engine's on either database) whose rows hold `needle` anywhere."""
    found = []
    inspector = sa.inspect(db.write_engine)
    system = {"information_schema", "pg_catalog", "pg_toast"}
    schemas = [s for s in inspector.get_schema_names() if s not in system and not s.startswith("pg_")]
    with db.write_engine.connect() as conn:
        for schema in schemas:
            for table in inspector.get_table_names(schema=schema):
                rows = conn.execute(sa.text(f'SELECT * FROM "{schema}"."{table}"')).all()
                if any(needle in repr(tuple(row)) for row in rows):
                    found.append(f"{schema}.{table}")
    return found


def test_the_token_is_only_in_the_email(client, partner, customer, free_account, db):
    from wholesale.events.models import AuditEvent
    from wholesale.subscribers.models import Subscriber

    sid = _pending(client, partner, customer, free_account)
    link = consent_links(sid, 1)[0]
    token = link.rsplit("/", 1)[1]
    assert len(token) == 32  # 24 random bytes, url-safe base64
    with db.session(write=False) as s:
        assert s.get(Subscriber, sid).consent_token_hash == hashlib.sha256(token.encode()).hexdigest()
        sent = s.scalars(
            sa.select(AuditEvent.data).where(
                AuditEvent.subject_id == sid, AuditEvent.action == "subscriber.consent_email_sent"
            )
        ).all()
    assert sent == [{"to": sent[0]["to"]}] and "@" in sent[0]["to"]
    assert _stored_anywhere(db, token) == []
    accepted = client.post(consent_path(link))
    assert accepted.status_code == 200 and accepted.json()["status"] == "provisioned"
    assert _stored_anywhere(db, token) == []
    with db.session(write=False) as s:
        assert s.get(Subscriber, sid).consent_token_hash is None


def test_a_resend_kills_the_link_sent_before(client, partner, customer, free_account, db):
    sid = _pending(client, partner, customer, free_account)
    first = consent_links(sid, 1)[0]
    assert client.post(f"{URL}/{sid}/emails/consentMove", headers=partner.headers).status_code == 204
    assert_error_body(client.post(consent_path(first)), 404)  # dead once the resend answered
    second = consent_links(sid, 2)[1]
    assert second != first
    assert_error_body(client.post(consent_path(first)), 404)
    accepted = client.post(consent_path(second))
    assert accepted.status_code == 200 and accepted.json() == {"subscriberId": sid, "status": "provisioned"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/subscribers/consent/{t}"),  # unknown token: 404
        ("GET", "/v1/subscribers/consent/{t}"),  # 405
        ("POST", "/v1/subscribers/consent/{t}/"),  # trailing slash: no route
        ("POST", "/V1/Subscribers/Consent/{t}"),  # another case: no route
        ("POST", "/v1//subscribers/consent//{t}"),  # doubled slashes: no route
    ],
)
def test_the_request_log_never_shows_a_consent_token(app, caplog, method, path):
    from wholesale.kit.observability import RequestMiddleware

    token = "tok-Sx8Qv3lK2m9ZpW4nR7yT0bJe"
    logged = TestClient(
        RequestMiddleware(app, log_requests=True), raise_server_exceptions=False, follow_redirects=False
    )
    with caplog.at_level(logging.INFO, logger="wholesale.request"):
        response = logged.request(method, path.format(t=token))
    assert response.status_code in (307, 404, 405), response.text
    lines = [r for r in caplog.records if r.name == "wholesale.request"]
    assert len(lines) == 1
    assert lines[0].fields["path"] == "/v1/subscribers/consent/***"
    assert token not in repr(lines[0].__dict__)


def test_other_paths_are_logged_as_they_are():
    from wholesale.kit.observability import logged_path

    assert logged_path("/v1/wholesale/subscribers/abc") == "/v1/wholesale/subscribers/abc"
    assert logged_path("/v1/subscribers/consent/") == "/v1/subscribers/consent/"
    assert logged_path("/v1/subscribers/S1/emails/consentMove") == "/v1/subscribers/S1/emails/consentMove"
