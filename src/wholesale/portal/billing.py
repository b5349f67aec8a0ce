"""Billing reports: list, create, delete."""

import logging
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from wholesale.billing import service as billing
from wholesale.billing.schemas import ReportCreate
from wholesale.identity.roles import Scope
from wholesale.kit.errors import DomainError
from wholesale.kit.http import SessionDep, UnitOfWorkRoute, public_base
from wholesale.kit.pagination import PageParams
from wholesale.partners.tenancy import Tenant
from wholesale.portal.web import (
    Form,
    check_csrf,
    field_errors,
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
def billing_reports(request: Request, session: SessionDep) -> Response:
    """The partner's billing reports (the acting sub-partner's when one is chosen): ask for one, download it."""
    tenant = partner_admin(request, session, Scope.BILLING_READ)
    return _billing_page(request, session, tenant, created=request.query_params.get("created") == "1")


@router.post("/billing")
@page
def billing_create(request: Request, form: Form, session: SessionDep) -> Response:
    """Ask for a report with the API's own rules; errors come back next to their fields."""
    check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.BILLING_WRITE)
    values = {k: str(form.get(k) or "") for k in ("start", "end", "type", "category")}
    try:
        body = ReportCreate.model_validate(
            {
                "billingStartDate": values["start"],
                "billingEndDate": values["end"],
                "type": values["type"] or None,
                "category": values["category"] or None,
            }
        )
        billing.create_report(session, tenant, body)
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, DomainError) and exc.status_code in (401, 403, 404):
            raise
        session.rollback()
        return _billing_page(request, session, tenant, 400, errors=field_errors(exc), values=values)
    return RedirectResponse("/portal/billing?created=1", status_code=303)


@router.post("/billing/{report_id}/delete")
@page
def billing_delete(request: Request, form: Form, session: SessionDep, report_id: str) -> Response:
    """Delete a report and its file."""
    check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.BILLING_WRITE)
    billing.delete_report(session, tenant, report_id)
    return RedirectResponse("/portal/billing", status_code=303)


# ---------------------------------------------------------------------------------------------- templates
