"""The audit log: who may read which audit rows (GET /v1/auditEvents and the portal), its filters, newest-first pages
by row id, and what a partner may see of a row.

Operators read every row. A partner admin reads the rows of its own tree: its org's and its sub-partners' (with
`onBehalfOfSubPartnerOrgId`, that sub-partner's only). Of a compliance row a partner sees only what its event feed
shows (`events.catalog.PUBLISHED`): that a review runs, its deadline and its end, never the list entries, scores or
the reviewers' notes. Pages run by id (`before` = the last id of the previous page), so rows written meanwhile never
shift or repeat a page.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.compliance.models import ComplianceCase, Screening
from wholesale.customers.models import Customer
from wholesale.events import service as events
from wholesale.events.catalog import PUBLISHED
from wholesale.events.models import AuditEvent, Event
from wholesale.identity.roles import Role, Scope
from wholesale.identity.schemas import Principal
from wholesale.kit import clock
from wholesale.kit.errors import Forbidden, NotFound, field_error
from wholesale.kit.pagination import parse_page
from wholesale.partners.models import Partner
from wholesale.partners.tenancy import Tenant
from wholesale.partners.tenancy import resolve as resolve_tenant
from wholesale.subscribers.models import BulkImport, Subscriber

MAX_ROWS = 1000
DEFAULT_ROWS = 100
# Every subject_type a writer uses (tests/activity keeps this list complete); `targetType` must be one of them.
TARGET_TYPES = (
    "billing_report",
    "compliance_case",
    "customer",
    "event_feed",
    "job_probe",
    "meetings_site",
    "partner",
    "portal_user",
    "sandbox",
    "screening",
    "screening_lists",
    "subscriber",
    "subscriber_import",
    "telephony",
    "template",
    "token",
    "webhook",
)
# Data a partner never sees even of its own rows: secrets meant for someone else (the consent link is the free
# account owner's key to accept the move).
SECRET_KEYS: dict[str, tuple[str, ...]] = {"subscriber.consent_email_sent": ("link",)}
_ACTION = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+)*")
_ROW_ID = re.compile(r"[0-9]{1,18}")


# ---------------------------------------------------------------------------------------------- who reads what


@dataclass(frozen=True)
class Reader:
    """Whose audit rows a caller reads: `partner_org_ids` (a partner admin's tree) or every row (operators)."""

    principal: Principal
    partner_org_ids: tuple[str, ...] | None

    @property
    def sees_everything(self) -> bool:
        """True for operators: every row, every field."""
        return self.partner_org_ids is None


def reader(session: Session, principal: Principal, on_behalf_of: str | None) -> Reader:
    """Operators read every row; a partner admin its own tree (or the sub-partner it acts for); anyone else 403."""
    if principal.role == Role.OPERATOR:
        if Scope.PLATFORM_ADMIN.value not in principal.scopes:
            raise Forbidden(f"The access token lacks the scope {Scope.PLATFORM_ADMIN.value}.")
        if on_behalf_of:
            raise field_error(
                "onBehalfOfSubPartnerOrgId", "is for partner admins; operators read every partner's rows."
            )
        return Reader(principal, None)
    if principal.role != Role.PARTNER_ADMIN:
        raise Forbidden(f"Role {principal.role} cannot read the audit log; partner admins and operators can.")
    if Scope.CUSTOMERS_READ.value not in principal.scopes:
        raise Forbidden(f"The access token lacks the scope {Scope.CUSTOMERS_READ.value}.")
    tenant = resolve_tenant(session, principal, on_behalf_of, writing=False)  # 403 unless our sub-partner
    return partner_reader(session, tenant, tree=not on_behalf_of)


def partner_reader(session: Session, tenant: Tenant, *, tree: bool) -> Reader:
    """A partner tenant's reader: the partner and, with `tree`, its sub-partners."""
    orgs = [tenant.partner]
    if tree:
        orgs += session.scalars(
            sa.select(Partner.org_id).where(Partner.parent_org_id == tenant.partner).order_by(Partner.org_id)
        )
    return Reader(tenant.principal, tuple(orgs))


# ---------------------------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filters:
    """What the caller narrows the log to; None: no filter."""

    start: datetime | None = None
    end: datetime | None = None
    actor_id: str | None = None
    target_id: str | None = None
    target_type: str | None = None
    action: str | None = None
    action_prefix: bool = False


def parse_filters(
    *,
    start: str | None,
    end: str | None,
    actor_id: str | None,
    target_id: str | None,
    target_type: str | None,
    action: str | None,
) -> Filters:
    """Check the query's filters; each mistake is a 400 naming its parameter."""
    begins, ends = instant("from", start), instant("to", end)
    if begins is not None and ends is not None and ends <= begins:
        raise field_error("to", "must be later than `from`.")
    target_type = (target_type or "").strip() or None
    if target_type is not None and target_type not in TARGET_TYPES:
        raise field_error("targetType", f"unknown {target_type!r}; use one of {', '.join(TARGET_TYPES)}.")
    action, prefix = _action(action)
    return Filters(
        start=begins,
        end=ends,
        actor_id=_text("actorId", actor_id),
        target_id=_text("targetId", target_id),
        target_type=target_type,
        action=action,
        action_prefix=prefix,
    )


def instant(name: str, value: str | None) -> datetime | None:
    """An ISO-8601 instant with its zone (2026-03-01T00:00:00.000Z); None when not given."""
    text = (value or "").strip()
    if not text:
        return None
    # An unencoded `+01:00` arrives as ` 01:00` (a query string's plus is a space).
    text = re.sub(r" (\d\d:?\d\d)$", r"+\1", text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise field_error(
            name, f"must be an ISO-8601 instant such as 2026-03-01T00:00:00.000Z, got {value!r}."
        ) from None
    if when.tzinfo is None:
        raise field_error(name, f"must carry a time zone (Z or +hh:mm), got {value!r}.")
    return when


def _text(name: str, value: str | None) -> str | None:
    text = (value or "").strip()
    if len(text) > 200:
        raise field_error(name, "must be at most 200 characters.")
    return text or None


def _action(value: str | None) -> tuple[str | None, bool]:
    """An exact action (customer.settled) or a prefix (customer. or customer.*)."""
    text = (value or "").strip()
    if not text:
        return None, False
    prefix = text.endswith(("*", "."))
    stem = text.rstrip("*")
    if len(stem) > 60 or not _ACTION.fullmatch(stem[:-1] if stem.endswith(".") else stem):
        raise field_error(
            "action", f"must be an action such as customer.settled, or a prefix such as customer. ; got {value!r}."
        )
    return stem, prefix


def parse_before(value: str | None) -> int | None:
    """The `before` cursor: the id of the last row of the previous page."""
    if value is None or value == "":
        return None
    if not _ROW_ID.fullmatch(value) or int(value) == 0:
        raise field_error("before", f"must be the id of an audit row (a positive whole number), got {value!r}.")
    return int(value)


def parse_max(value: str | None) -> int:
    """How many rows a page holds: default 100, at most 1000."""
    return parse_page(value, None, default=DEFAULT_ROWS, limit=MAX_ROWS).max


# ---------------------------------------------------------------------------------------------- reading


def list_items(
    session: Session,
    principal: Principal,
    *,
    on_behalf_of: str | None,
    query: dict[str, str | None],
    before: str | None,
    max_: str | None,
) -> tuple[list[dict[str, Any]], int | None]:
    """GET /v1/auditEvents: a page of the rows the caller may read (403 first, then 400 for a bad filter), and the
    `before` of the next page (None on the last)."""
    who = reader(session, principal, on_behalf_of)
    filters = parse_filters(**query)
    rows, more = read_page(session, who, filters, parse_before(before), parse_max(max_))
    return [as_item(row, who) for row in rows], (rows[-1].id if more and rows else None)


def read_page(
    session: Session, who: Reader, filters: Filters, before: int | None, limit: int
) -> tuple[Sequence[AuditEvent], bool]:
    """Up to `limit` rows the reader may see, newest first (by id), older than `before`; and whether more follow."""
    query = sa.select(AuditEvent)
    if who.partner_org_ids is not None:
        query = query.where(AuditEvent.partner_org_id.in_(who.partner_org_ids))
    query = _filtered(query, filters)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)).all()
    return rows[:limit], len(rows) > limit


