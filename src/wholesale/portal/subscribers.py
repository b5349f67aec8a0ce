"""Subscribers: a customer's users for its partner (/portal/customers/{id}/subscribers) and, Control-Hub-like, for
the customer's own administrators (/portal/users, R4): list, add, change the package, remove, and a CSV bulk import
with its progress. The rules are the API's (subscribers.service, subscribers.bulk); refusals read in plain words
next to their fields (subscribers.plain)."""

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from wholesale.identity.roles import Role, Scope
from wholesale.kit.errors import DomainError
from wholesale.kit.http import SessionDep, UnitOfWorkRoute
from wholesale.kit.pagination import PageParams
from wholesale.partners import tenancy
from wholesale.partners.tenancy import Tenant
from wholesale.portal.web import (
    PAGE_SIZE,
    Form,
    check_csrf,
    confirmation,
    error_page,
    page,
    partner_admin,
    redirect,
    render,
    signed_in,
)
from wholesale.subscribers import bulk, plain, service, views
from wholesale.subscribers.bulk import CSV_COLUMNS
from wholesale.subscribers.schemas import MAX_BULK_ROWS, SubscriberCreate, SubscriberUpdate

log = logging.getLogger("wholesale.portal")
router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

FIELDS = ("email", "first_name", "last_name", "package", "phone", "extension")
NOTICES = {
    "added": "The {noun} was added.",
    "pending": "This email belongs to a free account: its owner was sent an email to agree to the move. "
    "Until then the {noun} shows as waiting for consent.",
    "changed": "The package was changed.",
    "removed": "The {noun} was removed; its licence is free again.",
}


@dataclass(frozen=True)
class Area:
    """Whose subscribers a page shows: a partner's customer (`customer_id`), or a customer admin's own org."""

    tenant: Tenant
    base: str  # the list page's path
    customer_id: str | None  # None: the customer admin's own organisation

    @property
    def partner(self) -> bool:
        return self.customer_id is not None

    @property
    def noun(self) -> str:
        return "subscriber" if self.partner else "user"


def _partner(request: Request, session: Session, customer_id: str, *, write: bool = False) -> Area:
    """A partner admin, for itself or the sub-partner it acts for; a write refuses a suspended one, as the API does."""
    tenant = partner_admin(request, session, Scope.SUBSCRIBERS_WRITE if write else Scope.SUBSCRIBERS_READ)
    if write:
        acting = (getattr(request.state, "portal_nav", None) or {}).get("acting")
        tenant = tenancy.resolve(session, tenant.principal, acting, writing=True)
    return Area(tenant, f"/portal/customers/{customer_id}/subscribers", customer_id)


def _customer_admin(request: Request, session: Session, *, write: bool = False) -> Area:
    """A customer's own administrator: confined to its organisation (R4)."""
    principal = signed_in(request, Scope.SUBSCRIBERS_WRITE if write else Scope.SUBSCRIBERS_READ, Role.CUSTOMER_ADMIN)
    tenant = tenancy.resolve(session, principal, None, writing=write, customer_admins=True)
    return Area(tenant, "/portal/users", None)


def _values(form: FormData) -> dict[str, str]:
    return {name: str(form.get(name) or "").strip() for name in FIELDS}


def _offset(value: str) -> int:
    return max(int(value), 0) if value.isdigit() else 0


def _refusal(exc: Exception, package: str | None = None) -> dict[str, str]:
    """A refusal as {form field: plain words}; errors that are no form's business go to the error page."""
    if isinstance(exc, DomainError) and exc.status_code in (401, 403, 404):
        raise exc
    return plain.explain_all(plain.errors_of(exc), package=package or None)


def _status(exc: Exception) -> int:
    return exc.status_code if isinstance(exc, DomainError) else 400


# ---------------------------------------------------------------------------------------------- the list


def _list(
    request: Request,
    session: Session,
    area: Area,
    offset: int = 0,
    status: int = 200,
    **context: Any,
) -> Response:
    roster = views.roster(session, area.tenant, area.customer_id, PageParams(max=PAGE_SIZE, offset=offset))
    context.setdefault("errors", {})
    context.setdefault("import_errors", {})
    context.setdefault("values", {"package": roster.customer.tier or ""})
    done = request.query_params.get("done", "")
    return render(
        request,
        "subscribers.html",
        status,
        area=area,
        r=roster,
        c=roster.customer,
        notice=NOTICES[done].format(noun=area.noun) if done in NOTICES else None,
        first=offset + 1 if roster.people else 0,
        last=offset + len(roster.people),
        prev_url=f"{area.base}?offset={max(offset - PAGE_SIZE, 0)}" if offset else None,
        next_url=f"{area.base}?offset={offset + PAGE_SIZE}" if roster.has_more else None,
        columns=CSV_COLUMNS,
        max_rows=MAX_BULK_ROWS,
        **context,
    )


