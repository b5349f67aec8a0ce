"""Queries on billing reports, the ledger rows a report replays, and the display fields it joins."""

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.billing import generation
from wholesale.billing.models import BillingReport
from wholesale.customers.models import Customer
from wholesale.kit.pagination import PageParams
from wholesale.ledger.models import UsageEntry
from wholesale.partners.models import Partner
from wholesale.partners.tenancy import Tenant
from wholesale.subscribers.models import Subscriber

SORT_COLUMNS = {
    "id": BillingReport.id,
    "billingStartDate": BillingReport.billing_start_date,
    "billingEndDate": BillingReport.billing_end_date,
    "status": BillingReport.status,
}
_CHUNK = 500


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
        sa.select(
            UsageEntry.at,
            UsageEntry.kind,
            UsageEntry.customer_id,
            UsageEntry.subscriber_id,
            UsageEntry.package,
            UsageEntry.units_after,
        )
        .where(UsageEntry.partner_org_id == partner_org_id, UsageEntry.at < before)
        .order_by(UsageEntry.seq)
        .execution_options(yield_per=5000)
    )
    return cast(Iterator[generation.Entry], iter(session.execute(query)))


def customers_display(session: Session, customer_ids: Iterable[str]) -> dict[str, tuple[str, str, str, bool]]:
    """Join keys per customer id (deleted customers included): name, externalId, orgId, is the partner's own org."""
    found: dict[str, tuple[str, str, str, bool]] = {}
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), _CHUNK):
        query = sa.select(
            Customer.id, Customer.name, Customer.external_id, Customer.org_id, Customer.is_partner_org
        ).where(Customer.id.in_(ids[start : start + _CHUNK]))
        for row in session.execute(query):
            found[row.id] = (row.name or "", row.external_id or "", row.org_id or "", bool(row.is_partner_org))
    return found


def subscriber_emails(session: Session, subscriber_ids: Iterable[str]) -> dict[str, str]:
    """Email per subscriber id (a subscriber deleted since has none)."""
    found: dict[str, str] = {}
    ids = sorted(set(subscriber_ids))
    for start in range(0, len(ids), _CHUNK):
        query = sa.select(Subscriber.id, Subscriber.email).where(Subscriber.id.in_(ids[start : start + _CHUNK]))
        found.update({row.id: row.email for row in session.execute(query)})
    return found
