"""Customer templates: list, create, edit, delete."""

import logging
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from wholesale.customers import templates as customer_templates
from wholesale.identity.roles import Scope
from wholesale.kit.errors import DomainError
from wholesale.kit.http import SessionDep, UnitOfWorkRoute
from wholesale.kit.pagination import PageParams
from wholesale.portal import drafts, forms
from wholesale.portal.drafts import keeps_form, restores_form
from wholesale.portal.web import (
    PACKAGES,
    Form,
    check_csrf,
    confirmation,
    page,
    partner_admin,
    render,
)

log = logging.getLogger("wholesale.portal")
router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


def _template_values(t: dict[str, Any] | None) -> dict[str, Any]:
    t = t or {}
    return {
        "name": t.get("name", ""),
        "language": t.get("language", "en_us"),
        "meetings_timezone": t.get("meetingsTimezone", ""),
        "pstn_enabled": t.get("pstnEnabled", True),
        "allowed_packages": t.get("allowedPackages") or [],
    }


@router.get("/templates")
@page
def template_list(request: Request, session: SessionDep) -> Response:
    """The partner's customer templates."""
    tenant = partner_admin(request, session)
    items = list(customer_templates.list_templates(session, tenant, PageParams(max=1000, offset=0)).items)
    return render(request, "templates.html", items=items, error=request.query_params.get("error"))


@router.get("/templates/new")
@page
@restores_form
def template_new(request: Request, session: SessionDep) -> Response:
    """An empty template form (or what was typed before the session ended, once signed in again)."""
    partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    return _template_form(request, None, None)


@router.get("/templates/{template_id}")
@page
@restores_form
def template_edit(request: Request, session: SessionDep, template_id: str) -> Response:
    """A template's edit form."""
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    return _template_form(request, template_id, customer_templates.get_template(session, tenant, template_id))


def _template_form(request: Request, template_id: str | None, current: dict[str, Any] | None) -> Response:
    """The template form, new (`template_id` None) or of a template, filled with what was typed before the session
    ended when a kept draft came back, else with the template's values."""
    draft = drafts.kept(request)
    values = draft.values(lists=("allowed_packages",)) if draft else _template_values(current)
    return render(
        request,
        "template_form.html",
        template_id=template_id,
        values=values,
        errors={},
        packages=PACKAGES,
        kept=draft and draft.reason,
    )


@router.post("/templates/new")
@page
@keeps_form
def template_create(request: Request, form: Form, session: SessionDep) -> Response:
    """Create a template."""
    return _save_template(request, form, session, None)


@router.post("/templates/{template_id}")
@page
@keeps_form
def template_replace(request: Request, form: Form, session: SessionDep, template_id: str) -> Response:
    """Replace a template's settings."""
    return _save_template(request, form, session, template_id)


def _save_template(request: Request, form: FormData, session: Session, template_id: str | None) -> Response:
    check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    body, errors = forms.template_body(form)
    try:
        if errors:  # part of the form did not parse: what else is wrong, nothing written
            customer_templates.check_template(body)
        elif template_id:
            customer_templates.replace_template(session, tenant, template_id, body, every_problem=True)
        else:
            customer_templates.create_template(session, tenant, body, every_problem=True)
    except DomainError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        errors = forms.collect([*errors.items(), *forms.problems_of(exc)], order=forms.TEMPLATE_FIELDS)
    if not errors:
        return RedirectResponse("/portal/templates", status_code=303)
    session.rollback()
    return render(
        request,
        "template_form.html",
        400,
        template_id=template_id,
        values=forms.typed(form, lists=("allowed_packages",)),
        errors=errors,
        packages=PACKAGES,
    )


@router.post("/templates/{template_id}/delete")
@page
def template_delete(request: Request, form: Form, session: SessionDep, template_id: str) -> Response:
    """Delete a template no customer uses (a template in use is refused with the API's message)."""
    check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    template = customer_templates.get_template(session, tenant, template_id)
    if asked := confirmation(
        request,
        form,
        title=f"Delete the template {template['name']}?",
        message="Customers can no longer be created with it. A template that customers use cannot be deleted.",
        button="Delete the template",
        cancel="/portal/templates",
    ):
        return asked
    try:
        customer_templates.delete_template(session, tenant, template_id)
    except DomainError as exc:
        if exc.status_code != 409:
            raise
        session.rollback()
        items = list(customer_templates.list_templates(session, tenant, PageParams(max=1000, offset=0)).items)
        return render(request, "templates.html", 409, items=items, error=exc.message)
    return RedirectResponse("/portal/templates", status_code=303)


# ---------------------------------------------------------------------------------------------- team
