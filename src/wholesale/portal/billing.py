"""Billing reports: list, create, delete."""

import logging
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from wholesale.billing import service as billing
from wholesale.identity.roles import Scope
from wholesale.kit.errors import DomainError, Unauthorized
from wholesale.kit.http import SessionDep, UnitOfWorkRoute, public_base
from wholesale.kit.pagination import PageParams
from wholesale.partners.tenancy import Tenant
from wholesale.portal import drafts, forms
from wholesale.portal.drafts import keeps_form, restores_form
from wholesale.portal.web import (
    Form,
    check_csrf,
    page,
    partner_admin,
    render,
)

log = logging.getLogger("wholesale.portal")
router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


def _billing_page(
    request: Request, session: Session, tenant: Tenant, status_code: int = 200, **context: Any
) -> Response:
    filters = billing.list_filters(
        billing_start_date=None, billing_end_date=None, type_=None, status=None, sort_by="id"
    )
    page_ = billing.list_reports(session, tenant, PageParams(max=100, offset=0), filters)
    reports = sorted(page_.items, key=lambda r: r.created, reverse=True)
    items = [billing.read(r, public_base(request)) for r in reports]
    context.setdefault("values", {"type": "PARTNER", "category": "RECONCILIATION"})
    context.setdefault("errors", {})
    return render(
        request,
        "billing.html",
        status_code,
        items=items,
        generating=any(i["status"] == "IN_PROGRESS" for i in items),
        **context,
    )


@router.get("/billing")
@page
@restores_form
def billing_reports(request: Request, session: SessionDep) -> Response:
    """The partner's billing reports (the acting sub-partner's when one is chosen): ask for one, download it."""
    try:
        tenant = partner_admin(request, session, Scope.BILLING_READ)
    except Unauthorized:
        if not request.headers.get("hx-request"):
            raise
        # The list refreshes itself while a report is generated: say the session ended in its place, and stop,
        # rather than put the sign-in page over a form being filled in.
        return render(request, "_session_ended.html", target="reports")
    if draft := drafts.kept(request):
        return _billing_page(request, session, tenant, values=draft.values(), kept=draft.reason)
    return _billing_page(request, session, tenant, created=request.query_params.get("created") == "1")


@router.post("/billing")
@page
@keeps_form
def billing_create(request: Request, form: Form, session: SessionDep) -> Response:
    """Ask for a report with the API's own rules; every problem comes back at once, next to its field."""
    check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.BILLING_WRITE)
    values = {k: str(form.get(k) or "") for k in ("start", "end", "type", "category")}
    body, errors = forms.report_body(values)
    if body is not None:
        try:
            billing.create_report(session, tenant, body, every_problem=True)
        except DomainError as exc:
            if exc.status_code in (401, 403, 404):
                raise
            errors = forms.field_errors(exc, order=forms.REPORT_FIELDS)
        else:
            return RedirectResponse("/portal/billing?created=1", status_code=303)
    session.rollback()
    return _billing_page(request, session, tenant, 400, errors=errors, values=values)


@router.post("/billing/{report_id}/delete")
@page
def billing_delete(request: Request, form: Form, session: SessionDep, report_id: str) -> Response:
    """Delete a report and its file."""
    check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.BILLING_WRITE)
    billing.delete_report(session, tenant, report_id)
    return RedirectResponse("/portal/billing", status_code=303)


# ---------------------------------------------------------------------------------------------- templates
