"""The partner and reviewer portal: server-rendered pages (Jinja2 + htmx) over the same services as the API."""

import contextlib
import functools
import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import pycountry
from fastapi import APIRouter, Depends, Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from wholesale.activity import audit, wording
from wholesale.billing import service as billing
from wholesale.billing.schemas import ReportCreate
from wholesale.compliance import service as compliance
from wholesale.config import get_settings
from wholesale.customers import service as customers
from wholesale.customers import templates as customer_templates
from wholesale.customers.schemas import CustomerCreate, TemplateIn
from wholesale.customers.states import CustomerStatus
from wholesale.db.session import get_database
from wholesale.dialin import service as dialin
from wholesale.events.models import AuditEvent, Event
from wholesale.identity import accounts
from wholesale.identity import service as identity
from wholesale.identity.roles import Role, Scope
from wholesale.identity.schemas import Principal
from wholesale.kit import clock
from wholesale.kit.context import set_actor
from wholesale.kit.errors import DomainError, Forbidden, NotFound, Unauthorized
from wholesale.kit.http import SessionDep, UnitOfWorkRoute, public_base
from wholesale.kit.pagination import PageParams
from wholesale.packages.catalog import CALLING_PACKAGES, CustomerPackage
from wholesale.partners import service as partners
from wholesale.partners import tenancy
from wholesale.partners.tenancy import Tenant

log = logging.getLogger("wholesale.portal")

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")


def when(value: datetime | str | None) -> Markup:
    """An instant as people read it: `30 Nov 2026, 22:36:05 UTC` (static/localtime.js turns it into the browser's own
    time zone), with the exact instant in `datetime`."""
    if value is None:
        return Markup("")
    instant = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    instant = (instant if instant.tzinfo else instant.replace(tzinfo=UTC)).astimezone(UTC)
    text = f"{instant.day} {instant:%b %Y, %H:%M:%S} UTC"
    return Markup('<time datetime="{}" data-local>{}</time>').format(clock.isoformat(instant), text)


templates.env.filters["when"] = when
router = APIRouter(prefix="/portal", route_class=UnitOfWorkRoute, include_in_schema=False)

SESSION_COOKIE = "wholesale_portal"
CSRF_COOKIE = "wholesale_csrf"
ACTING_COOKIE = "wholesale_acting"
PAGE_SIZE = 20
# R12 review targets: decided within 15 minutes, and at the latest within 60.
TARGET_MINUTES = (15, 60)
# How a reviewer may have tried to reach the partner (R13): a fixed list, so the record reads alike case to case.
CONTACT_CHANNELS = ("email", "phone", "video call", "partner portal message", "letter")
COUNTRIES = sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])
CUSTOMER_STATUSES = [s.value for s in CustomerStatus if s != CustomerStatus.DELETED]
CASE_STATUSES = ["open", "noncompliant", "approved", "resolved", "deprovisioned"]
PACKAGES = [p.value for p in CustomerPackage]
# API field paths (as DomainError messages name them) -> the form field they belong to.
FIELD_MAP = {
    "provisioningId": "template",
    "customerInfo.name": "name",
    "customerInfo.primaryEmail": "email",
    "customerInfo": "name",
    "externalId": "external_id",
    "address.addressLine1": "address_line1",
    "address.addressLine2": "address_line2",
    "address.city": "city",
    "address.stateOrProvince": "state",
    "address.zipOrPostalCode": "zip",
    "address.country": "country",
    "address": "address_line1",
    "packages": "packages",
    "provisioningParameters.calling.location": "location_name",
    "provisioningParameters.calling.location.name": "location_name",
    "provisioningParameters.calling.location.timezone": "location_timezone",
    "name": "name",
    "language": "language",
    "meetingsTimezone": "meetings_timezone",
    "allowedPackages": "allowed_packages",
    "reason": "reason",
    "channel": "channel",
    "outcome": "outcome",
    "billingStartDate": "start",
    "billingEndDate": "end",
    "type": "type",
    "category": "category",
    "from": "from",
    "to": "to",
    "actorId": "actor",
    "targetId": "target",
    "targetType": "target_type",
    "action": "action",
    "before": "_form",
}
HISTORY_ON_DETAIL = 10  # the newest rows of a customer's history on its page; the rest on its history page
HISTORY_PAGE = 50
AUDIT_PAGE = 50
# Rows a partner should not miss in a customer's history: the compliance review's turns and the removal it causes.
NOTICES = frozenset({"compliance.reject", "compliance.deadline_warning", "compliance.deprovision", "customer.failed"})


