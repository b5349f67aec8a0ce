"""The partner and reviewer portal: server-rendered pages (Jinja2 + htmx) over the same services as the API.

This module is the router the app mounts: sign-in and -out, the acting org, then each area's pages (a module
each), and last the portal's own 404 page."""

import contextlib
import secrets

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from wholesale.activity import audit
from wholesale.db.session import get_database
from wholesale.identity import accounts
from wholesale.identity import service as identity
from wholesale.identity.roles import Role
from wholesale.kit.context import set_actor
from wholesale.kit.errors import Forbidden, Unauthorized
from wholesale.kit.http import SessionDep, UnitOfWorkRoute
from wholesale.partners import tenancy
from wholesale.portal import activity as activity_pages
from wholesale.portal import billing as billing_pages
from wholesale.portal import catalog as catalog_pages
from wholesale.portal import customers as customers_pages
from wholesale.portal import review as review_pages
from wholesale.portal import subscribers as subscriber_pages
from wholesale.portal import team as team_pages
from wholesale.portal.web import (
    ACTING_COOKIE,
    CSRF_COOKIE,
    SESSION_COOKIE,
    Form,
    check_csrf,
    error_page,
    page,
    partner_admin,
    redirect,
    render,
    safe_next,
    set_cookie,
    signed_in,
)

router = APIRouter(prefix="/portal", route_class=UnitOfWorkRoute, include_in_schema=False)


@router.get("")
@router.get("/")
@page
def home(request: Request) -> Response:
    """Send each role to its start page."""
    principal = signed_in(request, None)  # only the role matters here; each page checks its own scope
    if principal.role == Role.PARTNER_ADMIN:
        return redirect(request, "/portal/customers")
    if principal.role in (Role.REVIEWER, Role.OPERATOR):
        return redirect(request, "/portal/review")
    if principal.role == Role.CUSTOMER_ADMIN:
        return redirect(request, "/portal/users")
    raise Forbidden("The portal is for partner and customer administrators and compliance reviewers.")


@router.get("/signin")
def signin_form(request: Request) -> Response:
    """The sign-in page: email and password (or, for developers, an API token)."""
    return render(request, "signin.html", error=None, next=safe_next(request.query_params.get("next")), email="")


@router.post("/signin")
@page
def signin(request: Request, form: Form, session: SessionDep) -> Response:
    """Check the password (or the pasted token, as the API would) and open a server-side session; the cookie holds
    only that session's random secret."""
    check_csrf(request, form)
    target = safe_next(str(form.get("next") or ""))
    email = str(form.get("email") or "").strip()
    token = str(form.get("token") or "").strip()
    try:
        if token:
            principal = identity.authenticate(lambda: get_database().session(write=False), f"Bearer {token}")
            secret = accounts.sign_in_with_token(session, principal)
        else:
            secret = _sign_in_with_password(email, str(form.get("password") or ""))
            principal, _stale = accounts.resolve(session, secret)
    except Unauthorized as exc:
        return render(request, "signin.html", 401, error=exc.message, next=target, email=email, token_used=bool(token))
    set_actor(f"portal:{principal.token_id}", role=principal.role, org_id=principal.org_id)
    audit.record_portal_session(session, principal, "portal.signed_in")
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, request, SESSION_COOKIE, secret)
    # A new CSRF token per session: one planted before sign-in (login CSRF) is worthless afterwards.
    set_cookie(response, request, CSRF_COOKIE, secrets.token_urlsafe(32))
    response.delete_cookie(ACTING_COOKIE, path="/portal")
    return response


def _sign_in_with_password(email: str, password: str) -> str:
    """Check the password in a transaction of its own that commits even when it fails: a wrong password's count
    (towards the lockout) must survive the 401."""
    refused: Unauthorized | None = None
    with get_database().transaction() as session:
        try:
            secret, _user = accounts.sign_in(session, email, password)
        except Unauthorized as exc:
            refused = exc
    if refused is not None:
        raise refused
    return secret


@router.post("/signout")
@page
def signout(request: Request, form: Form, session: SessionDep) -> Response:
    """Forget the session."""
    check_csrf(request, form)
    # Without a session (or with a revoked token) there is nothing to record; the cookies go all the same.
    with contextlib.suppress(Unauthorized):
        audit.record_portal_session(session, signed_in(request, None), "portal.signed_out")
    if secret := request.cookies.get(SESSION_COOKIE):
        accounts.sign_out(session, secret)  # the cookie is worthless from now on, wherever it was copied
    response = RedirectResponse("/portal/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/portal")
    response.delete_cookie(ACTING_COOKIE, path="/portal")
    return response


@router.post("/acting")
@page
def switch_acting(request: Request, form: Form, session: SessionDep) -> Response:
    """Act for one of the partner's sub-partners (onBehalfOfSubPartnerOrgId), or for the partner itself."""
    check_csrf(request, form)
    principal = partner_admin(request, session).principal
    org_id = str(form.get("org_id") or "")
    response = RedirectResponse("/portal/customers", status_code=303)
    if org_id:
        tenancy.resolve(session, principal, org_id, writing=False)  # 403 unless it is our sub-partner
        set_cookie(response, request, ACTING_COOKIE, org_id)
    else:
        response.delete_cookie(ACTING_COOKIE, path="/portal")
    return response


# ---------------------------------------------------------------------------------------------- customers


router.include_router(customers_pages.router)
router.include_router(activity_pages.router)
router.include_router(billing_pages.router)
router.include_router(catalog_pages.router)
router.include_router(team_pages.router)
router.include_router(review_pages.router)
router.include_router(subscriber_pages.router)


@router.get("/{rest:path}")
@page
def not_found(request: Request, rest: str) -> Response:
    """Unknown portal page."""
    return error_page(request, 404, "There is no such page in the portal.")
