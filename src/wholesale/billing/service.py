"""Billing reports (R2): validate and record a request, enqueue its generation, list/get/delete, generate.

Generation reads only the usage ledger (plus customer and subscriber join keys for display), so a report over
past days comes out byte-identical whenever it is generated again.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from wholesale.billing import downloads, generation, repository
from wholesale.billing.models import BillingReport
from wholesale.billing.schemas import ReportCreate
from wholesale.billing.states import ReportEvent, ReportStatus, apply
from wholesale.customers import repository as customers
from wholesale.events.service import record
from wholesale.jobs.enqueue import enqueue
from wholesale.kit import clock
from wholesale.kit.errors import BadRequest, NotFound, field_error
from wholesale.kit.ids import encode_id, new_id
from wholesale.kit.pagination import Page, PageParams, page_from_rows
from wholesale.kit.problems import Checks
from wholesale.partners.tenancy import Tenant

log = logging.getLogger("wholesale.billing")

TYPES = ("PARTNER", "CUSTOMER", "USER")
CATEGORIES = ("RECONCILIATION", "POINT_IN_TIME")
MAX_SPAN_DAYS = 366  # a year, leap years included
ERROR_NOT_FOUND = 2024  # Webex's one documented billing error code
ERROR_GENERATION = 2500  # ours: the report could not be generated


def parse_date(name: str, value: str) -> date:
    """`YYYY-MM-DD`, or a full ISO timestamp (as wxc_sdk sends dates) taken as its UTC date."""
    text = (value or "").strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).date()
    except ValueError:
        raise field_error(name, f"must be a date YYYY-MM-DD, got {value!r}.") from None


def check_range(start: date, end: date) -> None:
    """A range of whole past days (UTC), start on or before end, at most a year long."""
    today = clock.now().astimezone(UTC).date()
    if end >= today:
        raise BadRequest(
            f"billingEndDate {end.isoformat()} must be before today ({today.isoformat()} UTC): "
            "a day is reported once it is over."
        )
    if start > end:
        raise BadRequest(f"billingStartDate {start.isoformat()} is after billingEndDate {end.isoformat()}.")
    if (end - start).days + 1 > MAX_SPAN_DAYS:
        raise BadRequest(
            f"The range {start.isoformat()} to {end.isoformat()} spans {(end - start).days + 1} days: "
            f"a report covers at most {MAX_SPAN_DAYS} days."
        )


def create_report(
    session: Session, tenant: Tenant, body: ReportCreate, *, every_problem: bool = False
) -> BillingReport:
    """Record the request and enqueue its generation in the same transaction. `every_problem`: both days are
    checked and their problems raised together (kit.problems), not just the first."""
    checks = Checks(every_problem)
    days: list[date] = []
    for name, value in (("billingStartDate", body.billingStartDate), ("billingEndDate", body.billingEndDate)):
        with checks:
            days.append(parse_date(name, value))
    checks.done()
    start, end = days
    check_range(start, end)
    report_type = body.type or "PARTNER"
    customer_id = None
    if body.customerId:
        if report_type != "CUSTOMER":
            raise field_error("customerId", "is only for reports of type CUSTOMER.")
        customer = customers.get_owned(session, tenant, body.customerId)
        if customer is None:
            raise NotFound(f"Customer {body.customerId} was not found.")
        customer_id = customer.id
    report = BillingReport(
        id=new_id("BILLING_REPORT"),
        partner_org_id=tenant.partner,
        billing_start_date=start,
        billing_end_date=end,
        type=report_type,
        category=body.category or "RECONCILIATION",
        customer_id=customer_id,
        internal=body.internal,
        status=ReportStatus.IN_PROGRESS,
        errors=[],
        created=clock.now(),
        created_by=encode_id("PEOPLE", tenant.principal.token_id),
    )
    session.add(report)
    record(
        session,
        subject_type="billing_report",
        subject_id=report.id,
        action="billing_report.created",
        partner_org_id=report.partner_org_id,
        data={"start": start.isoformat(), "end": end.isoformat(), "type": report.type, "category": report.category},
    )
    enqueue(session, "billing.generate_report", report.id, key=f"billing.generate_report:{report.id}")
    return report


@dataclass(frozen=True)
class ListFilters:
    """List filters, already parsed."""

    columns: dict[str, object]
    sort_by: str


def list_filters(
    *,
    billing_start_date: str | None,
    billing_end_date: str | None,
    type_: str | None,
    status: str | None,
    sort_by: str | None,
) -> ListFilters:
    """Parse the list's query filters (400 naming a bad one)."""
    columns: dict[str, object] = {}
    if billing_start_date:
        columns["billing_start_date"] = parse_date("billingStartDate", billing_start_date)
    if billing_end_date:
        columns["billing_end_date"] = parse_date("billingEndDate", billing_end_date)
    if type_:
        if type_ not in TYPES:
            raise field_error("type", f"must be one of {', '.join(TYPES)}.")
        columns["type"] = type_
    if status:
        if status not in tuple(ReportStatus):
            raise field_error("status", f"must be one of {', '.join(ReportStatus)}.")
        columns["status"] = status
    sort = sort_by or "billingStartDate"
    if sort not in repository.SORT_COLUMNS:
        raise field_error("sortBy", f"must be one of {', '.join(repository.SORT_COLUMNS)}.")
    return ListFilters(columns, sort)