async def _form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(_form)]


# ---------------------------------------------------------------------------------------------- plumbing


def _csrf_token(request: Request) -> str:
    """Return this browser's CSRF token (double submit: cookie + hidden field), minting one when missing."""
    token = getattr(request.state, "csrf", None)
    if token is None:
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        request.state.csrf = token
    return token


def _check_csrf(request: Request, form: FormData) -> None:
    """Refuse a form POST whose hidden token does not match the cookie (a forged cross-site submit)."""
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    sent = str(form.get("csrf") or "")
    if not cookie or not hmac.compare_digest(cookie, sent):
        raise Forbidden(
            "The form could not be verified (missing or stale security token). Reload the page and try again."
        )


def _cookie(response: Response, request: Request, name: str, value: str) -> None:
    # HttpOnly and SameSite=Strict: scripts cannot read it and no other site can make the browser send it.
    # Secure when the browser reached us over https: directly, through a trusted proxy (X-Forwarded-Proto), or
    # whenever the configured public origin is https.
    secure = request.url.scheme == "https" or get_settings().public_base_url.startswith("https://")
    response.set_cookie(name, value, httponly=True, samesite="strict", secure=secure, path="/portal")


def render(request: Request, template_name: str, status_code: int = 200, /, **context: Any) -> Response:
    """Render a page (or an htmx fragment) with the common context; sets the CSRF cookie on first visit."""
    csrf = _csrf_token(request)
    context.setdefault("principal", getattr(request.state, "portal_principal", None))
    context.setdefault("nav", getattr(request.state, "portal_nav", None))
    response = templates.TemplateResponse(request, template_name, {"csrf": csrf, **context}, status_code=status_code)
    if request.cookies.get(CSRF_COOKIE) != csrf:
        _cookie(response, request, CSRF_COOKIE, csrf)
    return response


def error_page(request: Request, status_code: int, message: str) -> Response:
    """Render an error in the portal's own style."""
    titles = {
        400: "Not accepted",
        401: "Sign-in needed",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        500: "Something went wrong",
    }
    return render(
        request, "error.html", status_code, title=titles.get(status_code, "Error"), message=message, status=status_code
    )


def _redirect(request: Request, url: str) -> Response:
    # htmx follows HX-Redirect with a full page load; a plain browser follows the 303.
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def page(fn: Callable[..., Response]) -> Callable[..., Response]:
    """Turn domain errors into portal pages: 401 goes to sign-in, the rest become an error page."""

    @functools.wraps(fn)
    def run(**kwargs: Any) -> Response:
        request: Request = kwargs["request"]
        try:
            return fn(**kwargs)
        except Unauthorized:
            return _redirect(request, _signin_url(request))
        except DomainError as exc:
            return error_page(request, exc.status_code, exc.message)
        except Exception:
            log.exception("portal page failed", extra={"fields": {"path": request.url.path}})
            return error_page(
                request, 500, "The page could not be shown. Try again; if it persists, tell the operator."
            )

    return run


def _signin_url(request: Request) -> str:
    """The sign-in page, remembering the page to come back to (a GET of the portal's own)."""
    if request.method != "GET" or request.headers.get("hx-request"):
        return "/portal/signin"
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/portal/signin?{urlencode({'next': here})}" if here not in ("/portal", "/portal/") else "/portal/signin"


def _safe_next(value: str | None) -> str:
    """Where to go after sign-in: a portal path of this site only (never another origin, e.g. //evil.example)."""
    target = (value or "").strip()
    if target.startswith("/portal") and not target.startswith("//") and "\\" not in target and "\n" not in target:
        return target
    return "/portal"


