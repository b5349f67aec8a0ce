"""Dial-in: the stored telephony domain, location mapping and meetings sites (R15-R18)."""

import csv
import io
import logging
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import phonenumbers
import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.orm import Session

from wholesale.customers.models import Customer
from wholesale.dialin.locations import (
    LOCATION_DEFAULT_COUNTRY,
    LOCATION_OVERRIDE_HEADER,
    LocationFileError,
    UnknownCountryError,
    build_location_map,
    load_location_overrides,
    location_for,
)
from wholesale.dialin.models import LocationOverride, MeetingsSite, TelephonyNumber
from wholesale.dialin.rules import CallInDecision, derive_default_call_in
from wholesale.dialin.telephony import (
    TELEPHONY_HEADER,
    TOLL_TYPES,
    CallInNumber,
    TelephonyFileError,
    TollType,
    parse_telephony_csv,
    parse_toll_type,
)
from wholesale.events import service as events
from wholesale.identity.models import Org
from wholesale.identity.roles import Role
from wholesale.identity.schemas import Principal
from wholesale.jobs.enqueue import enqueue
from wholesale.kit import clock, ids
from wholesale.kit.errors import BadRequest, NotFound, field_error
from wholesale.kit.pagination import Page, PageParams, page_from_rows
from wholesale.kit.session_rows import SessionLookups, TransactionMemo
from wholesale.partners.tenancy import Tenant

log = logging.getLogger("wholesale.dialin")
SITES_WITHOUT_NUMBER = Counter(
    "wholesale_meetings_sites_without_call_in_total",
    "Meetings sites created or re-derived with PSTN enabled but no call-in number available (R18)",
    ["country", "location"],
)


def current_numbers(session: Session, countries: set[str] | None = None) -> list[CallInNumber]:
    """Return the telephony domain in file order (only these countries' numbers when given)."""
    t = TelephonyNumber
    query = sa.select(t.country, t.number, t.label, t.toll_type, t.available, t.position).order_by(t.position)
    if countries is not None:
        query = query.where(t.country.in_(sorted(countries)))
    # Plain rows, not ORM objects: every site creation reads this, and object loading was most of its cost.
    return [
        CallInNumber(
            country=country,
            number=number,
            label=label,
            toll_type=_stored_toll_type(number, toll_type),
            available=available,
            order=position,
        )
        for country, number, label, toll_type, available, position in session.execute(query)
    ]


def _stored_toll_type(number: str, value: str) -> TollType:
    """A stored tollType (only a parsed telephony file writes them, so it is always one)."""
    toll = parse_toll_type(value)
    if toll is None:
        raise RuntimeError(f"telephony number {number} is stored with tollType {value!r}, not one of {TOLL_TYPES}")
    return toll


def replace_numbers(session: Session, numbers: list[CallInNumber]) -> int:
    """Replace the whole telephony domain inside the caller's transaction (atomic: all or nothing)."""
    session.execute(sa.delete(TelephonyNumber))
    _DECISIONS.forget(session)
    session.add_all(
        TelephonyNumber(
            position=n.order,
            country=n.country,
            number=n.number,
            label=n.label,
            toll_type=n.toll_type,
            available=n.available,
        )
        for n in numbers
    )
    events.record(
        session,
        subject_type="telephony",
        subject_id="domain",
        action="telephony.replaced",
        data={"numbers": len(numbers)},
    )
    return len(numbers)


def location_map(session: Session) -> dict[str, str]:
    """Return the country -> location mapping: the default with the operator's overrides."""
    overrides = {o.country: o.location for o in session.scalars(sa.select(LocationOverride))}
    return build_location_map(overrides)


# The decisions a transaction made, by (country, PSTN), for the runs of a batch that share them.
_DECISIONS = TransactionMemo("wholesale.dialin.decisions")


