"""Queries on billing reports and the ledger rows a report replays (units and what it shows: the ledger only)."""

from collections.abc import Iterator
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.billing import generation
from wholesale.billing.models import BillingReport
from wholesale.kit.pagination import PageParams
from wholesale.ledger.models import UsageEntry
from wholesale.partners.models import Partner
from wholesale.partners.tenancy import Tenant

SORT_COLUMNS = {
    "id": BillingReport.id,
    "billingStartDate": BillingReport.billing_start_date,
    "billingEndDate": BillingReport.billing_end_date,
    "status": BillingReport.status,
}
_CHUNK = 500  # at most this many ids in one IN (...); more: filter by kind only


def get_owned(session: Session, tenant: Tenant, report_id: str) -> BillingReport | None:
    """A report of the tenant's partner or of one of its sub-partners, else None."""
    subs = sa.select(Partner.org_id).where(Partner.parent_org_id == tenant.partner)
    query = sa.select(BillingReport).where(
        BillingReport.id == report_id,
        sa.or_(BillingReport.partner_org_id == tenant.partner, BillingReport.partner_org_id.in_(subs)),
    )
    return session.scalars(query).first()


def get_unscoped(session: Session, report_id: str) -> BillingReport | None:
    """A report whoever owns it: for the generation job and signed downloads only."""
    return session.get(BillingReport, report_id)


def list_page(
    session: Session, tenant: Tenant, params: PageParams, filters: dict[str, object], sort_by: str
) -> list[BillingReport]:
    """A page (max + 1 rows) of the tenant partner's reports, filtered and sorted (then by id)."""
    query = sa.select(BillingReport).where(BillingReport.partner_org_id == tenant.partner)
    for column, value in filters.items():
        query = query.where(getattr(BillingReport, column) == value)
    order = [SORT_COLUMNS[sort_by], BillingReport.id] if sort_by != "id" else [BillingReport.id]
    return list(session.scalars(query.order_by(*order).offset(params.offset).limit(params.max + 1)))


def ledger_rows(session: Session, partner_org_id: str, before: datetime) -> Iterator[generation.Entry]:
    """The partner's ledger rows written before an instant, in ledger order (streamed), as plain rows of the
    columns a report reads: no ORM objects, which cost three quarters of a report's time (bench/billing_report.py)."""
    query = (
        sa.select(*_COLUMNS)
        .where(UsageEntry.partner_org_id == partner_org_id, UsageEntry.at < before)
        .order_by(UsageEntry.seq)
        .execution_options(yield_per=5000)
    )
    return cast(Iterator[generation.Entry], iter(session.execute(query)))


def details_after(
    session: Session, partner_org_id: str, since: datetime, customer_ids: set[str], subscriber_ids: set[str]
) -> Iterator[generation.Entry]:
    """The partner's rows from an instant on that carry details for any of these customers (`customer.details`)
    or subscribers, in ledger order (streamed; the caller may stop early)."""
    wanted = []
    if customer_ids:
        kind = UsageEntry.kind == generation.CUSTOMER_DETAILS
        ids = UsageEntry.customer_id.in_(sorted(customer_ids)) if len(customer_ids) <= _CHUNK else sa.true()
        wanted.append(sa.and_(kind, ids))
    if subscriber_ids:
        ids = UsageEntry.subscriber_id.in_(sorted(subscriber_ids)) if len(subscriber_ids) <= _CHUNK else sa.true()
        wanted.append(sa.and_(UsageEntry.subscriber_id.is_not(None), ids))
    if not wanted:
        return
    query = (
        sa.select(*_COLUMNS)
        .where(
            UsageEntry.partner_org_id == partner_org_id,
            UsageEntry.at >= since,
            UsageEntry.details.is_not(None),
            sa.or_(*wanted),
        )
        .order_by(UsageEntry.seq)
        .execution_options(yield_per=5000)
    )
    result = session.execute(query)
    try:
        yield from cast(Iterator[generation.Entry], result)
    finally:
        result.close()


# The ledger columns a report reads.
_COLUMNS = (
    UsageEntry.at,
    UsageEntry.kind,
    UsageEntry.customer_id,
    UsageEntry.subscriber_id,
    UsageEntry.package,
    UsageEntry.units_after,
    UsageEntry.details,
)