def signed_in(request: Request, scope: Scope | None, *roles: Role) -> Principal:
    """Resolve the session cookie to the principal an API token would give (no cache: a revoked session is refused
    at once), then check the role and scope."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        raise Unauthorized("Sign in first.")
    with get_database().session(write=False) as session:
        principal, stale = accounts.resolve(session, secret)
    if stale:
        with get_database().transaction() as session:
            accounts.touch(session, secret)
    set_actor(f"portal:{principal.token_id}", role=principal.role, org_id=principal.org_id)
    request.state.portal_principal = principal
    if roles and principal.role not in roles:
        raise Forbidden(f"These pages are not for the {principal.role} role.")
    if scope is not None:
        identity.require_scope(principal, scope)
    return principal


def partner_admin(request: Request, session: Session, scope: Scope = Scope.CUSTOMERS_READ) -> Tenant:
    """Sign in a partner admin; return its tenant: the partner itself, or the sub-partner it chose to act for.

    Pages that change customers or templates (`customers_write`) resolve it as a write, so a suspended
    sub-partner is refused as the API refuses it."""
    principal = signed_in(request, scope, Role.PARTNER_ADMIN)
    acting = request.cookies.get(ACTING_COOKIE) or None
    subs: list[dict[str, str]] = []
    if Scope.SUB_PARTNERS_READ.value in principal.scopes and principal.partner_org_id:
        subs = [
            {"orgId": org_id, "name": name, "state": state}
            for org_id, name, state in partners.sub_partner_choices(session, principal.partner_org_id)
        ]
    if acting and acting not in {s["orgId"] for s in subs}:
        acting = None  # a stale choice (sub-partner gone, or another login) falls back to the partner itself
    acting_name = next((s["name"] for s in subs if s["orgId"] == acting), None)
    request.state.portal_nav = {"sub_partners": subs, "acting": acting, "acting_name": acting_name}
    return tenancy.resolve(session, principal, acting, writing=scope == Scope.CUSTOMERS_WRITE)


def reviewer(request: Request) -> Principal:
    """Sign in a member of the compliance team (reviewers decide; operators may look)."""
    return signed_in(request, Scope.COMPLIANCE_REVIEW, Role.REVIEWER, Role.OPERATOR)


def field_errors(exc: Exception) -> dict[str, str]:
    """Map a DomainError or a pydantic error to {form field: message}; '_form' holds what names no field."""
    if isinstance(exc, ValidationError):
        out: dict[str, str] = {}
        for err in exc.errors():
            path = ".".join(str(p) for p in err.get("loc", ()) if not isinstance(p, int))
            text = "is required" if err.get("type") == "missing" else err.get("msg", "is invalid")
            out.setdefault(FIELD_MAP.get(path, "_form"), f"{path}: {text}")
        return out
    message = getattr(exc, "message", str(exc))
    path = message.split(":", 1)[0].strip() if ":" in message else ""
    while path and path not in FIELD_MAP and "." in path:
        path = path.rsplit(".", 1)[0]
    return {FIELD_MAP.get(path, "_form"): message}


def confirmation(
    request: Request, form: FormData, *, title: str, message: str, button: str, cancel: str, keep: Sequence[str] = ()
) -> Response | None:
    """A page asking to confirm an irreversible step, unless the form already says `confirm=yes`: it posts the same
    form again (the fields in `keep`) with the confirmation. None when confirmed."""
    if form.get("confirm") == "yes":
        return None
    fields = {name: str(form.get(name) or "") for name in keep}
    return render(
        request,
        "confirm.html",
        title=title,
        message=message,
        button=button,
        cancel=cancel,
        action=request.url.path,
        fields=fields,
    )


def _minutes_since(iso: str | None) -> float | None:
    if not iso:
        return None
    return (clock.now() - datetime.fromisoformat(iso.replace("Z", "+00:00"))).total_seconds() / 60


# ---------------------------------------------------------------------------------------------- sign-in


@router.get("")
@router.get("/")
@page
def home(request: Request) -> Response:
    """Send each role to its start page."""
    principal = signed_in(request, None)  # only the role matters here; each page checks its own scope
    if principal.role == Role.PARTNER_ADMIN:
        return _redirect(request, "/portal/customers")
    if principal.role in (Role.REVIEWER, Role.OPERATOR):
        return _redirect(request, "/portal/review")
    raise Forbidden("The portal is for partner administrators and compliance reviewers.")


@router.get("/signin")
def signin_form(request: Request) -> Response:
    """The sign-in page: email and password (or, for developers, an API token)."""
    return render(request, "signin.html", error=None, next=_safe_next(request.query_params.get("next")), email="")


@router.post("/signin")
@page
def signin(request: Request, form: Form, session: SessionDep) -> Response:
    """Check the password (or the pasted token, as the API would) and open a server-side session; the cookie holds
    only that session's random secret."""
    _check_csrf(request, form)
    target = _safe_next(str(form.get("next") or ""))
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
    _cookie(response, request, SESSION_COOKIE, secret)
    # A new CSRF token per session: one planted before sign-in (login CSRF) is worthless afterwards.
    _cookie(response, request, CSRF_COOKIE, secrets.token_urlsafe(32))
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
    _check_csrf(request, form)
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
    _check_csrf(request, form)
    principal = partner_admin(request, session).principal
    org_id = str(form.get("org_id") or "")
    response = RedirectResponse("/portal/customers", status_code=303)
    if org_id:
        tenancy.resolve(session, principal, org_id, writing=False)  # 403 unless it is our sub-partner
        _cookie(response, request, ACTING_COOKIE, org_id)
    else:
        response.delete_cookie(ACTING_COOKIE, path="/portal")
    return response


