"""The team page: portal accounts of the org."""

import logging
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from wholesale.identity import accounts
from wholesale.identity.roles import Role, Scope
from wholesale.kit import clock
from wholesale.kit.errors import DomainError, NotFound
from wholesale.kit.http import SessionDep, UnitOfWorkRoute
from wholesale.portal import drafts, forms
from wholesale.portal.drafts import keeps_form, restores_form
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


def _team(request: Request, session: Session, status: int = 200, **context: Any) -> Response:
    tenant = partner_admin(request, session)
    people = accounts.list_users(session, tenant.partner)
    context.setdefault("errors", {})
    context.setdefault("values", {"email": ""})
    return render(request, "team.html", status, people=people, now=clock.now(), **context)


@router.get("/team")
@page
@restores_form
def team(request: Request, session: SessionDep) -> Response:
    """The partner's portal accounts: who may sign in for it."""
    if draft := drafts.kept(request):
        return _team(request, session, values=draft.values(), kept=draft.reason)
    return _team(request, session)


@router.post("/team")
@page
@keeps_form
def team_add(request: Request, form: Form, session: SessionDep) -> Response:
    """Add a partner admin account; its password is shown once, to hand over. A refused email comes back in plain
    words next to the field, as typed."""
    check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    email = str(form.get("email") or "").strip()
    try:
        password = accounts.create_user(session, org_id=tenant.partner, email=email, role=Role.PARTNER_ADMIN)
    except DomainError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        session.rollback()
        return _team(request, session, exc.status_code, errors=field_errors(exc), values=forms.typed(form))
    return _team(request, session, created={"email": email.lower(), "password": password})


@router.get("/team/{user_id}/disable")
@page
def team_disable_confirm(request: Request, session: SessionDep, user_id: str) -> Response:
    """Ask before disabling an account (its sessions end at once)."""
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    person = next((u for u in accounts.list_users(session, tenant.partner) if u.id == user_id), None)
    if person is None:
        raise NotFound("No such portal account in your organisation.")
    return render(request, "team_disable.html", person=person)


@router.post("/team/{user_id}/disable")
@page
def team_disable(request: Request, form: Form, session: SessionDep, user_id: str) -> Response:
    """Disable an account of the partner's; its sessions end at once."""
    check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    accounts.disable_in_org(session, tenant.partner, user_id)
    return RedirectResponse("/portal/team", status_code=303)


# ---------------------------------------------------------------------------------------------- review