def _add(request: Request, form: FormData, session: Session, area: Area) -> Response:
    """Add a subscriber with the API's own rules; a refusal comes back next to its field, keeping what was typed."""
    check_csrf(request, form)
    values = _values(form)
    customer_id = area.customer_id or str(form.get("customer") or "")
    params: dict[str, Any] = {
        "firstName": values["first_name"] or None,
        "lastName": values["last_name"] or None,
        "primaryPhoneNumber": values["phone"] or None,
        "extension": values["extension"] or None,
    }
    try:
        body = SubscriberCreate.model_validate(
            {
                "customerId": customer_id,
                "email": values["email"],
                "packages": [values["package"]] if values["package"] else None,
                "provisioningParameters": params,
            }
        )
        subscriber, _ = service.create_subscriber(session, area.tenant, body)
    except (DomainError, ValidationError) as exc:
        errors = _refusal(exc, values["package"])
        session.rollback()
        return _list(request, session, area, 0, _status(exc), errors=errors, values=values)
    done = "pending" if subscriber.status == "pending_user_migration" else "added"
    return redirect(request, f"{area.base}?done={done}")


def _import(request: Request, form: FormData, session: Session, area: Area) -> Response:
    """Start a bulk import of the uploaded CSV (the API's bulk job) and show its progress; a file that cannot be read
    is refused whole, saying why."""
    check_csrf(request, form)
    upload = form.get("file")
    data = upload.file.read() if isinstance(upload, UploadFile) else b""
    customer_id = area.customer_id or str(form.get("customer") or "")
    try:
        started = bulk.start_bulk_csv(session, area.tenant, customer_id, data)
    except DomainError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        words = exc.message.split(": ", 1)[1] if exc.message.startswith("file: ") else None
        message = words or " ".join(plain.explain_all(exc.errors).values())
        session.rollback()
        return _list(request, session, area, 0, exc.status_code, import_errors={"file": message})
    return redirect(request, f"{area.base}/import/{started.id}")


def _progress(request: Request, session: Session, area: Area, import_id: str) -> Response:
    """A bulk import's progress, refreshing itself (htmx) until every row is done; then what failed and why."""
    progress = views.progress(session, area.tenant, area.customer_id, import_id)
    return render(request, "subscribers_import.html", area=area, p=progress)


# ---------------------------------------------------------------------------------------------- one subscriber


def _edit(
    request: Request, session: Session, area: Area, subscriber_id: str, status: int = 200, **context: Any
) -> Response:
    member = views.member(session, area.tenant, area.customer_id, subscriber_id)
    person = member.person
    context.setdefault("errors", {})
    context.setdefault(
        "values", {"package": person.package, "phone": person.phone or "", "extension": person.extension or ""}
    )
    return render(request, "subscribers_edit.html", status, area=area, c=member.customer, person=person, **context)


def _change(request: Request, form: FormData, session: Session, area: Area, subscriber_id: str) -> Response:
    """Change the package (one licence moves from the old package to the new); an administrator's downgrade below
    the customer's package is refused and nothing changes (R5)."""
    check_csrf(request, form)
    values = _values(form)
    try:
        calling = {"primaryPhoneNumber": values["phone"] or None, "extension": values["extension"] or None}
        body = SubscriberUpdate.model_validate(
            {
                "packages": [values["package"]] if values["package"] else None,
                "provisioningParameters": calling if any(calling.values()) else None,
            }
        )
        service.update_subscriber(session, area.tenant, subscriber_id, body)
    except (DomainError, ValidationError) as exc:
        errors = _refusal(exc, values["package"])
        session.rollback()
        return _edit(request, session, area, subscriber_id, _status(exc), errors=errors, values=values)
    return redirect(request, f"{area.base}?done=changed")


def _remove(request: Request, form: FormData, session: Session, area: Area, subscriber_id: str) -> Response:
    """Remove a subscriber after a confirmation page; its licence is free at once."""
    check_csrf(request, form)
    if form.get("confirm") != "yes":
        person = views.member(session, area.tenant, area.customer_id, subscriber_id).person
        asked = confirmation(
            request,
            form,
            title=f"Remove {person.email}?",
            message=f"{person.name or person.email} loses their {area.noun}'s account and its licence at once. "
            "This cannot be undone.",
            button=f"Remove the {area.noun}",
            cancel=f"{area.base}/{subscriber_id}",
        )
        assert asked is not None  # not confirmed yet
        return asked
    try:
        service.delete_subscriber(session, area.tenant, subscriber_id)
    except DomainError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        session.rollback()
        return error_page(request, exc.status_code, " ".join(plain.explain_all(exc.errors).values()))
    return redirect(request, f"{area.base}?done=removed")