# ---------------------------------------------------------------------------------------------- customers


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
    _check_csrf(request, form)
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
        history=_history(session, audit.partner_reader(session, tenant, tree=False), rows),
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


def _history(session: Session, who: audit.Reader, rows: Sequence[AuditEvent]) -> list[dict[str, Any]]:
    """Audit rows as a history shows them: when, who, what in words, and the user a subscriber row is about."""
    emails = audit.subscriber_emails(session, [r.subject_id for r in rows if r.subject_type == "subscriber"])
    out = []
    for row in rows:
        data, before, after = audit.shown(row, who)
        out.append(
            {
                "id": row.id,
                "at": row.occurred_at,
                "action": row.action,
                "what": wording.describe(row.action, data),
                "who": wording.actor(row.actor, row.actor_role),
                "user": emails.get(row.subject_id) if row.subject_type == "subscriber" else None,
                "notice": row.action in NOTICES,
                "row": row,
                "data": data,
                "before": before,
                "after": after,
            }
        )
    return out


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
        history=_history(session, audit.partner_reader(session, tenant, tree=False), rows),
        removed=customer.deleted_at is not None,
        next_url=f"/portal/customers/{customer_id}/history?{urlencode({'before': rows[-1].id})}" if more else None,
        first_url=f"/portal/customers/{customer_id}/history" if before else None,
    )


def _feed_customer(event: Event) -> str | None:
    """The customer a feed event is about, when it is about one."""
    if event.resource == "customers":
        return event.subject_id
    customer = (event.data or {}).get("customerId")
    return str(customer) if customer else None


@router.get("/activity")
@page
def activity(request: Request, session: SessionDep, before: str = "") -> Response:
    """The partner's event feed (what its webhooks receive), newest first, linking each change to its customer."""
    tenant = partner_admin(request, session)
    events, more = audit.recent_events(session, tenant, audit.parse_before(before), PAGE_SIZE)
    names = audit.customer_names(session, tenant, sorted({c for e in events if (c := _feed_customer(e))}))
    items = [
        {
            "at": e.created,
            "resource": e.resource,
            "event": e.event,
            "type": e.type,
            "what": wording.describe(e.type, e.data),
            "who": wording.actor(
                e.actor_id,
                "reviewer" if e.resource == "compliance" and e.actor_id.startswith(("token:", "portal:")) else None,
            ),
            "customer": _feed_customer(e),
            "notice": e.type in NOTICES,
        }
        for e in events
    ]
    return render(
        request,
        "activity.html",
        items=items,
        names=names,
        next_url=f"/portal/activity?{urlencode({'before': events[-1].id})}" if more else None,
        first_url="/portal/activity" if before else None,
    )