def decide(session: Session, country: str, pstn_enabled: bool) -> CallInDecision:
    """Apply R17/R18 for a country against the stored domain (used by provisioning and the portal preview).

    Kept for the rest of the transaction (a batch of runs asks for a few countries many times); replacing the
    numbers or the location overrides in it forgets them."""
    code = country.strip().upper()
    made = _DECISIONS.of(session)
    if (code, pstn_enabled) not in made:
        mapping = location_map(session)
        # R18 only ever looks at the org country's numbers and those of its location's default country.
        wanted = {code, LOCATION_DEFAULT_COUNTRY[location_for(code, mapping)]}
        made[code, pstn_enabled] = derive_default_call_in(
            country, current_numbers(session, wanted), mapping, pstn_enabled
        )
    return made[code, pstn_enabled]


def _site_url(name: str) -> str:
    """`<name slug>-<10 random hex digits>.webex.com`: site URLs are unique platform-wide and customers share names
    (the tail of a new id, lowercased, left about 2^18 suffixes: same-named customers collided within hundreds)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "site"
    return f"{slug}-{uuid.uuid4().hex[:10]}.webex.com"


_SITE = sa.select(MeetingsSite).where(MeetingsSite.customer_id == sa.bindparam("customer_id"))
# The domain job may re-derive the same site concurrently (PostgreSQL); one waits for the other.
_SITE_LOCKED = _SITE.with_for_update()


_SITES_READ = SessionLookups("wholesale.dialin.sites_read")


@contextmanager
def sites_read(session: Session, customer_ids: Sequence[str]) -> Iterator[None]:
    """For a block that converges many customers (a batch of provisioning runs): read their meetings sites in one
    statement (locked on PostgreSQL, in customer order), and let each lookup of one of them answer from it."""
    ids_ = sorted(set(customer_ids))
    sites: dict[str, MeetingsSite | None] = dict.fromkeys(ids_)
    query = sa.select(MeetingsSite).where(MeetingsSite.customer_id.in_(ids_)).order_by(MeetingsSite.customer_id)
    for site in session.scalars(query.with_for_update()):
        sites[site.customer_id] = site
    with _SITES_READ.reading(session, sites):
        yield


def _site_of_customer(session: Session, customer_id: str, *, for_update: bool = False) -> MeetingsSite | None:
    if _SITES_READ.known(session, customer_id):  # read for the batch, locked
        return cast(MeetingsSite | None, _SITES_READ.get(session, customer_id))
    # Statements built once: every provisioning run asks.
    return session.scalars(_SITE_LOCKED if for_update else _SITE, {"customer_id": customer_id}).first()


def ensure_site(
    session: Session,
    *,
    customer_id: str,
    org_id: str,
    name: str,
    country: str,
    pstn_enabled: bool,
    absent: bool = False,
) -> MeetingsSite:
    """Create the customer's meetings site once, with its default call-in number (idempotent; `absent`: the
    caller found none in this transaction)."""
    site = None if absent else _site_of_customer(session, customer_id)
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
    _SITES_READ.note(session, customer_id, site)
    _count_missing(site, country, previous_warning=None)
    events.record(
        session,
        subject_type="meetings_site",
        subject_id=site.id,
        action="site.created",
        partner_org_id=_partner_of(session, customer_id),
        data={"customerId": customer_id, "number": site.number, "source": site.source, "location": site.location},
    )
    return site


def _partner_of(session: Session, customer_id: str) -> str | None:
    """The partner a site's audit rows belong to (its customer's), so the partner reads them in its audit log."""
    customer = session.get(Customer, customer_id)
    return customer.partner_org_id if customer is not None else None


def remove_site(session: Session, customer_id: str) -> None:
    """Delete the customer's meetings site (its last meetings package went, or the customer did)."""
    session.execute(sa.delete(MeetingsSite).where(MeetingsSite.customer_id == customer_id))
    _SITES_READ.note(session, customer_id, None)