# ---------------------------------------------------------------------------------------------- partner admins


@router.get("/customers/{customer_id}/subscribers")
@page
def subscriber_list(request: Request, session: SessionDep, customer_id: str, offset: str = "") -> Response:
    """A customer's subscribers (newest first, paged), its licences against the caps, the add and import forms."""
    return _list(request, session, _partner(request, session, customer_id), _offset(offset))


@router.post("/customers/{customer_id}/subscribers")
@page
def subscriber_add(request: Request, form: Form, session: SessionDep, customer_id: str) -> Response:
    """Add a subscriber to the customer."""
    return _add(request, form, session, _partner(request, session, customer_id, write=True))


@router.post("/customers/{customer_id}/subscribers/import")
@page
def subscriber_import(request: Request, form: Form, session: SessionDep, customer_id: str) -> Response:
    """Import subscribers from a CSV file."""
    return _import(request, form, session, _partner(request, session, customer_id, write=True))


@router.get("/customers/{customer_id}/subscribers/import/{import_id}")
@page
def subscriber_import_progress(request: Request, session: SessionDep, customer_id: str, import_id: str) -> Response:
    """A CSV import's progress."""
    return _progress(request, session, _partner(request, session, customer_id), import_id)


@router.get("/customers/{customer_id}/subscribers/{subscriber_id}")
@page
def subscriber_edit(request: Request, session: SessionDep, customer_id: str, subscriber_id: str) -> Response:
    """One subscriber: change its package, or remove it."""
    return _edit(request, session, _partner(request, session, customer_id), subscriber_id)


@router.post("/customers/{customer_id}/subscribers/{subscriber_id}")
@page
def subscriber_change(
    request: Request, form: Form, session: SessionDep, customer_id: str, subscriber_id: str
) -> Response:
    """Change a subscriber's package."""
    return _change(request, form, session, _partner(request, session, customer_id, write=True), subscriber_id)


@router.post("/customers/{customer_id}/subscribers/{subscriber_id}/delete")
@page
def subscriber_remove(
    request: Request, form: Form, session: SessionDep, customer_id: str, subscriber_id: str
) -> Response:
    """Remove a subscriber (after a confirmation page)."""
    return _remove(request, form, session, _partner(request, session, customer_id, write=True), subscriber_id)


# ---------------------------------------------------------------------------------------------- customer admins


@router.get("/users")
@page
def user_list(request: Request, session: SessionDep, offset: str = "") -> Response:
    """The organisation's users (newest first, paged), its licences against the caps, the add and import forms."""
    return _list(request, session, _customer_admin(request, session), _offset(offset))


@router.post("/users")
@page
def user_add(request: Request, form: Form, session: SessionDep) -> Response:
    """Add a user to the organisation."""
    return _add(request, form, session, _customer_admin(request, session, write=True))


@router.post("/users/import")
@page
def user_import(request: Request, form: Form, session: SessionDep) -> Response:
    """Import users from a CSV file."""
    return _import(request, form, session, _customer_admin(request, session, write=True))


@router.get("/users/import/{import_id}")
@page
def user_import_progress(request: Request, session: SessionDep, import_id: str) -> Response:
    """A CSV import's progress."""
    return _progress(request, session, _customer_admin(request, session), import_id)


@router.get("/users/{subscriber_id}")
@page
def user_edit(request: Request, session: SessionDep, subscriber_id: str) -> Response:
    """One user: change its package, or remove it."""
    return _edit(request, session, _customer_admin(request, session), subscriber_id)


@router.post("/users/{subscriber_id}")
@page
def user_change(request: Request, form: Form, session: SessionDep, subscriber_id: str) -> Response:
    """Change a user's package within the caps; the full administrator's downgrade is refused (R5)."""
    return _change(request, form, session, _customer_admin(request, session, write=True), subscriber_id)


@router.post("/users/{subscriber_id}/delete")
@page
def user_remove(request: Request, form: Form, session: SessionDep, subscriber_id: str) -> Response:
    """Remove a user (after a confirmation page)."""
    return _remove(request, form, session, _customer_admin(request, session, write=True), subscriber_id)