def _utc(value: str) -> str | None:
    """A datetime-local field's value (no zone) read as UTC; a value with its zone stays as it is."""
    value = value.strip()
    if not value:
        return None
    zoned = value.endswith("Z") or (value[-6:-5] in ("+", "-") and value[-3:-2] == ":")
    return value if zoned else value + "Z"


AUDIT_FIELDS = ("from", "to", "actor", "target", "target_type", "action")


@router.get("/audit")
@page
def audit_log(request: Request, session: SessionDep) -> Response:
    """Operators: every audit row, newest first, narrowed by time range (UTC), actor, target and action."""
    principal = signed_in(request, Scope.PLATFORM_ADMIN, Role.OPERATOR)
    who = audit.reader(session, principal, None)
    values = {k: request.query_params.get(k, "").strip() for k in AUDIT_FIELDS}
    try:
        filters = audit.parse_filters(
            start=_utc(values["from"]),
            end=_utc(values["to"]),
            actor_id=values["actor"],
            target_id=values["target"],
            target_type=values["target_type"],
            action=values["action"],
        )
        before = audit.parse_before(request.query_params.get("before"))
    except DomainError as exc:
        return render(
            request,
            "audit_log.html",
            exc.status_code,
            rows=[],
            values=values,
            errors=field_errors(exc),
            target_types=audit.TARGET_TYPES,
            next_url=None,
            first_url=None,
        )
    rows, more = audit.read_page(session, who, filters, before, AUDIT_PAGE)
    query = {k: v for k, v in values.items() if v}
    return render(
        request,
        "audit_log.html",
        rows=_history(session, who, rows),
        values=values,
        errors={},
        target_types=audit.TARGET_TYPES,
        next_url=f"/portal/audit?{urlencode(query | {'before': rows[-1].id})}" if more else None,
        first_url=f"/portal/audit?{urlencode(query)}" if before else None,
    )


# ---------------------------------------------------------------------------------------------- billing


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
    _check_csrf(request, form)
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
    _check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.BILLING_WRITE)
    billing.delete_report(session, tenant, report_id)
    return RedirectResponse("/portal/billing", status_code=303)


# ---------------------------------------------------------------------------------------------- templates


def _template_body(form: FormData) -> TemplateIn:
    allowed = [str(p) for p in form.getlist("allowed_packages")]
    return TemplateIn.model_validate(
        {
            "name": str(form.get("name") or "").strip(),
            "language": str(form.get("language") or "").strip() or "en_us",
            "meetingsTimezone": str(form.get("meetings_timezone") or "").strip() or None,
            "pstnEnabled": form.get("pstn_enabled") == "on",
            "allowedPackages": allowed or None,
        }
    )


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
def template_new(request: Request, session: SessionDep) -> Response:
    """An empty template form."""
    partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    return render(
        request, "template_form.html", template_id=None, values=_template_values(None), errors={}, packages=PACKAGES
    )


@router.get("/templates/{template_id}")
@page
def template_edit(request: Request, session: SessionDep, template_id: str) -> Response:
    """A template's edit form."""
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    t = customer_templates.get_template(session, tenant, template_id)
    return render(
        request, "template_form.html", template_id=template_id, values=_template_values(t), errors={}, packages=PACKAGES
    )


@router.post("/templates/new")
@page
def template_create(request: Request, form: Form, session: SessionDep) -> Response:
    """Create a template."""
    return _save_template(request, form, session, None)


@router.post("/templates/{template_id}")
@page
def template_replace(request: Request, form: Form, session: SessionDep, template_id: str) -> Response:
    """Replace a template's settings."""
    return _save_template(request, form, session, template_id)


