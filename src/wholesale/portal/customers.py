"""Customers: the list, the create form with its live preview, a customer's page and its history."""

import logging
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from wholesale.activity import audit
from wholesale.compliance import service as compliance
from wholesale.customers import service as customers
from wholesale.customers import templates as customer_templates
from wholesale.customers.schemas import CustomerCreate
from wholesale.dialin import service as dialin
from wholesale.identity.roles import Scope
from wholesale.kit.errors import DomainError
from wholesale.kit.http import SessionDep, UnitOfWorkRoute
from wholesale.kit.pagination import PageParams
from wholesale.packages.catalog import CALLING_PACKAGES
from wholesale.partners import service as partners
from wholesale.partners.tenancy import Tenant
from wholesale.portal.web import (
    COUNTRIES,
    CUSTOMER_STATUSES,
    HISTORY_ON_DETAIL,
    HISTORY_PAGE,
    PACKAGES,
    PAGE_SIZE,
    Form,
    check_csrf,
    field_errors,
    history_rows,
    page,
    partner_admin,
    render,
)

log = logging.getLogger("wholesale.portal")
router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


@router.get("/customers")
@page
def customer_list(request: Request, session: SessionDep, status: str = "", offset: int = 0) -> Response:
    """The partner's customers, filterable by status, PAGE_SIZE per page."""
    tenant = partner_admin(request, session)
    params = PageParams(max=PAGE_SIZE, offset=max(offset, 0))
    result = customers.list_customers(
        session,
        tenant,
        params,
        external_id=None,
        org_id=None,
        statuses=[status] if status else [],
        include_licenses=False,
    )
    names = {c["id"]: customers.owned_customer(session, tenant, c["id"]).name for c in result.items}
    query = {"status": status} if status else {}
    return render(
        request,
        "customers.html",
        items=result.items,
        names=names,
        status=status,
        statuses=CUSTOMER_STATUSES,
        prev_url=f"/portal/customers?{urlencode(query | {'offset': max(params.offset - PAGE_SIZE, 0)})}"
        if params.offset
        else None,
        next_url=f"/portal/customers?{urlencode(query | {'offset': params.offset + PAGE_SIZE})}"
        if result.has_more
        else None,
        settling=any(c["status"] in ("provisioning", "updating", "deleting") for c in result.items),
    )


def _create_context(session: Session, tenant: Tenant, values: dict[str, Any]) -> dict[str, Any]:
    tpls = list(customer_templates.list_templates(session, tenant, PageParams(max=1000, offset=0)).items)
    values.setdefault("template", tpls[0]["id"] if tpls else "")
    preview = None
    if values.get("country"):
        preview = _preview(session, tenant, values["country"], values.get("template") or "")
    return {"templates_": tpls, "countries": COUNTRIES, "packages": PACKAGES, "values": values, "preview": preview}


def _preview(session: Session, tenant: Tenant, country: str, template_id: str) -> dict[str, Any]:
    """What dialin.service.preview says for the country under the chosen template (R17, R18)."""
    try:
        pstn = customer_templates.get_template(session, tenant, template_id)["pstnEnabled"] if template_id else True
        return dialin.preview(session, country, pstn) | {"country": country}
    except DomainError as exc:
        return {"error": exc.message, "country": country}


@router.get("/customers/new")
@page
def customer_new(request: Request, session: SessionDep) -> Response:
    """The create-customer form (query parameters refill it, so the preview works without JavaScript too)."""
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    values: dict[str, Any] = {k: v for k, v in request.query_params.items() if k != "packages"}
    values["packages"] = request.query_params.getlist("packages") or ["webex_meetings"]
    return render(request, "customer_new.html", errors={}, **_create_context(session, tenant, values))


@router.get("/customers/preview")
@page
def customer_preview(request: Request, session: SessionDep, country: str = "", template: str = "") -> Response:
    """htmx fragment: the location and default dial-in number a new customer in `country` gets."""
    tenant = partner_admin(request, session)
    preview = _preview(session, tenant, country, template) if country else None
    return render(request, "_preview.html", preview=preview)


