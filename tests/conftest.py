"""Shared fixtures: one migrated database per session (SQLite, or PostgreSQL when WHOLESALE_TEST_DATABASE_URL is set),
the app with in-process DBOS workers, and factories for partners, tokens and templates."""

import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

import openapi_check

# Hypothesis's time-based checks (an example's deadline, "input generation is slow") fail a property test when the
# machine is busy, not when the property breaks: on this shared 2-core machine a 1.2 s pause of one draw failed
# tests/dialin/test_locations.py in CI. Time belongs in benchmarks (bench/), never in a test's verdict.
settings.register_profile("wholesale", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("wholesale")

PG_URL = os.environ.get("WHOLESALE_TEST_DATABASE_URL", "")
os.environ.setdefault("WHOLESALE_LOG_REQUESTS", "false")
os.environ["WHOLESALE_SANDBOX"] = "1"
os.environ.setdefault("WHOLESALE_DATA_DIR", tempfile.mkdtemp(prefix="wholesale-data-"))  # report files

from wholesale.kit import faults  # noqa: E402  (after the environment above)

faults.enable()  # the test hook: workflow fault points may be armed in this process


def pytest_report_header(config: pytest.Config) -> str:
    return f"wholesale database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (temporary file)'}"


def reset_postgres(url: str) -> None:
    """Empty a PostgreSQL database: our schema and DBOS's."""
    from wholesale.db.session import normalise_url

    engine = sa.create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS dbos CASCADE"))
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def fresh_database_url(tmp_path: Path) -> str:
    """A new empty database of the session's kind (for tests that start their own processes)."""
    if not PG_URL:
        return f"sqlite:///{tmp_path / ('db-' + uuid.uuid4().hex[:8] + '.db')}"
    from wholesale.db.session import normalise_url

    name = "wholesale_t_" + uuid.uuid4().hex[:10]
    engine = sa.create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return sa.make_url(normalise_url(PG_URL)).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate a fresh database for the session and point the settings at it."""
    if PG_URL:
        reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'wholesale.db'}"
    os.environ["WHOLESALE_DATABASE_URL"] = url
    from wholesale.config import get_settings
    from wholesale.db.session import reset_database
    from wholesale.migrate import migrate

    get_settings.cache_clear()
    reset_database()
    migrate(get_settings())
    return url


@pytest.fixture(scope="session")
def app(database_url: str):
    """The application, with its in-process workers."""
    from wholesale.app import create_app

    return create_app()


@pytest.fixture(scope="session")
def client(app):
    """An HTTP client on the app; entering it launches the DBOS workers."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        openapi_check.attach(c, app)  # every JSON response is validated against our own OpenAPI
        yield c


@pytest.fixture
def web(client, app):
    """A fresh portal cookie jar on the app (the session client already launched the workers)."""
    from fastapi.testclient import TestClient

    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


@pytest.fixture
def db(database_url: str):
    """The process database."""
    from wholesale.db.session import get_database

    return get_database()


@dataclass
class PartnerCtx:
    """A partner with a token and a template, ready to call the API."""

    org_id: str
    token: str
    template_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def make_partner(database_url: str) -> Callable[..., PartnerCtx]:
    """Factory: a new partner (or sub-partner) with a partner-admin token and a template."""
    from wholesale.customers.schemas import TemplateIn
    from wholesale.customers.templates import add_template
    from wholesale.db.session import get_database
    from wholesale.identity.roles import Role
    from wholesale.identity.service import create_token
    from wholesale.partners.service import create_partner

    def make(parent: str | None = None, scopes: list[str] | None = None, **template: Any) -> PartnerCtx:
        with get_database().transaction() as session:
            partner = create_partner(session, name=f"Partner {uuid.uuid4().hex[:6]}", parent_org_id=parent)
            token = create_token(session, org_id=partner.org_id, role=Role.PARTNER_ADMIN, scopes=scopes)
            tpl = add_template(session, partner.org_id, TemplateIn(**({"name": "Standard"} | template)))
            return PartnerCtx(partner.org_id, token, tpl.id)

    return make


@pytest.fixture
def partner(make_partner) -> PartnerCtx:
    """A fresh partner."""
    return make_partner()


@pytest.fixture
def platform_token(database_url: str) -> Callable[[str], str]:
    """Factory: a token of the platform org for a role (operator, reviewer)."""
    from wholesale.db.session import get_database
    from wholesale.identity.roles import Role
    from wholesale.identity.service import create_token, ensure_platform_org

    def make(role: str = "operator") -> str:
        with get_database().transaction() as session:
            org = ensure_platform_org(session)
            return create_token(session, org_id=org.id, role=Role(role))

    return make


@pytest.fixture
def session(database_url: str):
    """A write session rolled back after the test: service-level rule tests leave nothing behind and need no
    HTTP client or worker. (On SQLite it holds the write lock for the test; workers simply wait.)"""
    from wholesale.db.session import get_database

    s = get_database().session(write=True)
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@dataclass
class TenantCtx:
    """A partner made inside the test's rolled-back session, as services see it."""

    tenant: Any  # wholesale.partners.tenancy.Tenant
    template_id: str

    @property
    def partner_org_id(self) -> str:
        return self.tenant.partner_org_id


@pytest.fixture
def make_tenant(session) -> Callable[..., TenantCtx]:
    """Factory: a partner (or sub-partner) with a template, in the test's session; its tenant as a request resolves it."""
    from wholesale.customers.schemas import TemplateIn
    from wholesale.customers.templates import add_template
    from wholesale.identity.roles import Role
    from wholesale.identity.schemas import Principal
    from wholesale.partners import tenancy
    from wholesale.partners.service import create_partner

    def make(parent: str | None = None, **template: Any) -> TenantCtx:
        partner = create_partner(session, name=f"Partner {uuid.uuid4().hex[:6]}", parent_org_id=parent)
        tpl = add_template(session, partner.org_id, TemplateIn(**({"name": "Standard"} | template)))
        caller = parent or partner.org_id
        principal = Principal(
            token_id="test", org_id=caller, role=Role.PARTNER_ADMIN, scopes=frozenset(), partner_org_id=caller
        )
        tenant = tenancy.resolve(session, principal, partner.org_id if parent else None, writing=True)
        return TenantCtx(tenant, tpl.id)

    return make


@pytest.fixture
def tenant(make_tenant) -> TenantCtx:
    """A fresh partner in the test's session."""
    return make_tenant()


@pytest.fixture
def fixed_clock():
    """The injectable clock, frozen at the real time and moved only by the test (R14's 30 days in milliseconds)."""
    from wholesale.kit import clock

    before = clock.get_clock()
    fixed = clock.FixedClock(clock.now())
    clock.set_clock(fixed)
    try:
        yield fixed
    finally:
        clock.set_clock(before)


@pytest.fixture
def listed_case(session, tenant) -> tuple[str, str]:
    """A provisioned customer named as an OFAC SDN entry, screened by the real screener: (customer id, its open
    case id), in the test's rolled-back session."""
    from helpers import customer_body
    from wholesale.compliance import lists
    from wholesale.compliance import service as compliance
    from wholesale.customers import service as customers
    from wholesale.customers.schemas import CustomerCreate
    from wholesale.provisioning import steps

    body = customer_body(tenant.template_id, packages=["webex_meetings"])
    body.pop("provisioningParameters")
    body["customerInfo"]["name"] = "Mahan Air"
    body["address"] = {"addressLine1": "1 Main Street", "city": "Tehran", "country": "IR"}
    customer = customers.create_customer(session, tenant.tenant, CustomerCreate.model_validate(body))
    steps.converge(session, customer, new=True)
    screener = lists.get_screener(session)
    result = screener.screen(compliance.query_for(customer))
    assert (
        compliance.screen_customer(session, customer.id, "created", result, screener.list_set.sha256) == "case_opened"
    )
    case = compliance.open_case_of(session, customer.id)
    assert case is not None
    return customer.id, case.id
