"""Customers: the list (search, filter, sort, pages, CSV export), the create form with its live preview, a customer's
page (refreshing itself while it changes), its change form, its removal and its history."""

import csv
import io
import logging
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from wholesale.activity import audit
from wholesale.compliance import service as compliance
from wholesale.customers import checked
from wholesale.customers import service as customers
from wholesale.customers import templates as customer_templates
from wholesale.customers.schemas import CustomerUpdate
from wholesale.customers.states import SETTLED as SETTLED_STATUSES
from wholesale.dialin import service as dialin
from wholesale.identity.roles import Scope
from wholesale.kit import clock
from wholesale.kit.errors import DomainError, InvalidTransition, NotFound, Unauthorized
from wholesale.kit.http import SessionDep, UnitOfWorkRoute
from wholesale.kit.pagination import PageParams
from wholesale.kit.problems import Problems
from wholesale.packages.catalog import CALLING_PACKAGES, package_name
from wholesale.partners import service as partners
from wholesale.partners.tenancy import Tenant
from wholesale.portal import drafts, forms
from wholesale.portal.drafts import keeps_form, restores_form
from wholesale.portal.web import (
    COUNTRIES,
    CUSTOMER_STATUSES,
    HISTORY_ON_DETAIL,
    HISTORY_PAGE,
    PACKAGES,
    PAGE_SIZE,
    Form,
    check_csrf,
    confirmation,
    history_rows,
    page,
    partner_admin,
    redirect,
    render,
)

log = logging.getLogger("wholesale.portal")
router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


# ---------------------------------------------------------------------------------------------- the list


SORT_LABELS = {"name": "Name", "created": "Created", "status": "Status"}
SETTLING = ("provisioning", "updating", "deleting")  # a customer in one of these changes by itself: pages poll
MAX_PAGE = 1_000_000


def _whole(value: str) -> int:
    """A page or offset from the query string: a whole number, anything else (or a silly size) as 0."""
    return min(int(value), MAX_PAGE * PAGE_SIZE) if value.isascii() and value.isdigit() else 0


