"""A production first run without the demo: migrate an empty database, then the operator's and reviewer's tokens
(the platform's own org, which migrate creates), a partner and its partner-admin token, each working on the API."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import fresh_database_url
from wholesale.db.session import normalise_url

pytestmark = pytest.mark.slow

# The status of each (path, token) GET, from an app of its own on the fresh database (no workers).
PROBE = """
import json, sys
from fastapi.testclient import TestClient
from wholesale.app import create_app
calls = json.loads(sys.argv[1])
with TestClient(create_app(workers=False)) as client:
    print(json.dumps([client.get(path, headers={"Authorization": "Bearer " + token}).status_code
                      for path, token in calls]))
"""


def _env(url: str) -> dict[str, str]:
    return os.environ | {"WHOLESALE_DATABASE_URL": url, "WHOLESALE_LOG_REQUESTS": "false"}


def _cli(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wholesale.cli", *args], env=_env(url), capture_output=True, text=True, timeout=120
    )


def _token(url: str, *args: str) -> str:
    run = _cli(url, "tokens", "create", *args)
    assert run.returncode == 0, run.stderr
    token = run.stdout.strip()
    assert token.startswith("whs_") and "\n" not in token
    return token


def test_operator_and_reviewer_tokens_need_no_org_after_migrate(tmp_path: Path):
    url = fresh_database_url(tmp_path)
    migrated = _cli(url, "migrate")
    assert migrated.returncode == 0, migrated.stderr

    operator = _token(url, "--role", "operator")
    reviewer = _token(url, "--role", "reviewer", "--label", "first reviewer")

    # A partner-admin (or customer-admin) token speaks for one org: without --org it is refused, plainly.
    for role in ("partner-admin", "customer-admin"):
        refused = _cli(url, "tokens", "create", "--role", role)
        assert refused.returncode == 1 and refused.stdout == ""
        assert f"error: a {role} token needs --org" in refused.stderr, refused.stderr
    created = _cli(url, "partners", "create", "First Partner")
    assert created.returncode == 0, created.stderr
    partner_org = created.stdout.strip()
    partner = _token(url, "--org", partner_org, "--role", "partner-admin")

    calls = [
        ("/v1/telephony/callInNumbers", operator),  # operators only
        ("/v1/compliance/cases", reviewer),
        ("/v1/compliance/cases", operator),
        ("/v1/wholesale/subPartners", partner),
        ("/v1/compliance/cases", partner),  # not a reviewer
        ("/v1/telephony/callInNumbers", reviewer),  # not an operator
    ]
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(calls)],
        env=_env(url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout.strip().splitlines()[-1]) == [200, 200, 200, 200, 403, 403]

    # Migrating again (every upgrade does) keeps the one platform org, which both platform tokens act for.
    again = _cli(url, "migrate")
    assert again.returncode == 0, again.stderr
    engine = sa.create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            platform = conn.execute(sa.text("SELECT id FROM orgs WHERE kind = 'platform'")).scalars().all()
            token_orgs = conn.execute(
                sa.text("SELECT DISTINCT org_id FROM api_tokens WHERE role IN ('operator', 'reviewer')")
            ).scalars()
            assert len(platform) == 1 and set(token_orgs) == set(platform)
    finally:
        engine.dispose()


def test_links_made_outside_a_request_use_the_public_base_url_else_where_serve_listens(monkeypatch):
    """The consent email's link: WHOLESALE_PUBLIC_BASE_URL when set, else `wholesale serve`'s --host/--port."""
    from wholesale.cli import _origin
    from wholesale.config import DEFAULT_BASE_URL, Settings

    monkeypatch.delenv("WHOLESALE_SERVE_BASE_URL", raising=False)

    assert Settings(public_base_url="").link_base_url == DEFAULT_BASE_URL == "http://127.0.0.1:8000"
    assert Settings(public_base_url="https://wholesale.example.com/").link_base_url == "https://wholesale.example.com"
    served = Settings(public_base_url="", serve_base_url=_origin("0.0.0.0", 9000))
    assert served.link_base_url == "http://127.0.0.1:9000"
    assert _origin("::1", 8443) == "http://[::1]:8443" and _origin("10.1.2.3", 80) == "http://10.1.2.3:80"


def test_portal_accounts_from_the_command_line(tmp_path: Path):
    """`wholesale users create | list | disable | reset-password`: the operator's way to hand out portal accounts."""
    url = fresh_database_url(tmp_path)
    assert _cli(url, "migrate").returncode == 0
    partner = _cli(url, "partners", "create", "Acme Telecom").stdout.strip()
    refused = _cli(url, "users", "create", "ops@acme.example", "--role", "partner-admin")
    assert refused.returncode == 1 and "a partner-admin account needs --org" in refused.stderr
    made = _cli(url, "users", "create", "Ops@Acme.example", "--role", "partner-admin", "--org", partner)
    assert made.returncode == 0, made.stderr
    password = made.stdout.strip()
    assert len(password) >= 12 and "\n" not in password
    reviewer = subprocess.run(
        [
            sys.executable,
            "-m",
            "wholesale.cli",
            "users",
            "create",
            "rev@platform.example",
            "--role",
            "reviewer",
            "--password-stdin",
        ],
        env=_env(url),
        input="a long enough passphrase\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert reviewer.returncode == 0 and reviewer.stdout.strip() == "a long enough passphrase"
    listed = _cli(url, "users", "list").stdout.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [
        ["ops@acme.example", "partner-admin"],
        ["rev@platform.example", "reviewer"],
    ]
    assert all(line.split("\t")[3:] == ["active", "never"] for line in listed)
    again = _cli(url, "users", "create", "ops@acme.example", "--role", "partner-admin", "--org", partner)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert _cli(url, "users", "disable", "ops@acme.example").returncode == 0
    assert "\tdisabled\t" in _cli(url, "users", "list", "--org", partner).stdout
    reset = _cli(url, "users", "reset-password", "rev@platform.example")
    assert reset.returncode == 0 and reset.stdout.strip() not in ("", "a long enough passphrase")