def _filtered(query: sa.Select[Any], filters: Filters) -> sa.Select[Any]:
    if filters.start is not None:
        query = query.where(AuditEvent.occurred_at >= filters.start)
    if filters.end is not None:
        query = query.where(AuditEvent.occurred_at < filters.end)
    if filters.actor_id is not None:
        query = query.where(AuditEvent.actor == filters.actor_id)
    if filters.target_id is not None:
        query = query.where(AuditEvent.subject_id == filters.target_id)
    if filters.target_type is not None:
        query = query.where(AuditEvent.subject_type == filters.target_type)
    if filters.action is not None:
        if filters.action_prefix:
            query = query.where(AuditEvent.action.startswith(filters.action, autoescape=True))
        else:
            query = query.where(AuditEvent.action == filters.action)
    return query


def customer_history(
    session: Session, tenant: Tenant, customer_id: str, before: int | None, limit: int
) -> tuple[Customer, Sequence[AuditEvent], bool]:
    """A customer's audit rows, newest first: its own, its subscribers' (also those since removed), its compliance
    cases' and screenings', its bulk imports' and its meetings site's. A removed customer keeps its history; another partner's is a
    404."""
    customer = session.get(Customer, customer_id)
    if customer is None or not tenant.owns(customer.partner_org_id, None):
        raise NotFound(f"Customer {customer_id} not found.")
    partner = customer.partner_org_id
    subscribers = sa.select(AuditEvent.subject_id).where(
        AuditEvent.partner_org_id == partner,
        AuditEvent.action == "subscriber.created",
        AuditEvent.data["customerId"].as_string() == customer_id,
    )
    sites = sa.select(AuditEvent.subject_id).where(
        AuditEvent.partner_org_id == partner,
        AuditEvent.action == "site.created",
        AuditEvent.data["customerId"].as_string() == customer_id,
    )
    cases = sa.select(ComplianceCase.id).where(ComplianceCase.customer_id == customer_id)
    screenings = sa.select(Screening.id).where(Screening.customer_id == customer_id)
    imports = sa.select(BulkImport.id).where(BulkImport.customer_id == customer_id)
    subject = sa.or_(
        sa.and_(AuditEvent.subject_type == "customer", AuditEvent.subject_id == customer_id),
        sa.and_(AuditEvent.subject_type == "subscriber", AuditEvent.subject_id.in_(subscribers)),
        sa.and_(AuditEvent.subject_type == "compliance_case", AuditEvent.subject_id.in_(cases)),
        sa.and_(AuditEvent.subject_type == "screening", AuditEvent.subject_id.in_(screenings)),
        sa.and_(AuditEvent.subject_type == "subscriber_import", AuditEvent.subject_id.in_(imports)),
        sa.and_(AuditEvent.subject_type == "meetings_site", AuditEvent.subject_id.in_(sites)),
    )
    query = sa.select(AuditEvent).where(AuditEvent.partner_org_id == partner, subject)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    rows = session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)).all()
    return customer, rows[:limit], len(rows) > limit