class ListQuery:
    """The list's search, filter, order and page, as the query string carries them (defaults left out of links)."""

    def __init__(self, q: str, status: str, sort: str, direction: str, page_number: int) -> None:
        self.q = q.strip()
        self.status = status
        self.sort = sort if sort in customers.SEARCH_SORTS else "created"
        # Newest first unless asked otherwise; names and statuses read best A to Z.
        default = "desc" if self.sort == "created" else "asc"
        self.direction = direction if direction in ("asc", "desc") else default
        self.page = min(max(page_number, 1), MAX_PAGE)

    @property
    def descending(self) -> bool:
        return self.direction == "desc"

    def params(self, **changes: Any) -> dict[str, str]:
        values = {"q": self.q, "status": self.status, "sort": self.sort, "dir": self.direction, "page": self.page}
        values.update(changes)
        default_dir = "desc" if values["sort"] == "created" else "asc"
        skip = {"q": "", "status": "", "sort": "created", "dir": default_dir, "page": 1}
        return {k: str(v) for k, v in values.items() if v != skip[k]}

    def url(self, path: str = "/portal/customers", **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return f"{path}?{query}" if query else path

    def sort_url(self, column: str) -> str:
        """The column header's link: the same column flips the order; another starts at its natural order."""
        if column == self.sort:
            return self.url(dir="asc" if self.descending else "desc", page=1)
        return self.url(sort=column, dir="desc" if column == "created" else "asc", page=1)

    def aria_sort(self, column: str) -> str:
        if column != self.sort:
            return "none"
        return "descending" if self.descending else "ascending"


def page_numbers(current: int, pages: int) -> list[int | None]:
    """The page links: the first, the last and two either side of the current one; None marks a gap."""
    shown = sorted({1, pages, *range(max(1, current - 2), min(pages, current + 2) + 1)})
    out: list[int | None] = []
    previous = 0
    for number in shown:
        if number - previous > 1:
            out.append(None)
        out.append(number)
        previous = number
    return out


@router.get("/customers")
@page
def customer_list(
    request: Request,
    session: SessionDep,
    q: str = "",
    status: str = "",
    sort: str = "created",
    direction: Annotated[str, Query(alias="dir")] = "",
    number: Annotated[str, Query(alias="page")] = "",
    offset: str = "",
) -> Response:
    """The partner's customers: searched (name, externalId, orgId), filtered by status and sorted in SQL, PAGE_SIZE
    per page with the total and page numbers."""
    tenant = partner_admin(request, session)
    # `offset` is what older links carry; `page` is what the page numbers link to.
    query = ListQuery(q, status, sort, direction, _whole(number) or _whole(offset) // PAGE_SIZE + 1)
    params = PageParams(max=PAGE_SIZE, offset=(query.page - 1) * PAGE_SIZE)
    items, total = customers.find_customers(
        session,
        tenant,
        text=query.q,
        statuses=[status] if status else [],
        sort=query.sort,
        descending=query.descending,
        params=params,
    )
    pages = max(math.ceil(total / PAGE_SIZE), 1)
    return render(
        request,
        "customers.html",
        items=items,
        total=total,
        query=query,
        statuses=CUSTOMER_STATUSES,
        sorts=SORT_LABELS,
        pages=page_numbers(min(query.page, pages), pages) if total else [],
        last_page=pages,
        shown=(params.offset + 1, params.offset + len(items)),
        prev_url=query.url(page=min(query.page - 1, pages)) if query.page > 1 and total else None,
        next_url=query.url(page=query.page + 1) if query.page < pages else None,
        export_url=query.url("/portal/customers/export.csv", page=1),
        settling=any(c.status in SETTLING for c in items),
        noncompliant=compliance.noncompliant_among(session, [c.id for c in items]),
    )


# A spreadsheet runs a cell that starts with one of these as a formula: such cells get a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "Name",
    "External id",
    "Customer id",
    "Organisation id",
    "Status",
    "Country",
    "Packages",
    "Created (UTC)",
)


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (`=cmd|...` becomes `'=cmd|...`)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


@router.get("/customers/export.csv")
@page
def customer_export(
    request: Request,
    session: SessionDep,
    q: str = "",
    status: str = "",
    sort: str = "created",
    direction: Annotated[str, Query(alias="dir")] = "",
) -> Response:
    """Every customer the list's search and filter match, in its order, as a CSV a spreadsheet opens (UTF-8 with a
    byte order mark, a header row, formula-like cells defused)."""
    tenant = partner_admin(request, session)
    query = ListQuery(q, status, sort, direction, 1)
    items, _ = customers.find_customers(
        session, tenant, text=query.q, statuses=[status] if status else [], sort=query.sort, descending=query.descending
    )
    out = io.StringIO()
    out.write("\ufeff")  # the byte order mark tells spreadsheets the file is UTF-8
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for c in items:
        writer.writerow(
            csv_cell(v)
            for v in (
                c.name or "",
                c.external_id,
                c.id,
                c.org_id or "",
                c.status.replace("_", " "),
                c.country,
                "; ".join(package_name(p) for p in c.packages),
                f"{c.created:%Y-%m-%d %H:%M:%S}",
            )
        )
    filename = f"customers-{clock.now():%Y%m%d-%H%M}.csv"
    return Response(
        out.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


# ---------------------------------------------------------------------------------------------- create


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
        return {"error": forms.domain_error(exc)[1], "country": country}  # in plain words, as the form says it


@router.get("/customers/new")
@page
@restores_form
def customer_new(request: Request, session: SessionDep) -> Response:
    """The create-customer form (query parameters refill it, so the preview works without JavaScript too; so does
    what was typed before the session ended, once signed in again)."""
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    values: dict[str, Any] = {k: v for k, v in request.query_params.items() if k != "packages"}
    values["packages"] = request.query_params.getlist("packages") or ["webex_meetings"]
    if draft := drafts.kept(request):
        values = draft.values(lists=("packages",))
    return render(
        request, "customer_new.html", errors={}, kept=draft and draft.reason, **_create_context(session, tenant, values)
    )


@router.get("/customers/preview")
@page
def customer_preview(request: Request, session: SessionDep, country: str = "", template: str = "") -> Response:
    """htmx fragment: the location and default dial-in number a new customer in `country` gets. On a session that
    has ended it says so in place (no sign-in page over the form, so what was typed stays)."""
    try:
        tenant = partner_admin(request, session)
    except Unauthorized:
        return render(request, "_preview.html", signed_out=True)
    preview = _preview(session, tenant, country, template) if country else None
    return render(request, "_preview.html", preview=preview, fresh_csrf=True)


@router.post("/customers/new")
@page
@keeps_form
def customer_create(request: Request, form: Form, session: SessionDep) -> Response:
    """Create a customer with the API's own rules; every problem comes back at once, in plain words next to its
    field, with what was typed."""
    check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    body, errors = forms.customer_body(form)
    if body is not None:
        try:
            customer = checked.create_customer(session, tenant, body)
        except DomainError as exc:
            if exc.status_code in (401, 403, 404):
                raise  # not a field problem: the error page says what is wrong
            errors = forms.field_errors(exc, order=forms.CUSTOMER_FIELDS)
        else:
            return RedirectResponse(f"/portal/customers/{customer.id}?created=1", status_code=303)
    session.rollback()
    values = forms.typed(form, lists=("packages",))
    return render(request, "customer_new.html", 400, errors=errors, **_create_context(session, tenant, values))


# ---------------------------------------------------------------------------------------------- a customer's page


def _live_context(session: Session, tenant: Tenant, customer_id: str) -> dict[str, Any]:
    """What the self-refreshing part of a customer's page shows: status, organisation, packages against their caps,
    meetings site and compliance review (404 unless the customer is the tenant's)."""
    model, body = customers.customer_overview(session, tenant, customer_id)
    org = partners.read_organization(session, tenant.principal, body["orgId"]) if body.get("orgId") else None
    sites = (
        list(dialin.list_sites(session, tenant, PageParams(max=10, offset=0), org_id=body["orgId"]).items)
        if body.get("orgId")
        else []
    )
    review = compliance.customer_status(session, tenant, customer_id)
    case = review.get("case") or {}
    return {
        "c": body,
        "name": model.name,
        "email": model.primary_email,
        "created_at": model.created,
        "org": org,
        "sites": sites,
        "compliance_status": review,
        "ages": {"opened": relative(case.get("openedAt")), "deadline": relative(case.get("deadline"))},
        "settling": body["status"] in SETTLING,
        # Screening runs after provisioning is accepted (R11): a new customer's page waits for its result too.
        "screening": not review["screened"] and _aware(model.created) > clock.now() - timedelta(hours=1),
    }


def _aware(instant: datetime) -> datetime:
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def relative(iso: str | None) -> str:
    """How far an instant is from now in words: `3 hours ago`, `in 29 days`, `just now`."""
    if not iso:
        return ""
    seconds = (datetime.fromisoformat(iso.replace("Z", "+00:00")) - clock.now()).total_seconds()
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if abs(seconds) >= size:
            count = int(abs(seconds) // size)
            amount = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"in {amount}" if seconds > 0 else f"{amount} ago"
    return "just now"


@router.get("/customers/{customer_id}")
@page
def customer_detail(request: Request, session: SessionDep, customer_id: str) -> Response:
    """One customer: status (refreshing itself while it changes), packages with their use against the caps, org
    country, meetings site and call-in number, compliance review in words, and its latest history."""
    tenant = partner_admin(request, session)
    try:
        live = _live_context(session, tenant, customer_id)
    except NotFound:
        audit.customer_history(session, tenant, customer_id, None, 1)  # a 404 unless it was ours
        return redirect(request, f"/portal/customers/{customer_id}/history")  # removed: its history says so
    _, rows, more = audit.customer_history(session, tenant, customer_id, None, HISTORY_ON_DETAIL)
    done = request.query_params.get("done") or ("created" if request.query_params.get("created") == "1" else "")
    return render(
        request,
        "customer_detail.html",
        history=history_rows(session, audit.partner_reader(session, tenant, tree=False), rows),
        history_more=more,
        done=done,
        created=done == "created",
        **live,
    )


@router.get("/customers/{customer_id}/live")
@page
def customer_live(request: Request, session: SessionDep, customer_id: str) -> Response:
    """htmx fragment: the changing part of a customer's page; once the customer is removed, a line that says so
    (and stops the polling)."""
    tenant = partner_admin(request, session)
    try:
        live = _live_context(session, tenant, customer_id)
    except NotFound:
        audit.customer_history(session, tenant, customer_id, None, 1)  # still a 404 unless it was ours
        return render(request, "customer_removed.html", customer_id=customer_id)
    return render(request, "customer_live.html", **live)


# ---------------------------------------------------------------------------------------------- edit, delete

ADDRESS_FIELDS = {
    "address_line1": "addressLine1",
    "address_line2": "addressLine2",
    "city": "city",
    "state": "stateOrProvince",
    "zip": "zipOrPostalCode",
    "country": "country",
}
# The change form's fields, top to bottom (its error summary lists problems in this order).
EDIT_FIELDS = (
    "packages",
    *(f"limit_{p}" for p in PACKAGES),
    "location_name",
    "location_timezone",
    *ADDRESS_FIELDS,
    "external_id",
)
LIMIT_PATH = re.compile(r"^provisioningParameters\.packages\.limits\.(\w+)(?::\s*(.*))?$", re.S)


def _edit_values(body: dict[str, Any]) -> dict[str, Any]:
    """The edit form filled from the customer as it is now."""
    values: dict[str, Any] = {field: body["address"].get(key) or "" for field, key in ADDRESS_FIELDS.items()}
    values["external_id"] = body["externalId"]
    values["packages"] = list(body["packages"])
    for p in body["resourceDetails"]["packages"]:
        if "quantityLimit" in p:
            values[f"limit_{p['name']}"] = str(p["quantityLimit"])
    return values


def _edit_context(session: Session, tenant: Tenant, customer_id: str) -> dict[str, Any]:
    model, body = customers.customer_overview(session, tenant, customer_id)
    template = customer_templates.get_template(session, tenant, model.provisioning_id)
    allowed = template.get("allowedPackages")
    current = {p["name"]: p for p in body["resourceDetails"]["packages"]}
    choices = [p for p in PACKAGES if allowed is None or p in allowed or p in current]
    return {
        "c": body,
        "name": model.name,
        "choices": choices,
        "current": current,
        "countries": COUNTRIES,
        "has_location": model.calling_location is not None,
        "editable": model.status in SETTLED_STATUSES,
        "calling_packages": sorted(CALLING_PACKAGES),
    }


def _update_body(form: FormData, has_location: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The API's PUT body from the edit form, and the caps that are not whole numbers (by form field)."""
    text = lambda name: str(form.get(name) or "").strip() or None  # noqa: E731
    packages = [str(p) for p in form.getlist("packages")]
    errors: dict[str, str] = {}
    limits: dict[str, int] = {}
    for name in packages:
        raw = text(f"limit_{name}")
        if raw is None:
            continue  # an empty cap leaves the current one as it is
        if not re.fullmatch("[0-9]{1,8}", raw) or int(raw) > 10_000_000:
            errors[f"limit_{name}"] = (
                f"{package_name(name)}: enter a whole number from 0 to 10,000,000, or leave it empty."
            )
            continue
        limits[name] = int(raw)
    address = {key: text(field) for field, key in ADDRESS_FIELDS.items()}
    for required in ("addressLine1", "city", "country"):
        address[required] = address[required] or ""  # missing: the API's own "is required" error
    body: dict[str, Any] = {"packages": packages, "externalId": text("external_id") or "", "address": address}
    params: dict[str, Any] = {}
    if limits:
        params["packages"] = {"limits": limits}
    if not has_location and any(p in CALLING_PACKAGES for p in packages) and text("location_name"):
        params["calling"] = {
            "location": {
                "name": text("location_name"),
                "address": body["address"],
                "timezone": text("location_timezone") or "",
                "language": "en_us",
            }
        }
    if params:
        body["provisioningParameters"] = params
    return body, errors


def _edit_errors(exc: DomainError, status: str) -> dict[str, str]:
    """A refused change as form errors in plain words, each next to its field: a cap's next to that cap, the rest as
    every form maps them (all of them when the rules found several)."""
    found = exc.found if isinstance(exc, Problems) else [exc]
    problems: list[tuple[str, str]] = []
    for problem in found:
        if isinstance(problem, InvalidTransition):
            problems.append(
                (forms.FORM, f"The customer is {status.replace('_', ' ')} right now: change it once that has finished.")
            )
        elif match := LIMIT_PATH.match(problem.message):
            package, detail = match.group(1), (match.group(2) or "").strip()
            detail = detail or "this cap is not possible."
            problems.append((f"limit_{package}", f"{package_name(package)}: {detail[:1].lower()}{detail[1:]}"))
        else:
            problems.append(forms.domain_error(problem))
    return forms.collect(problems, order=EDIT_FIELDS)


@router.get("/customers/{customer_id}/edit")
@page
@restores_form
def customer_edit(request: Request, session: SessionDep, customer_id: str) -> Response:
    """The change form: packages and their caps, billing address, externalId (or what was typed before the session
    ended, once signed in again)."""
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    context = _edit_context(session, tenant, customer_id)
    values = _edit_values(context["c"])
    if draft := drafts.kept(request):
        values = draft.values(lists=("packages",))
    return render(request, "customer_edit.html", errors={}, values=values, kept=draft and draft.reason, **context)


@router.post("/customers/{customer_id}/edit")
@page
@keeps_form
def customer_update(request: Request, form: Form, session: SessionDep, customer_id: str) -> Response:
    """Change the customer with the API's own rules (PUT /v1/wholesale/customers/{id}); errors come back next to
    their fields with what was typed."""
    check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    context = _edit_context(session, tenant, customer_id)  # 404 unless ours
    body, errors = _update_body(form, context["has_location"])
    try:
        update = CustomerUpdate.model_validate(body)
    except ValidationError as exc:
        errors = forms.field_errors(exc, order=EDIT_FIELDS) | errors  # every field's problem, with the caps'
    else:
        try:
            customers.update_customer(session, tenant, customer_id, update, every_problem=True)
        except DomainError as exc:
            if exc.status_code in (401, 403, 404):
                raise
            errors = _edit_errors(exc, context["c"]["status"]) | errors
    if errors:
        session.rollback()  # a cap that was not a number stops the whole change, as any other problem does
        values = forms.typed(form, lists=("packages",))
        context = _edit_context(session, tenant, customer_id)
        errors = forms.collect(errors.items(), order=EDIT_FIELDS)
        return render(request, "customer_edit.html", 400, errors=errors, values=values, **context)
    return redirect(request, f"/portal/customers/{customer_id}?done=updated")


@router.post("/customers/{customer_id}/delete")
@page
def customer_delete(request: Request, form: Form, session: SessionDep, customer_id: str) -> Response:
    """Remove the customer and all its users, after a confirmation page; its page then reads `deleting` until the
    removal is done."""
    check_csrf(request, form)
    tenant = partner_admin(request, session, Scope.CUSTOMERS_WRITE)
    model, body = customers.customer_overview(session, tenant, customer_id)  # 404 unless ours
    shown = model.name or body["externalId"]
    asked = confirmation(
        request,
        form,
        title=f"Delete {shown}?",
        message=(
            f"This removes {shown} (external id {body['externalId']}) with its organisation, its users and their "
            "licences, and cannot be undone. Its history stays readable."
        ),
        button="Delete the customer",
        cancel=f"/portal/customers/{customer_id}",
    )
    if asked is not None:
        return asked
    customers.delete_customer(session, tenant, customer_id)
    return redirect(request, f"/portal/customers/{customer_id}?done=deleted")


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
