"""Customer templates (`provisioningId`): a partner's defaults and allowed packages for new customers."""

from typing import Any

from sqlalchemy.orm import Session

from wholesale.customers import repository, validation
from wholesale.customers.models import CustomerTemplate
from wholesale.customers.schemas import TemplateIn, drop_none
from wholesale.events import service as events
from wholesale.kit import clock, ids
from wholesale.kit.errors import Conflict, NotFound, field_error
from wholesale.kit.pagination import Page, PageParams, page_from_rows
from wholesale.kit.problems import Checks
from wholesale.partners.tenancy import Tenant


def _template_read(t: CustomerTemplate) -> dict[str, Any]:
    return drop_none(
        {
            "id": t.id,
            "name": t.name,
            "language": t.language,
            "meetingsTimezone": t.meetings_timezone,
            "pstnEnabled": t.pstn_enabled,
            "allowedPackages": t.allowed_packages,
            "created": clock.isoformat(t.created),
            "updated": clock.isoformat(t.updated),
        }
    )


def _apply_template(t: CustomerTemplate, body: TemplateIn, every_problem: bool = False) -> None:
    checks = Checks(every_problem)
    name, language, timezone = body.name, body.language, body.meetingsTimezone
    with checks:
        name = validation.check_name("name", body.name)
    with checks:
        language = validation.check_language("language", body.language)
    with checks:
        timezone = (
            validation.check_timezone("meetingsTimezone", body.meetingsTimezone) if body.meetingsTimezone else None
        )
    allowed = None
    if body.allowedPackages is not None:
        allowed = sorted({str(p) for p in body.allowedPackages})
        with checks:
            if not allowed:
                raise field_error("allowedPackages", "must list at least one package (omit it to allow all).")
    checks.done()
    t.name, t.language, t.meetings_timezone = name, language, timezone
    t.pstn_enabled = body.pstnEnabled
    t.allowed_packages = allowed


def check_template(body: TemplateIn) -> None:
    """Every problem of a template's settings at once (kit.problems.Problems), nothing written: for a form that
    must say what else is wrong even when part of it did not parse."""
    _apply_template(CustomerTemplate(), body, every_problem=True)


def create_template(
    session: Session, tenant: Tenant, body: TemplateIn, *, every_problem: bool = False
) -> dict[str, Any]:
    """Create a customer template for the acting partner; its id is a provisioningId. `every_problem`: report all
    the body's problems together (kit.problems), not just the first."""
    partner_org_id = tenant.partner
    return _template_read(add_template(session, partner_org_id, body, every_problem=every_problem))


def add_template(
    session: Session, partner_org_id: str, body: TemplateIn, *, every_problem: bool = False
) -> CustomerTemplate:
    """Insert a template for a partner (also used by the demo seed)."""
    now = clock.now()
    template = CustomerTemplate(
        id=ids.encode_id("PROVISIONING", ids.new_id("X")[-22:]), partner_org_id=partner_org_id, created=now, updated=now
    )
    _apply_template(template, body, every_problem)
    session.add(template)
    events.record(
        session,
        subject_type="template",
        subject_id=template.id,
        action="template.created",
        partner_org_id=partner_org_id,
    )
    return template


def _owned_template(session: Session, partner_org_id: str, template_id: str) -> CustomerTemplate:
    template = repository.get_template(session, template_id, partner_org_id)
    if template is None:
        raise NotFound(f"Customer template {template_id} not found.")
    return template


def get_template(session: Session, tenant: Tenant, template_id: str) -> dict[str, Any]:
    """Read a template."""
    partner_org_id = tenant.partner
    return _template_read(_owned_template(session, partner_org_id, template_id))


def list_templates(session: Session, tenant: Tenant, params: PageParams) -> Page[dict[str, Any]]:
    """List the acting partner's templates."""
    partner_org_id = tenant.partner
    page = page_from_rows(repository.list_templates(session, partner_org_id, params), params)
    return Page(items=[_template_read(t) for t in page.items], params=params, has_more=page.has_more)


def replace_template(
    session: Session, tenant: Tenant, template_id: str, body: TemplateIn, *, every_problem: bool = False
) -> dict[str, Any]:
    """Replace a template's settings (customers already provisioned keep what they got); `every_problem` as for
    create_template."""
    partner_org_id = tenant.partner
    template = _owned_template(session, partner_org_id, template_id)
    _apply_template(template, body, every_problem)
    template.updated = clock.now()
    events.record(
        session,
        subject_type="template",
        subject_id=template.id,
        action="template.updated",
        partner_org_id=partner_org_id,
    )
    return _template_read(template)


def delete_template(session: Session, tenant: Tenant, template_id: str) -> None:
    """Delete a template that no customer, live or removed, was provisioned with."""
    partner_org_id = tenant.partner
    template = _owned_template(session, partner_org_id, template_id)
    in_use = repository.template_in_use(session, template.id)
    if in_use:
        raise Conflict(
            f"Customer template {template_id} is used by {in_use} customer(s); it cannot be deleted.", error_code=409400
        )
    # A removed customer's tombstone (kept for the audit trail) still names its template.
    removed = repository.template_in_use(session, template.id, removed=True)
    if removed:
        raise Conflict(
            f"Customer template {template_id} provisioned {removed} removed customer(s) whose records are kept for "
            "the audit trail; it cannot be deleted (rename it instead).",
            error_code=409400,
        )
    session.delete(template)
    events.record(
        session,
        subject_type="template",
        subject_id=template_id,
        action="template.deleted",
        partner_org_id=partner_org_id,
    )