def _save_template(request: Request, form: FormData, session: Session, template_id: str | None) -> Response:
    _check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    try:
        body = _template_body(form)
        if template_id:
            customer_templates.replace_template(session, tenant, template_id, body)
        else:
            customer_templates.create_template(session, tenant, body)
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, DomainError) and exc.status_code in (401, 403, 404):
            raise
        session.rollback()
        values = {
            "name": form.get("name", ""),
            "language": form.get("language", ""),
            "meetings_timezone": form.get("meetings_timezone", ""),
            "pstn_enabled": form.get("pstn_enabled") == "on",
            "allowed_packages": [str(p) for p in form.getlist("allowed_packages")],
        }
        return render(
            request,
            "template_form.html",
            400,
            template_id=template_id,
            values=values,
            errors=field_errors(exc),
            packages=PACKAGES,
        )
    return RedirectResponse("/portal/templates", status_code=303)


@router.post("/templates/{template_id}/delete")
@page
def template_delete(request: Request, form: Form, session: SessionDep, template_id: str) -> Response:
    """Delete a template no customer uses (a template in use is refused with the API's message)."""
    _check_csrf(request, form)
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


def _team(request: Request, session: Session, status: int = 200, **context: Any) -> Response:
    tenant = partner_admin(request, session)
    people = accounts.list_users(session, tenant.partner)
    context.setdefault("errors", {})
    context.setdefault("values", {"email": ""})
    return render(request, "team.html", status, people=people, now=clock.now(), **context)


@router.get("/team")
@page
def team(request: Request, session: SessionDep) -> Response:
    """The partner's portal accounts: who may sign in for it."""
    return _team(request, session)


@router.post("/team")
@page
def team_add(request: Request, form: Form, session: SessionDep) -> Response:
    """Add a partner admin account; its password is shown once, to hand over."""
    _check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    email = str(form.get("email") or "").strip()
    if not email:
        return _team(request, session, 400, errors={"email": "Enter the person's email address."}, values={"email": ""})
    try:
        password = accounts.create_user(session, org_id=tenant.partner, email=email, role=Role.PARTNER_ADMIN)
    except DomainError as exc:
        message = exc.message.split(": ", 1)[-1]
        session.rollback()
        return _team(request, session, exc.status_code, errors={"email": message}, values={"email": email})
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
    _check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    accounts.disable_in_org(session, tenant.partner, user_id)
    return RedirectResponse("/portal/team", status_code=303)


# ---------------------------------------------------------------------------------------------- review


def _age(case: dict[str, Any]) -> dict[str, Any]:
    """Minutes a case has waited for a decision and how that compares with the R12 targets."""
    minutes = _minutes_since(case.get("openedAt")) if not case.get("decidedAt") else None
    if minutes is None:
        return {"minutes": None, "label": "decided", "level": "ok"}
    if minutes <= TARGET_MINUTES[0]:
        return {"minutes": minutes, "label": "within 15-minute target", "level": "ok"}
    if minutes <= TARGET_MINUTES[1]:
        return {"minutes": minutes, "label": "past 15-minute target", "level": "warn"}
    return {"minutes": minutes, "label": "past 60-minute target", "level": "bad"}


@router.get("/review")
@page
def review_queue(request: Request, session: SessionDep, status: str = "open") -> Response:
    """The review queue, oldest first, with each case's age against the 15/60-minute targets (R12)."""
    principal = reviewer(request)
    rows = compliance.list_cases(
        session, principal, status=status or None, customer_id=None, min_age_hours=None, limit=100
    )
    # The queue names each customer so a reviewer can pick a case; the list read carries ids only.
    cases = [compliance.get_case(session, principal, r["id"]) | {"age": _age(r)} for r in rows]
    return render(request, "review_queue.html", cases=cases, status=status, statuses=CASE_STATUSES)


@router.get("/review/stats")
@page
def review_stats(request: Request, session: SessionDep) -> Response:
    """Time to decision and the share decided within the 15/60-minute targets (R12)."""
    reviewer(request)
    return render(request, "review_stats.html", stats=compliance.stats(session))


def _case_name(case: dict[str, Any]) -> str:
    return str((case.get("customer") or {}).get("name") or case.get("customerId") or "this customer")