def rederive_site(
    session: Session, customer_id: str, country: str, pstn_enabled: bool, *, reason: str = "customer.updated"
) -> MeetingsSite | None:
    """Derive an existing site's default call-in number again after its org country or PSTN setting changed (R17, R18).

    Returns None when the customer has no site yet. A pinned number stays; only the location follows the country.
    """
    site = _site_of_customer(session, customer_id, for_update=True)
    if site is None:
        return None
    country = country.strip().upper()
    if site.org_country == country and site.pstn_enabled == pstn_enabled:
        # Same inputs: the number stays even if the domain now offers another one (the domain job handles
        # numbers that became unavailable).
        return site
    before = _snapshot(site)
    if site.pinned and pstn_enabled:
        # The operator's pin wins over R18; the site still lives in its org country's location.
        site.location = location_for(country, location_map(session))
        site.org_country = country
        site.pstn_enabled = pstn_enabled
        site.source = _pinned_source(site.number_country, country)
        site.updated = clock.now()
    else:
        # R17: without provider PSTN there are no provider numbers, so a pin cannot survive either.
        site.pinned = False
        site.pstn_enabled = pstn_enabled
        _apply_decision(site, decide(session, country, pstn_enabled), country)
    _record_change(session, site, before, reason=reason, country=country)
    return site


def rederive_after_domain_change(session: Session) -> list[dict[str, Any]]:
    """Re-derive every non-pinned PSTN site whose number is no longer available, or that has none (R18); return the changes."""
    available = {(n.country, n.number) for n in current_numbers(session) if n.available}
    rows = session.execute(
        sa.select(MeetingsSite, Org.country_code, Customer.country)
        .join(Customer, Customer.id == MeetingsSite.customer_id)
        .outerjoin(Org, Org.id == MeetingsSite.org_id)
        .where(MeetingsSite.pinned.is_(False), MeetingsSite.pstn_enabled.is_(True))
        .order_by(MeetingsSite.id)
        .with_for_update(of=MeetingsSite)
    ).all()
    changes: list[dict[str, Any]] = []
    for site, org_country, billing_country in rows:
        if site.number is not None and (site.number_country, site.number) in available:
            continue  # issue 4: existing sites keep a number that is still available
        # R17: the org country decides; the billing country is the same after R16 and covers a missing org.
        country = org_country or site.org_country or billing_country
        before = _snapshot(site)
        _apply_decision(site, decide(session, country, True), country)
        change = _record_change(session, site, before, reason="telephony.replaced", country=country)
        if change is not None:
            changes.append(change)
    log.info("telephony re-derivation done", extra={"fields": {"examined": len(rows), "changed": len(changes)}})
    return changes


def _snapshot(site: MeetingsSite) -> dict[str, Any]:
    return {
        "number": site.number,
        "numberCountry": site.number_country,
        "source": site.source,
        "location": site.location,
        "pinned": site.pinned,
        "warning": site.warning,
    }


def _record_change(
    session: Session, site: MeetingsSite, before: dict[str, Any], *, reason: str, country: str
) -> dict[str, Any] | None:
    """Audit a re-derivation that changed the site, and count a newly missing number."""
    after = _snapshot(site)
    if after == before:
        return None
    _count_missing(site, country, previous_warning=before["warning"])
    change = {"siteId": site.id, "orgId": site.org_id, "reason": reason, "from": before, "to": after}
    events.record(
        session,
        subject_type="meetings_site",
        subject_id=site.id,
        action="site.rederived",
        partner_org_id=_partner_of(session, site.customer_id),
        data={**change, "customerId": site.customer_id},
        before=before,
        after=after,
    )
    log.info(
        "meetings site re-derived",
        extra={"fields": {"siteId": site.id, "reason": reason, "number": site.number, "source": site.source}},
    )
    return change


