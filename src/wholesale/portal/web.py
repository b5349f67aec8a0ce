"""What every portal page shares: rendering, cookies and CSRF, who is signed in, form errors, confirmations."""

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
from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from wholesale.activity import audit, wording
from wholesale.config import get_settings
from wholesale.customers.states import CustomerStatus
from wholesale.db.session import get_database
from wholesale.events.models import AuditEvent
from wholesale.identity import accounts
from wholesale.identity import service as identity
from wholesale.identity.roles import Role, Scope
from wholesale.identity.schemas import Principal
from wholesale.kit import clock
from wholesale.kit.context import set_actor
from wholesale.kit.errors import DomainError, Forbidden, Unauthorized
from wholesale.packages.catalog import CustomerPackage, package_name
from wholesale.partners import service as partners
from wholesale.partners import tenancy
from wholesale.partners.tenancy import Tenant
from wholesale.portal.forms import FIELD_MAP as FIELD_MAP  # form errors in plain words (portal/forms.py)
from wholesale.portal.forms import TIME_ZONES
from wholesale.portal.forms import field_errors as field_errors

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
templates.env.filters["package"] = package_name  # "webex_calling" -> "Webex Calling"
templates.env.globals["time_zone_names"] = TIME_ZONES  # a form's time zone suggestions (_fields.html)

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
HISTORY_ON_DETAIL = 10  # the newest rows of a customer's history on its page; the rest on its history page
HISTORY_PAGE = 50
AUDIT_PAGE = 50
# Rows a partner should not miss in a customer's history: the compliance review's turns and the removal it causes.
NOTICES = frozenset({"compliance.reject", "compliance.deadline_warning", "compliance.deprovision", "customer.failed"})


async def read_form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(read_form)]


# ---------------------------------------------------------------------------------------------- plumbing


def _csrf_token(request: Request) -> str:
    """Return this browser's CSRF token (double submit: cookie + hidden field), minting one when missing."""
    token = getattr(request.state, "csrf", None)
    if token is None:
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        request.state.csrf = token
    return token


def check_csrf(request: Request, form: FormData) -> None:
    """Refuse a form POST whose hidden token does not match the cookie (a forged cross-site submit)."""
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    sent = str(form.get("csrf") or "")
    if not cookie or not hmac.compare_digest(cookie, sent):
        raise Forbidden(
            "The form could not be verified (missing or stale security token). Reload the page and try again."
        )


def set_cookie(
    response: Response, request: Request, name: str, value: str, *, path: str = "/portal", max_age: int | None = None
) -> None:
    # HttpOnly and SameSite=Strict: scripts cannot read it and no other site can make the browser send it.
    # Secure when the browser reached us over https: directly, through a trusted proxy (X-Forwarded-Proto), or
    # whenever the configured public origin is https.
    secure = request.url.scheme == "https" or get_settings().public_base_url.startswith("https://")
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict", secure=secure, path=path)


def render(request: Request, template_name: str, status_code: int = 200, /, **context: Any) -> Response:
    """Render a page (or an htmx fragment) with the common context; sets the CSRF cookie on first visit."""
    csrf = _csrf_token(request)
    context.setdefault("principal", getattr(request.state, "portal_principal", None))
    context.setdefault("nav", getattr(request.state, "portal_nav", None))
    response = templates.TemplateResponse(request, template_name, {"csrf": csrf, **context}, status_code=status_code)
    if request.cookies.get(CSRF_COOKIE) != csrf:
        set_cookie(response, request, CSRF_COOKIE, csrf)
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


def redirect(request: Request, url: str) -> Response:
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
            return redirect(request, _signin_url(request))
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


def safe_next(value: str | None) -> str:
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


def minutes_since(iso: str | None) -> float | None:
    if not iso:
        return None
    return (clock.now() - datetime.fromisoformat(iso.replace("Z", "+00:00"))).total_seconds() / 60


# ---------------------------------------------------------------------------------------------- sign-in


def history_rows(session: Session, who: audit.Reader, rows: Sequence[AuditEvent]) -> list[dict[str, Any]]:
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