def _case_page(
    request: Request, session: SessionDep, principal: Principal, case_id: str, status_code: int = 200, **extra: Any
) -> Response:
    case = compliance.get_case(session, principal, case_id)
    extra.setdefault("errors", {})
    extra.setdefault("values", {})
    return render(
        request, "review_case.html", status_code, case=case, age=_age(case), channels=CONTACT_CHANNELS, **extra
    )


@router.get("/review/cases/{case_id}")
@page
def review_case(request: Request, session: SessionDep, case_id: str) -> Response:
    """A case: customer, address, hits with their explanations, timeline and contact attempts."""
    principal = reviewer(request)
    return _case_page(request, session, principal, case_id)


@router.post("/review/cases/{case_id}/decision")
@page
def review_decide(request: Request, form: Form, session: SessionDep, case_id: str) -> Response:
    """Approve or reject a case (a reason is required to reject)."""
    _check_csrf(request, form)
    principal = reviewer(request)
    decision, reason = str(form.get("decision") or ""), str(form.get("reason") or "").strip() or None
    if decision == "reject" and reason:
        case = compliance.get_case(session, principal, case_id)
        if asked := confirmation(
            request,
            form,
            title=f"Reject {_case_name(case)}?",
            message=(
                "The customer becomes non-compliant: its partner is told, and unless the case is settled before the "
                "deadline the customer is deprovisioned."
            ),
            button="Reject the customer",
            cancel=f"/portal/review/cases/{case_id}",
            keep=("decision", "reason"),
        ):
            return asked
    try:
        compliance.decide(session, principal, case_id, decision, reason)
    except DomainError as exc:
        if exc.status_code not in (400, 409):
            raise
        session.rollback()
        values = {"decision": decision, "reason": reason or ""}
        return _case_page(
            request,
            session,
            principal,
            case_id,
            400,
            errors=field_errors(exc) | {"_decision": exc.message},
            values=values,
        )
    return RedirectResponse(f"/portal/review/cases/{case_id}?done=decision", status_code=303)


@router.post("/review/cases/{case_id}/contact")
@page
def review_contact(request: Request, form: Form, session: SessionDep, case_id: str) -> Response:
    """Record an attempt to reach the partner (R13); the third unreachable one deprovisions (R14)."""
    _check_csrf(request, form)
    principal = reviewer(request)
    channel, outcome = str(form.get("channel") or ""), str(form.get("outcome") or "")
    note = str(form.get("note") or "").strip() or None
    values = {"channel": channel, "outcome": outcome, "note": note or ""}
    if channel not in CONTACT_CHANNELS:
        message = f"Choose how you tried to reach the partner: {', '.join(CONTACT_CHANNELS)}."
        return _case_page(request, session, principal, case_id, 400, errors={"_contact": message}, values=values)
    case = compliance.get_case(session, principal, case_id)
    third_unreachable = outcome == "unreachable" and case.get("unreachableAttempts", 0) >= 2
    asked = third_unreachable and confirmation(
        request,
        form,
        title=f"Deprovision {_case_name(case)}?",
        message=(
            "This is the third time the partner could not be reached: recording it deprovisions the customer "
            "now. Its services end and the partner's customer is removed. This cannot be undone."
        ),
        button="Record it and deprovision",
        cancel=f"/portal/review/cases/{case_id}",
        keep=("channel", "outcome", "note"),
    )
    if asked:
        return asked
    try:
        compliance.add_contact_attempt(session, principal, case_id, channel=channel, outcome=outcome, note=note)
    except DomainError as exc:
        if exc.status_code not in (400, 409):
            raise
        session.rollback()
        return _case_page(request, session, principal, case_id, 400, errors={"_contact": exc.message}, values=values)
    return RedirectResponse(f"/portal/review/cases/{case_id}?done=contact", status_code=303)


# Last: any other /portal path is a portal 404 page, not the API's JSON body.
@router.get("/{rest:path}")
@page
def not_found(request: Request, rest: str) -> Response:
    """Unknown portal page."""
    return error_page(request, 404, "There is no such page in the portal.")