def _count_missing(site: MeetingsSite, country: str, *, previous_warning: str | None) -> None:
    """Count and log a site that has just been left without a call-in number (R18: visible in /metrics and the log)."""
    if site.warning and site.warning != previous_warning:
        SITES_WITHOUT_NUMBER.labels(country, site.location).inc()
        log.warning(
            "meetings site without call-in number",
            extra={
                "fields": {"siteId": site.id, "country": country, "location": site.location, "warning": site.warning}
            },
        )


def _pinned_source(number_country: str | None, country: str) -> str:
    # A pin is outside R18; report the closest R18 source so the API keeps its three values.
    if number_country is None:
        return "none"
    return "orgCountry" if number_country == country else "locationDefault"


def _apply_decision(site: MeetingsSite, decision: CallInDecision, country: str) -> None:
    number = decision.number
    site.org_country = country.strip().upper()
    site.location = decision.location
    site.source = decision.source
    site.number = number.number if number else None
    site.number_country = number.country if number else None
    site.number_label = number.label if number else None
    site.number_toll_type = number.toll_type if number else None
    site.warning = decision.warning
    site.updated = clock.now()


# ---------------------------------------------------------------------------------------------- portal


def preview(session: Session, country: str, template_pstn_enabled: bool) -> dict[str, Any]:
    """Return what a new customer in `country` would get: location, default number, source, warning (R17, R18)."""
    try:
        decision = decide(session, country, template_pstn_enabled)
    except UnknownCountryError:
        raise field_error("country", f"unknown country {country!r}; expected an ISO-3166-1 alpha-2 code.") from None
    return {
        "location": decision.location,
        "number": _number_read(decision.number),
        "source": decision.source,
        "warning": decision.warning,
    }


# ---------------------------------------------------------------------------------------------- operator API


def number_read(n: CallInNumber) -> dict[str, Any]:
    """Render one telephony-domain entry for the operator API."""
    return {
        "country": n.country,
        "number": n.number,
        "label": n.label,
        "tollType": n.toll_type,
        "available": n.available,
        "order": n.order,
    }


def read_domain(session: Session) -> dict[str, Any]:
    """Return the telephony domain in order."""
    return {"items": [number_read(n) for n in current_numbers(session)]}


def parse_domain_body(raw: bytes, content_type: str) -> list[CallInNumber]:
    """Parse a PUT body (text/csv or JSON `{"items": [...]}`) with the CSV file's rules; 400 lists every problem."""
    if _is_csv(content_type):
        try:
            return parse_telephony_csv(raw)
        except TelephonyFileError as exc:
            raise _refused("The telephony domain was refused; the old domain stays in force.", exc.errors) from None
    items = _json_items(raw)
    if not items:
        raise _refused("The telephony domain was refused; the old domain stays in force.", ["items: must not be empty"])
    text = _items_as_csv(items, TELEPHONY_HEADER, bool_fields=("available",))
    try:
        return parse_telephony_csv(text)
    except TelephonyFileError as exc:
        raise _refused(
            "The telephony domain was refused; the old domain stays in force.", _lines_to_items(exc.errors)
        ) from None


def replace_domain(session: Session, numbers: list[CallInNumber]) -> str:
    """Replace the telephony domain and enqueue the re-derivation of affected sites, in the caller's transaction."""
    replace_numbers(session, numbers)
    return enqueue(session, "dialin.rederive", key=f"dialin.rederive:{uuid.uuid4()}")


def read_overrides(session: Session) -> dict[str, Any]:
    """Return the operator's country -> location overrides."""
    rows = session.scalars(sa.select(LocationOverride).order_by(LocationOverride.country))
    return {"items": [{"country": o.country, "location": o.location} for o in rows]}


def parse_overrides_body(raw: bytes, content_type: str) -> dict[str, str]:
    """Parse a PUT body (text/csv `country,location` or JSON `{"items": [...]}`); 400 lists every problem."""
    message = "The location overrides were refused; the old overrides stay in force."
    if _is_csv(content_type):
        try:
            return load_location_overrides(raw)
        except LocationFileError as exc:
            raise _refused(message, exc.errors) from None
    text = _items_as_csv(_json_items(raw), LOCATION_OVERRIDE_HEADER)
    try:
        return load_location_overrides(text)
    except LocationFileError as exc:
        raise _refused(message, _lines_to_items(exc.errors)) from None