def recent_events(session: Session, tenant: Tenant, before: int | None, limit: int) -> tuple[Sequence[Event], bool]:
    """The partner's feed events (what its webhooks deliver), newest first, for the portal's Activity page."""
    query = sa.select(Event).where(Event.partner_org_id == tenant.partner)
    if before is not None:
        query = query.where(Event.id < before)
    rows = session.scalars(query.order_by(Event.id.desc()).limit(limit + 1)).all()
    return rows[:limit], len(rows) > limit


def customer_names(session: Session, tenant: Tenant, customer_ids: list[str]) -> dict[str, str]:
    """The names of the tenant's customers among these ids, removed ones included (the Activity page links them)."""
    if not customer_ids:
        return {}
    rows = session.execute(
        sa.select(Customer.id, Customer.name, Customer.external_id).where(
            Customer.id.in_(customer_ids), Customer.partner_org_id == tenant.partner
        )
    )
    return {row.id: row.name or row.external_id for row in rows}


def subscriber_emails(session: Session, subscriber_ids: list[str]) -> dict[str, str]:
    """The emails of those subscribers still there (a history names its users by them)."""
    if not subscriber_ids:
        return {}
    rows = session.execute(sa.select(Subscriber.id, Subscriber.email).where(Subscriber.id.in_(subscriber_ids)))
    return {row.id: row.email for row in rows}


# ---------------------------------------------------------------------------------------------- what is shown


def confidential(row: AuditEvent) -> bool:
    """True for the rows of a compliance review (or a removal it caused): reviewers' evidence is in their data."""
    reason = str((row.data or {}).get("reason") or "")
    return (
        row.action.startswith("compliance.")
        or row.subject_type in ("compliance_case", "screening")
        or reason.startswith("compliance")
    )


def shown(row: AuditEvent, who: Reader) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]:
    """A row's data, before and after as the reader may see them: operators everything; a partner the feed's view
    of a compliance row (nothing when the feed does not publish it), and of other rows all but secrets."""
    data = dict(row.data or {})
    if who.sees_everything:
        return data, row.before, row.after
    if confidential(row):
        published = PUBLISHED.get(row.action)
        view = published.data(row.subject_id, data) if published else {}
        view.pop("id", None)  # the row's targetId already
        return view, None, None
    for key in SECRET_KEYS.get(row.action, ()):
        data.pop(key, None)
    return data, row.before, row.after


def as_item(row: AuditEvent, who: Reader) -> dict[str, Any]:
    """A row as GET /v1/auditEvents shows it to this reader."""
    data, before, after = shown(row, who)
    return {
        "id": str(row.id),
        "created": clock.isoformat(row.occurred_at),
        "actorId": row.actor,
        "actorRole": row.actor_role,
        "actorOrgId": row.actor_org_id,
        "orgId": row.partner_org_id,
        "action": row.action,
        "targetType": row.subject_type,
        "targetId": row.subject_id,
        "data": data,
        "before": before,
        "after": after,
        "trackingId": row.tracking_id,
    }


# ---------------------------------------------------------------------------------------------- portal sessions


def record_portal_session(session: Session, principal: Principal, action: str) -> None:
    """Audit a portal sign-in or sign-out (`portal.signed_in`, `portal.signed_out`) of a portal account or, for a
    developer's token sign-in, of a token."""
    events.record(
        session,
        subject_type="portal_user" if principal.portal_account else "token",
        subject_id=principal.token_id,
        action=action,
        partner_org_id=principal.partner_org_id,
        data={"role": str(principal.role)},
    )
