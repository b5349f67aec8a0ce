"""Dial-in: the stored telephony domain, location mapping and meetings sites (R15-R18)."""

import logging
import re

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.orm import Session

from wholesale.dialin.locations import build_location_map
from wholesale.dialin.models import LocationOverride, MeetingsSite, TelephonyNumber
from wholesale.dialin.rules import CallInDecision, derive_default_call_in
from wholesale.dialin.telephony import CallInNumber
from wholesale.events import service as events
from wholesale.kit import clock, ids

log = logging.getLogger("wholesale.dialin")
SITES_WITHOUT_NUMBER = Counter(
    "wholesale_meetings_sites_without_call_in_total",
    "Meetings sites created or re-derived with PSTN enabled but no call-in number available (R18)",
    ["country", "location"],
)


def current_numbers(session: Session) -> list[CallInNumber]:
    """Return the telephony domain in file order."""
    rows = session.scalars(sa.select(TelephonyNumber).order_by(TelephonyNumber.position))
    return [
        CallInNumber(
            country=r.country, number=r.number, label=r.label, toll_type=r.toll_type, available=r.available, order=r.position
        )
        for r in rows
    ]


def replace_numbers(session: Session, numbers: list[CallInNumber]) -> int:
    """Replace the whole telephony domain inside the caller's transaction (atomic: all or nothing)."""
    session.execute(sa.delete(TelephonyNumber))
    session.add_all(
        TelephonyNumber(
            position=n.order, country=n.country, number=n.number, label=n.label, toll_type=n.toll_type, available=n.available
        )
        for n in numbers
    )
    events.record(
        session, subject_type="telephony", subject_id="domain", action="telephony.replaced", data={"numbers": len(numbers)}
    )
    return len(numbers)


def location_map(session: Session) -> dict[str, str]:
    """Return the country -> location mapping: the default with the operator's overrides."""
    overrides = {o.country: o.location for o in session.scalars(sa.select(LocationOverride))}
    return build_location_map(overrides)


def decide(session: Session, country: str, pstn_enabled: bool) -> CallInDecision:
    """Apply R17/R18 for a country against the stored domain (used by provisioning and the portal preview)."""
    return derive_default_call_in(country, current_numbers(session), location_map(session), pstn_enabled)


def _site_url(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "site"
    return f"{slug}-{ids.new_id('SITE')[-6:].lower()}.webex.com"


def ensure_site(session: Session, *, customer_id: str, org_id: str, name: str, country: str, pstn_enabled: bool) -> MeetingsSite:
    """Create the customer's meetings site once, with its default call-in number (idempotent)."""
    site = session.scalars(sa.select(MeetingsSite).where(MeetingsSite.customer_id == customer_id)).first()
    if site is not None:
        return site
    now = clock.now()
    site = MeetingsSite(
        id=ids.new_id("SITE"),
        customer_id=customer_id,
        org_id=org_id,
        site_url=_site_url(name),
        location="",
        pstn_enabled=pstn_enabled,
        source="none",
        created=now,
        updated=now,
    )
    _apply_decision(site, decide(session, country, pstn_enabled), country)
    session.add(site)
    events.record(
        session,
        subject_type="meetings_site",
        subject_id=site.id,
        action="site.created",
        data={"customerId": customer_id, "number": site.number, "source": site.source, "location": site.location},
    )
    return site


def _apply_decision(site: MeetingsSite, decision: CallInDecision, country: str) -> None:
    number = decision.number
    site.location = decision.location
    site.source = decision.source
    site.number = number.number if number else None
    site.number_country = number.country if number else None
    site.number_label = number.label if number else None
    site.number_toll_type = number.toll_type if number else None
    site.warning = decision.warning
    site.updated = clock.now()
    if decision.warning:
        SITES_WITHOUT_NUMBER.labels(country, decision.location).inc()
        log.warning("meetings site without call-in number", extra={"fields": {"siteId": site.id, "country": country, "warning": decision.warning}})