def _customer_body(form: FormData) -> CustomerCreate:
    """Build the API's create body from the form (the same schema and rules as POST /v1/wholesale/customers)."""
    text = lambda name: str(form.get(name) or "").strip() or None  # noqa: E731
    address = {
        "addressLine1": text("address_line1") or "",
        "addressLine2": text("address_line2"),
        "city": text("city") or "",
        "stateOrProvince": text("state"),
        "zipOrPostalCode": text("zip"),
        "country": text("country") or "",
    }
    packages = [str(p) for p in form.getlist("packages")]
    body: dict[str, Any] = {
        "provisioningId": text("template") or "",
        "packages": packages,
        "externalId": text("external_id") or "",
        "address": address,
        "customerInfo": {"name": text("name") or "", "primaryEmail": text("email") or ""},
    }
    if any(p in CALLING_PACKAGES for p in packages) and text("location_name"):
        # The calling location sits at the billing address; the form asks only for its name and time zone.
        body["provisioningParameters"] = {
            "calling": {
                "location": {
                    "name": text("location_name"),
                    "address": address,
                    "timezone": text("location_timezone") or "",
                    "language": "en_us",
                }
            }
        }
    return CustomerCreate.model_validate(body)


@router.post("/customers/new")
@page
def customer_create(request: Request, form: Form, session: SessionDep) -> Response:
    """Create a customer with the API's own validation; errors come back next to their fields."""
    check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    try:
        customer = customers.create_customer(session, tenant, _customer_body(form))
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, DomainError) and exc.status_code in (401, 403, 404):
            raise  # not a field problem: the error page says what is wrong
        values: dict[str, Any] = {k: v for k, v in form.items() if k not in ("packages", "csrf")}
        values["packages"] = [str(p) for p in form.getlist("packages")]
        session.rollback()
        return render(
            request,
            "customer_new.html",
            400,
            errors=field_errors(exc),
            **_create_context(session, tenant, values),
        )
    return RedirectResponse(f"/portal/customers/{customer.id}?created=1", status_code=303)


@router.get("/customers/{customer_id}")
@page
def customer_detail(request: Request, session: SessionDep, customer_id: str) -> Response:
    """One customer: packages, caps, org country, meetings site and call-in number, compliance status."""
    tenant = partner_admin(request, session)
    body = customers.get_customer(session, tenant, customer_id, include_licenses=False)  # 404 unless ours
    model = customers.owned_customer(session, tenant, customer_id)
    org = partners.read_organization(session, tenant.principal, body["orgId"]) if body.get("orgId") else None
    sites = (
        list(dialin.list_sites(session, tenant, PageParams(max=10, offset=0), org_id=body["orgId"]).items)
        if body.get("orgId")
        else []
    )
    status = compliance.customer_status(session, tenant, customer_id)
    _, rows, more = audit.customer_history(session, tenant, customer_id, None, HISTORY_ON_DETAIL)
    return render(
        request,
        "customer_detail.html",
        history=history_rows(session, audit.partner_reader(session, tenant, tree=False), rows),
        history_more=more,
        c=body,
        name=model.name,
        email=model.primary_email,
        org=org,
        sites=sites,
        compliance_status=status,
        created=request.query_params.get("created") == "1",
    )


# ---------------------------------------------------------------------------------------------- history, activity


@router.get("/customers/{customer_id}/history")
@page
def customer_history(request: Request, session: SessionDep, customer_id: str, before: str = "") -> Response:
    """A customer's whole history, newest first, also once it is removed (a compliance deprovisioning included)."""
    tenant = partner_admin(request, session)
    customer, rows, more = audit.customer_history(
        session, tenant, customer_id, audit.parse_before(before), HISTORY_PAGE
    )
    return render(
        request,
        "customer_history.html",
        customer=customer,
        history=history_rows(session, audit.partner_reader(session, tenant, tree=False), rows),
        removed=customer.deleted_at is not None,
        next_url=f"/portal/customers/{customer_id}/history?{urlencode({'before': rows[-1].id})}" if more else None,
        first_url=f"/portal/customers/{customer_id}/history" if before else None,
    )