def replace_overrides(session: Session, overrides: dict[str, str]) -> None:
    """Replace every location override atomically, with an audit row."""
    session.execute(sa.delete(LocationOverride))
    _DECISIONS.forget(session)
    session.add_all(LocationOverride(country=c, location=loc) for c, loc in sorted(overrides.items()))
    events.record(
        session,
        subject_type="telephony",
        subject_id="locations",
        action="locations.replaced",
        data={"overrides": overrides},
    )


def _is_csv(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in ("text/csv", "text/plain")


def _json_items(raw: bytes) -> list[Any]:
    import json

    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise field_error("body", 'is not valid JSON (send {"items": [...]} or text/csv).') from None
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise field_error("items", "is required and must be a list.")
    return body["items"]


def _items_as_csv(items: list[Any], header: tuple[str, ...], bool_fields: tuple[str, ...] = ()) -> str:
    """Write JSON items as the CSV the file parser checks, so JSON and files obey the very same rules."""
    errors: list[str] = []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            errors.append(f"item {index}: must be an object with {', '.join(header)}")
            continue
        row = []
        for name in header:
            value = item.get(name)
            if isinstance(value, bool) and name in bool_fields:
                value = "true" if value else "false"
            text = "" if value is None else str(value)
            if "\n" in text or "\r" in text:
                # One item must stay one CSV line, or item numbers in the errors would drift.
                errors.append(f"item {index}: {name} must be a single line")
                text = text.replace("\r", " ").replace("\n", " ")
            row.append(text)
        writer.writerow(row)
    if errors:
        raise _refused("The request was refused; nothing changed.", errors)
    return out.getvalue()


def _lines_to_items(errors: list[str]) -> list[str]:
    # Line 1 is the header written by _items_as_csv, so line n is item n - 1.
    return [re.sub(r"\bline (\d+)", lambda m: f"item {int(m.group(1)) - 1}", e) for e in errors]


def _refused(message: str, errors: list[str]) -> BadRequest:
    return BadRequest(
        message + " " + "; ".join(errors), errors=[{"description": e, "errorCode": 400100} for e in errors]
    )


# ---------------------------------------------------------------------------------------------- sites API


def _number_read(n: CallInNumber | None) -> dict[str, Any] | None:
    if n is None:
        return None
    return {"number": n.number, "countryCode": n.country_calling_code, "label": n.label, "tollType": n.toll_type}


def site_read(site: MeetingsSite) -> dict[str, Any]:
    """Render a meetings site for the sites API."""
    number = None
    if site.number is not None:
        number = {
            "number": site.number,
            "countryCode": "+" + str(phonenumbers.parse(site.number).country_code),
            "label": site.number_label,
            "tollType": site.number_toll_type,
        }
    body: dict[str, Any] = {
        "id": site.id,
        "orgId": site.org_id,
        "siteUrl": site.site_url,
        "location": site.location,
        "pstnEnabled": site.pstn_enabled,
        "defaultCallInNumber": number,
        "source": site.source,
        "pinned": site.pinned,
    }
    if site.warning:
        body["warning"] = site.warning
    return body


def _visible_sites(tenant: Tenant | None) -> sa.Select:
    """Sites the caller may read: its partner's customers, its own org, or all for operators; else none."""
    query = (
        sa.select(MeetingsSite)
        .join(Customer, Customer.id == MeetingsSite.customer_id)
        .where(Customer.deleted_at.is_(None))
    )
    if tenant is None:
        return query.where(sa.false())  # e.g. a foreign sub-partner: not revealed (404, not 403)
    if tenant.is_platform:
        return query if tenant.principal.role == Role.OPERATOR else query.where(sa.false())
    if tenant.org_id is not None:
        return query.where(MeetingsSite.org_id == tenant.org_id)
    return query.where(Customer.partner_org_id == tenant.partner)


def list_sites(
    session: Session, tenant: Tenant | None, params: PageParams, *, org_id: str | None
) -> Page[dict[str, Any]]:
    """List the meetings sites the caller may read, optionally of one org."""
    query = _visible_sites(tenant)
    if org_id:
        query = query.where(MeetingsSite.org_id == org_id)
    rows = session.scalars(
        query.order_by(MeetingsSite.created, MeetingsSite.id).offset(params.offset).limit(params.max + 1)
    ).all()
    page = page_from_rows(rows, params)
    return Page(items=[site_read(s) for s in page.items], params=params, has_more=page.has_more)


def _get_visible(session: Session, tenant: Tenant | None, site_id: str) -> MeetingsSite:
    site = session.scalars(_visible_sites(tenant).where(MeetingsSite.id == site_id)).first()
    if site is None:
        raise NotFound(f"Meetings site {site_id} not found.")
    return site


def get_site(session: Session, tenant: Tenant | None, site_id: str) -> dict[str, Any]:
    """Return one meetings site to its partner, its customer admins or operators; anyone else gets 404."""
    return site_read(_get_visible(session, tenant, site_id))


def pin_number(session: Session, principal: Principal, site_id: str, number: str | None) -> dict[str, Any]:
    """Pin a site's default call-in number to an available domain number, or unpin (None) and re-derive (operator)."""
    site = _get_visible(session, Tenant(principal), site_id)  # operators: the platform's tenant
    if number is None:
        country = _org_country(session, site)
        before = _snapshot(site)
        site.pinned = False
        _apply_decision(site, decide(session, country, site.pstn_enabled), country)
        _record_change(session, site, before, reason="unpinned", country=country)
        return site_read(site)
    if not site.pstn_enabled:
        raise field_error(
            "number", "the site's template disables provider PSTN, so it has no provider call-in numbers (R17)."
        )
    entry = _find_number(session, number)
    country = _org_country(session, site)
    before = _snapshot(site)
    site.pinned = True
    site.org_country = country
    site.number = entry.number
    site.number_country = entry.country
    site.number_label = entry.label
    site.number_toll_type = entry.toll_type
    site.source = _pinned_source(entry.country, country)
    site.warning = None
    site.updated = clock.now()
    after = _snapshot(site)
    if after != before:
        events.record(
            session,
            subject_type="meetings_site",
            subject_id=site.id,
            action="site.pinned",
            partner_org_id=_partner_of(session, site.customer_id),
            data={"customerId": site.customer_id, "from": before, "to": after},
            before=before,
            after=after,
        )
    return site_read(site)


def _find_number(session: Session, raw: str) -> CallInNumber:
    """Return the first available domain entry with this number (any country); 400 otherwise."""
    try:
        e164 = phonenumbers.format_number(phonenumbers.parse(raw, None), phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        raise field_error("number", f"{raw!r} is not an E.164 number (e.g. +14085550142).") from None
    matches = [n for n in current_numbers(session) if n.number == e164]
    if not matches:
        raise field_error("number", f"{e164} is not in the telephony domain.")
    usable = [n for n in matches if n.available]
    if not usable:
        raise field_error("number", f"{e164} is marked unavailable in the telephony domain.")
    return usable[0]


def _org_country(session: Session, site: MeetingsSite) -> str:
    org = session.get(Org, site.org_id)
    if org is not None and org.country_code:
        return org.country_code
    # R16 makes the billing country the org country, so it stands in for a missing org.
    if site.org_country:
        return site.org_country
    customer = session.get(Customer, site.customer_id)
    if customer is None:  # a site references its customer (ON DELETE CASCADE), so this is a broken database
        raise RuntimeError(f"Meetings site {site.id} belongs to customer {site.customer_id}, which does not exist.")
    return customer.country