def list_reports(session: Session, tenant: Tenant, params: PageParams, filters: ListFilters) -> Page[BillingReport]:
    """A page of the tenant partner's reports."""
    return page_from_rows(repository.list_page(session, tenant, params, filters.columns, filters.sort_by), params)


def get_report(session: Session, tenant: Tenant, report_id: str) -> BillingReport:
    """A report of the tenant's partner (404 for anyone else's)."""
    report = repository.get_owned(session, tenant, report_id)
    if report is None:
        raise NotFound("Billing Report not found.", error_code=ERROR_NOT_FOUND)
    return report


def delete_report(session: Session, tenant: Tenant, report_id: str) -> None:
    """Delete a report; its file goes once the deletion commits."""
    report = get_report(session, tenant, report_id)
    file_name = report.file_name or file_name_of(report.id)
    session.delete(report)
    record(
        session,
        subject_type="billing_report",
        subject_id=report_id,
        action="billing_report.deleted",
        partner_org_id=report.partner_org_id,
    )
    event.listen(session, "after_commit", lambda _s: downloads.delete_file(file_name), once=True)


def read(report: BillingReport, base_url: str | None = None) -> dict[str, Any]:
    """A report as the API shows it; `base_url` given and the report completed: with a fresh download URL."""
    body: dict[str, Any] = {
        "id": report.id,
        "billingStartDate": report.billing_start_date.isoformat(),
        "billingEndDate": report.billing_end_date.isoformat(),
        "type": report.type,
        "category": report.category,
        "status": report.status,
        "created": clock.isoformat(report.created),
        "createdBy": report.created_by,
        "errors": list(report.errors or []),
    }
    if base_url is not None and report.status == ReportStatus.COMPLETED:
        body["tempDownloadURL"] = downloads.download_url(base_url, report.id)
    return body


def download(session: Session, report_id: str, expires: str | None, signature: str | None) -> tuple[bytes, str]:
    """The CSV behind a signed URL (403 altered or expired, 404 gone) and the file name to offer."""
    downloads.check(report_id, expires, signature)
    report = repository.get_unscoped(session, report_id)
    if report is None or report.status != ReportStatus.COMPLETED or not report.file_name:
        raise NotFound("Billing Report not found.", error_code=ERROR_NOT_FOUND)
    path = downloads.file_path(report.file_name)
    if not path.exists():
        raise NotFound("The billing report's file is gone.", error_code=ERROR_NOT_FOUND)
    name = f"billing-{report.type.lower()}-{report.billing_start_date}-{report.billing_end_date}.csv"
    return path.read_bytes(), name


# -- generation (the job's steps) ------------------------------------------------------------------------------


def file_name_of(report_id: str) -> str:
    """Where a report's CSV is stored (derived from its id)."""
    return hashlib.sha256(report_id.encode()).hexdigest()[:32] + ".csv"


def spec_of(report: BillingReport) -> generation.Spec:
    """What a report row asks the generator for."""
    return generation.Spec(
        type=report.type,
        category=report.category,
        start=report.billing_start_date,
        end=report.billing_end_date,
        customer_id=report.customer_id,
        internal=report.internal,
    )


def render(session: Session, partner_org_id: str, spec: generation.Spec) -> tuple[bytes, int]:
    """The CSV of a report: the partner's ledger up to the end of the end date, replayed (and, for customers or
    subscribers it leaves without details, their first details after it: the ledger only, never the live tables)."""
    until = datetime.combine(spec.end + timedelta(days=1), time(), tzinfo=UTC)
    return generation.render(
        repository.ledger_rows(session, partner_org_id, until),
        spec,
        lambda customers, subscribers: repository.details_after(session, partner_org_id, until, customers, subscribers),
    )


def generate(session: Session, report_id: str) -> str:
    """Write the report's file and mark it COMPLETED (idempotent: a completed or deleted report is left alone)."""
    report = repository.get_unscoped(session, report_id)
    if report is None or report.status != ReportStatus.IN_PROGRESS:
        return "skipped"
    content, count = render(session, report.partner_org_id, spec_of(report))
    file_name = file_name_of(report.id)
    downloads.write_file(file_name, content)
    report.status = apply(report.status, ReportEvent.GENERATED)
    report.file_name, report.sha256, report.line_items = file_name, hashlib.sha256(content).hexdigest(), count
    report.completed = clock.now()
    _record(session, report, "billing_report.completed", {"lineItems": count})
    return report.status


def fail(session: Session, report_id: str, description: str) -> str:
    """Mark the report FAILED with the error a client sees in `errors`."""
    report = repository.get_unscoped(session, report_id)
    if report is None or report.status != ReportStatus.IN_PROGRESS:
        return "skipped"
    report.status = apply(report.status, ReportEvent.FAILED)
    report.errors = [{"code": ERROR_GENERATION, "description": description}]
    _record(session, report, "billing_report.failed", {"errors": report.errors})
    return report.status


def _record(session: Session, report: BillingReport, action: str, data: dict[str, Any]) -> None:
    record(
        session,
        subject_type="billing_report",
        subject_id=report.id,
        action=action,
        partner_org_id=report.partner_org_id,
        data=data,
    )
