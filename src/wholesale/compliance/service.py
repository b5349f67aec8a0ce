"""Compliance (R10-R14): screen customers, open and decide review cases, record contact attempts, deprovision."""

import logging
import statistics
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.compliance import evidence, lists, states
from wholesale.compliance.models import AllowListEntry, ComplianceCase, ContactAttempt, Screening
from wholesale.compliance.screening import Screener, ScreeningQuery, ScreeningResult
from wholesale.compliance.states import OPEN_STATES, CaseEvent, CaseStatus
from wholesale.customers.models import Customer
from wholesale.customers.service import address_of, owned_customer, request_deletion, request_screening
from wholesale.customers.states import CustomerStatus
from wholesale.events import service as events
from wholesale.identity.roles import Role
from wholesale.identity.schemas import Principal
from wholesale.jobs.enqueue import enqueue
from wholesale.kit import clock, ids
from wholesale.kit.context import current_actor
from wholesale.kit.errors import BadRequest, Forbidden, NotFound
from wholesale.partners.tenancy import Tenant

log = logging.getLogger("wholesale.compliance")

NONCOMPLIANCE_DAYS = 30  # R14
MAX_UNREACHABLE = 3  # R14


# ---------------------------------------------------------------------------------------------- screening


def query_for(customer: Customer) -> ScreeningQuery:
    """The screening query of a customer: its name and billing address."""
    return ScreeningQuery(
        id=customer.id,
        name=customer.name or customer.external_id,
        country=customer.country,
        city=customer.city,
        postal_code=customer.zip_or_postal_code,
    )


class _Known:
    """What recording screenings reads of their customers, read for many of them at once (`of`): the customers,
    the hits each was cleared for, and each one's open case."""

    def __init__(
        self,
        customers: dict[str, Customer],
        allowed: dict[str, set[tuple[str, str, str]]],
        cases: dict[str, ComplianceCase],
    ) -> None:
        self.customers = customers  # held here: the session's identity map holds unchanged rows only weakly
        self.allowed = allowed
        self.cases = cases

    @classmethod
    def of(cls, session: Session, customer_ids: Sequence[str]) -> "_Known":
        ids_ = sorted(set(customer_ids))
        customers = {c.id: c for c in session.scalars(sa.select(Customer).where(Customer.id.in_(ids_)))}
        allowed: dict[str, set[tuple[str, str, str]]] = {cid: set() for cid in ids_}
        for a in session.scalars(sa.select(AllowListEntry).where(AllowListEntry.customer_id.in_(ids_))):
            allowed[a.customer_id].add((a.source, a.entry_id, a.list_sha256))
        cases = {  # a customer has one open case at most (open_case_of)
            c.customer_id: c
            for c in session.scalars(
                sa.select(ComplianceCase).where(
                    ComplianceCase.customer_id.in_(ids_), ComplianceCase.status.in_(list(OPEN_STATES))
                )
            )
        }
        return cls(customers, allowed, cases)


def screen_customer(
    session: Session,
    customer_id: str,
    trigger: str,
    result: ScreeningResult,
    list_sha256: str,
    *,
    known: _Known | None = None,
) -> str:
    """Record a screening and act on it: open a case on review/match, resolve an open case on clear.

    Hits the customer was already cleared for (same entry of the same list version) do not count (the
    allow-list); a new entry, or the same entry in a new version of its list, counts again.
    A customer being deleted (its partner's delete, or an R14 deprovisioning) is still screened and the
    screening recorded, but no new case opens for it: its services are ending and a deletion never turns back, so
    a reviewer would decide on a customer that is gone before the case is read. An open case is still updated.
    Returns what happened: clear | case_opened | case_updated | resolved | allowed | deleting | skipped.
    Read for many customers at once by a caller that records many (`known`, see `record_screenings`).
    """
    known = known or _Known.of(session, [customer_id])
    customer = known.customers.get(customer_id)
    if customer is None or customer.deleted_at is not None:
        return "skipped"
    allowed = known.allowed.get(customer_id, set())
    hits = result.to_dict()["hits"]
    fresh = [h for h in hits if (h["source"], h["entryId"], h["listVersion"]) not in allowed]
    decision = result.decision if fresh or result.decision == "clear" else "clear"
    screening = Screening(
        id=ids.new_id("SCREENING"),
        customer_id=customer_id,
        trigger=trigger,
        list_sha256=list_sha256,
        query={
            "name": customer.name,
            "country": customer.country,
            "city": customer.city,
            "postalCode": customer.zip_or_postal_code,
        },
        decision=decision,
        score=result.score,
        hits=hits,
        created=clock.now(),
    )
    session.add(screening)
    events.record(
        session,
        subject_type="screening",
        subject_id=screening.id,
        action="compliance.screened",
        partner_org_id=customer.partner_org_id,
        data={
            "customerId": customer_id,
            "trigger": trigger,
            "decision": decision,
            "score": result.score,
            "hits": len(hits),
            "listSha256": list_sha256,
        },
    )
    case = known.cases.get(customer_id)
    if decision == "clear":
        if case is None:
            return "allowed" if hits else "clear"
        _transition(session, case, CaseEvent.CLEARED, note=f"re-screened clear after {trigger}")
        customer.compliance_hold = False
        known.cases.pop(customer_id, None)
        return "resolved"
    if case is not None:
        case.hits = fresh
        case.screening_id = screening.id
        _timeline(case, "rescreened", f"still a potential match after {trigger}")
        return "case_updated"
    if customer.status == CustomerStatus.DELETING:
        return "deleting"
    now = clock.now()
    case = ComplianceCase(
        id=ids.new_id("COMPLIANCE_CASE"),
        customer_id=customer_id,
        partner_org_id=customer.partner_org_id,
        status=CaseStatus.OPEN,
        opened_at=now,
        deadline=now + timedelta(days=NONCOMPLIANCE_DAYS),
        screening_id=screening.id,
        hits=fresh,
        timeline=[],
        unreachable_attempts=0,
    )
    _timeline(case, "opened", f"{decision} (score {result.score:.2f}) after {trigger}")
    session.add(case)
    known.cases[customer_id] = case
    customer.compliance_hold = True  # R11: services stay active; the status reads pending_rpl_review
    events.record(
        session,
        subject_type="customer",
        subject_id=customer_id,
        action="compliance.case_opened",
        partner_org_id=customer.partner_org_id,
        data={"caseId": case.id, "decision": decision, "score": result.score},
    )
    return "case_opened"


RESCREEN_CHUNK = 100  # customers per step: one write transaction each, short enough not to hold requests up


def rescreen_chunk(
    session: Session, screener: Screener, after: str
) -> tuple[list[tuple[str, ScreeningResult]], str | None]:
    """Screen the next live customers by id after `after` that the lists in force have not screened yet
    (R10 after a list update); nothing is written. Returns (customer id, result) pairs and the last id
    looked at (None when there are no more)."""
    customers = list(
        session.scalars(
            sa.select(Customer)
            .where(Customer.deleted_at.is_(None), Customer.id > after)
            .order_by(Customer.id)
            .limit(RESCREEN_CHUNK)
        )
    )
    if not customers:
        return [], None
    # Those this list version already re-screened (a chunk redone after a crash) are not screened twice.
    done = set(
        session.scalars(
            sa.select(Screening.customer_id).where(
                Screening.customer_id.in_([c.id for c in customers]),
                Screening.trigger == "lists_updated",
                Screening.list_sha256 == screener.list_set.sha256,
            )
        )
    )
    return [(c.id, screener.screen(query_for(c))) for c in customers if c.id not in done], customers[-1].id


def record_rescreens(
    transaction: Callable[[], AbstractContextManager[Session]],
    results: list[tuple[str, ScreeningResult]],
    list_sha256: str,
) -> int:
    """Record a chunk's re-screenings after a list update (`record_batch`)."""
    return record_batch(transaction, [(cid, "lists_updated", result) for cid, result in results], list_sha256)


def screen_many(
    session: Session, screener: Screener, wanted: list[tuple[str, str]]
) -> tuple[list[tuple[str, str, ScreeningResult]], list[tuple[str, str]]]:
    """Screen these (customer id, trigger) pairs with one read of their customers; nothing is written. Returns the
    results and the pairs that could not be screened here (the screener raised on one), for a job of their own.
    A customer gone (deleted, or a tombstone) is left out: there is nothing to screen."""
    customers = {
        c.id: c
        for c in session.scalars(sa.select(Customer).where(Customer.id.in_(sorted({cid for cid, _ in wanted}))))
        if c.deleted_at is None
    }
    results: list[tuple[str, str, ScreeningResult]] = []
    failed: list[tuple[str, str]] = []
    for customer_id, trigger in wanted:
        customer = customers.get(customer_id)
        if customer is None:
            continue
        try:
            results.append((customer_id, trigger, screener.screen(query_for(customer))))
        except Exception:
            log.exception(
                "screening failed in its batch; handed to a job of its own",
                extra={"fields": {"customerId": customer_id}},
            )
            failed.append((customer_id, trigger))
    return results, failed


class RecordingFailed(Exception):
    """Recording one screening of a batch recorded `together` raised (`record_screenings`): the caller rolls the
    transaction back and records the batch again one by one, with this (customer id, trigger) handed to a job."""

    def __init__(self, pair: tuple[str, str], cause: BaseException) -> None:
        super().__init__(f"recording the screening of {pair[0]} ({pair[1]}) failed: {cause!r}")
        self.pair = pair


def record_screenings(
    session: Session,
    results: list[tuple[str, str, ScreeningResult]],
    list_sha256: str,
    unscreened: Sequence[tuple[str, str]] = (),
    *,
    together: bool = False,
) -> int:
    """Record screenings, (customer id, trigger, result) each, in one transaction: one whose recording fails gets a
    screening job of its own instead (R10: it cannot be skipped), and so does every pair in `unscreened`; the others
    keep theirs. Returns how many were recorded here.

    What they read is read for all of them at once (`_Known`). One by one (the default) each is recorded in a
    savepoint of its own. `together` is for a caller that can redo the transaction: no savepoints, the rows are
    flushed once and the audit rows and events written in one INSERT per table, and the first recording that
    raises stops it with RecordingFailed (`record_batch` does both)."""
    recorded = 0
    handed = list(unscreened)
    known = _Known.of(session, [cid for cid, _, _ in results] + [cid for cid, _ in handed])
    if together:
        with events.deferred(session), session.no_autoflush:
            for customer_id, trigger, result in results:
                try:
                    screen_customer(session, customer_id, trigger, result, list_sha256, known=known)
                except Exception as exc:
                    raise RecordingFailed((customer_id, trigger), exc) from exc
                recorded += 1
    else:
        for customer_id, trigger, result in results:
            try:
                with session.begin_nested():
                    screen_customer(session, customer_id, trigger, result, list_sha256, known=known)
                recorded += 1
            except Exception:
                log.exception(
                    "screening not recorded; handed to a job of its own", extra={"fields": {"customerId": customer_id}}
                )
                known = _Known.of(session, [cid for cid, _, _ in results])  # what the savepoint's rollback undid
                handed.append((customer_id, trigger))
    for customer_id, trigger in handed:
        customer = session.get(Customer, customer_id)
        if customer is not None and customer.deleted_at is None:
            request_screening(session, customer, trigger)
    return recorded


def record_batch(
    transaction: Callable[[], AbstractContextManager[Session]],
    results: list[tuple[str, str, ScreeningResult]],
    list_sha256: str,
    unscreened: Sequence[tuple[str, str]] = (),
) -> int:
    """Record a batch's screenings in a transaction of `transaction()`: together first, and when that fails, again
    one by one in a new transaction (a screening that raised is handed to a job of its own at once)."""
    try:
        with transaction() as session:
            return record_screenings(session, results, list_sha256, unscreened, together=True)
    except Exception as exc:
        log.info("screenings failed to record together; one by one", extra={"fields": {"error": repr(exc)}})
        failed = exc.pair if isinstance(exc, RecordingFailed) else None
        rest = [r for r in results if (r[0], r[1]) != failed]
        with transaction() as session:
            return record_screenings(session, rest, list_sha256, [*unscreened, *([failed] if failed else [])])


# ---------------------------------------------------------------------------------------------- cases


def open_case_of(session: Session, customer_id: str) -> ComplianceCase | None:
    """The customer's case that is still open (open or noncompliant), if any."""
    return session.scalars(
        sa.select(ComplianceCase).where(
            ComplianceCase.customer_id == customer_id, ComplianceCase.status.in_(list(OPEN_STATES))
        )
    ).first()


def noncompliant_among(session: Session, customer_ids: list[str]) -> set[str]:
    """Which of these customers a reviewer found non-compliant (their case still open as `noncompliant`): the API
    reads them `pending_rpl_review` like a customer under review (Cisco's statuses), people should not. One query."""
    if not customer_ids:
        return set()
    return set(
        session.scalars(
            sa.select(ComplianceCase.customer_id).where(
                ComplianceCase.customer_id.in_(customer_ids), ComplianceCase.status == CaseStatus.NONCOMPLIANT
            )
        )
    )


def _timeline(case: ComplianceCase, event: str, detail: str, **extra: Any) -> None:
    case.timeline = [
        *(case.timeline or []),
        {"at": clock.isoformat(clock.now()), "event": event, "detail": detail, "by": current_actor(), **extra},
    ]


def _transition(
    session: Session,
    case: ComplianceCase,
    event: CaseEvent,
    *,
    note: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Move a case on, with its timeline entry and an audit row (`before`/`after`: other fields the move changes)."""
    previous = case.status
    case.status = states.apply(case.status, event)
    if case.status not in OPEN_STATES:
        case.closed_at = clock.now()
    _timeline(case, event.value, note)
    events.record(
        session,
        subject_type="compliance_case",
        subject_id=case.id,
        action=f"compliance.{event.value}",
        partner_org_id=case.partner_org_id,
        data={"customerId": case.customer_id, "from": previous, "to": case.status, "note": note},
        before={"status": previous, **(before or {})},
        after={"status": case.status, **(after or {})},
    )


def _get_case(session: Session, case_id: str, *, for_update: bool = False) -> ComplianceCase:
    query = sa.select(ComplianceCase).where(ComplianceCase.id == case_id)
    if for_update:
        query = query.with_for_update()
    case = session.scalars(query).first()
    if case is None:
        raise NotFound(f"Compliance case {case_id} not found.")
    return case


def decide(session: Session, principal: Principal, case_id: str, decision: str, reason: str | None) -> ComplianceCase:
    """A reviewer's decision (R12): approve clears the customer; reject marks it non-compliant but does not
    deprovision by itself (R14 does, after 30 days or three failed contacts)."""
    if principal.role != Role.REVIEWER:
        raise Forbidden("Only compliance reviewers decide cases.")
    if decision not in ("approve", "reject"):
        raise BadRequest("decision: must be approve or reject.")
    if decision == "reject" and not (reason or "").strip():
        raise BadRequest("reason: is required when rejecting.")
    case = _get_case(session, case_id, for_update=True)
    event = CaseEvent.APPROVE if decision == "approve" else CaseEvent.REJECT
    _transition(
        session,
        case,
        event,
        note=reason or "",
        before={"decision": case.decision, "reason": case.reason, "decidedBy": case.decided_by},
        after={"decision": decision, "reason": reason, "decidedBy": principal.token_id},
    )
    if case.decided_at is None:
        case.decided_at = clock.now()
    case.decision = decision
    case.reason = reason
    case.decided_by = principal.token_id
    customer = session.get(Customer, case.customer_id)
    if decision == "approve":
        if customer is not None:
            customer.compliance_hold = False
        for hit in case.hits or []:
            session.merge(
                AllowListEntry(
                    customer_id=case.customer_id,
                    source=hit["source"],
                    entry_id=hit["entryId"],
                    list_sha256=hit["listVersion"],
                    case_id=case.id,
                    created=clock.now(),
                )
            )
        if case.hits:
            events.record(
                session,
                subject_type="compliance_case",
                subject_id=case.id,
                action="compliance.allow_listed",
                partner_org_id=case.partner_org_id,
                data={
                    "customerId": case.customer_id,
                    "entries": [
                        {"source": h["source"], "entryId": h["entryId"], "listVersion": h["listVersion"]}
                        for h in case.hits
                    ],
                },
            )
    return case


def add_contact_attempt(
    session: Session, principal: Principal, case_id: str, *, channel: str, outcome: str, note: str | None
) -> tuple[ComplianceCase, ContactAttempt]:
    """Record an attempt to reach the partner (R13); the third unreachable one deprovisions the customer (R14)."""
    if principal.role not in (Role.REVIEWER, Role.OPERATOR):
        raise Forbidden("Only the compliance team records contact attempts.")
    if outcome not in ("reached", "unreachable"):
        raise BadRequest("outcome: must be reached or unreachable.")
    if not channel.strip():
        raise BadRequest("channel: must not be empty (e.g. email, phone).")
    case = _get_case(session, case_id, for_update=True)
    if case.status not in OPEN_STATES:
        raise BadRequest(f"Case {case_id} is {case.status}; contact attempts are recorded on open cases only.")
    attempt = ContactAttempt(
        id=ids.new_id("CONTACT_ATTEMPT"),
        case_id=case.id,
        channel=channel.strip(),
        outcome=outcome,
        note=note,
        recorded_by=principal.token_id,
        at=clock.now(),
    )
    session.add(attempt)
    _timeline(case, "contact_attempt", f"{channel}: {outcome}")
    unreachable = case.unreachable_attempts
    if outcome == "unreachable":
        case.unreachable_attempts += 1
    events.record(
        session,
        subject_type="compliance_case",
        subject_id=case.id,
        action="compliance.contact_attempt",
        partner_org_id=case.partner_org_id,
        data={
            "customerId": case.customer_id,
            "attemptId": attempt.id,
            "channel": attempt.channel,
            "outcome": outcome,
            "note": note,
        },
        before={"unreachableAttempts": unreachable},
        after={"unreachableAttempts": case.unreachable_attempts},
    )
    if outcome == "unreachable" and case.unreachable_attempts >= MAX_UNREACHABLE:
        deprovision(
            session, case, reason=f"partner unreachable after {case.unreachable_attempts} contact attempts (R14)"
        )
    return case, attempt


def deprovision(session: Session, case: ComplianceCase, *, reason: str) -> None:
    """End a case by removing the customer and all its subscribers through the normal delete workflow (R14)."""
    _transition(session, case, CaseEvent.DEPROVISION, note=reason)
    customer = session.get(Customer, case.customer_id)
    if customer is not None and customer.deleted_at is None:
        request_deletion(session, customer, reason=f"compliance: {reason}")


def check_deadlines(session: Session) -> list[str]:
    """Deprovision every customer still non-compliant 30 days after its case opened (R14); returns the case ids."""
    cutoff = clock.now() - timedelta(days=NONCOMPLIANCE_DAYS)
    due = list(
        session.scalars(
            sa.select(ComplianceCase)
            .where(ComplianceCase.status.in_(list(OPEN_STATES)), ComplianceCase.opened_at <= cutoff)
            .with_for_update()
        )
    )
    for case in due:
        deprovision(session, case, reason=f"still non-compliant {NONCOMPLIANCE_DAYS} days after the case opened (R14)")
    warn_deadlines(session)
    return [c.id for c in due]


WARNING_DAYS = (7, 1)  # the partner hears of a coming R14 deadline this many days before it


def warn_deadlines(session: Session) -> list[tuple[str, int]]:
    """Tell the partner (an event) when an open case's R14 deadline is 7 and then 1 day away; once each, even when
    the sweep runs late (a case found 12 hours before its deadline gets only the 1-day warning)."""
    now = clock.now()
    cases = session.scalars(
        sa.select(ComplianceCase)
        .where(
            ComplianceCase.status.in_(list(OPEN_STATES)),
            ComplianceCase.deadline > now,
            ComplianceCase.deadline <= now + timedelta(days=max(WARNING_DAYS)),
        )
        .order_by(ComplianceCase.deadline, ComplianceCase.id)
        .with_for_update()
    )
    sent = []
    for case in cases:
        warned = {e.get("days") for e in case.timeline or [] if e.get("event") == "deadline_warning"}
        due = [d for d in WARNING_DAYS if case.deadline - now <= timedelta(days=d)]
        days = min(due)
        if days in warned:
            continue
        _timeline(case, "deadline_warning", f"{days} day(s) before the R14 deadline", days=days)
        events.record(
            session,
            subject_type="compliance_case",
            subject_id=case.id,
            action="compliance.deadline_warning",
            partner_org_id=case.partner_org_id,
            data={"customerId": case.customer_id, "daysLeft": days, "deadline": clock.isoformat(case.deadline)},
        )
        sent.append((case.id, days))
    return sent


# ---------------------------------------------------------------------------------------------- reads


def case_read(session: Session, case: ComplianceCase, *, details: bool) -> dict[str, Any]:
    """A case for reviewers (details: customer, address, hits with explanations, timeline)."""
    body: dict[str, Any] = {
        "id": case.id,
        "customerId": case.customer_id,
        "partnerOrgId": case.partner_org_id,
        "status": case.status,
        "openedAt": clock.isoformat(case.opened_at),
        "deadline": clock.isoformat(case.deadline),
        "decidedAt": clock.isoformat(case.decided_at),
        "decision": case.decision,
        "unreachableAttempts": case.unreachable_attempts,
        "closedAt": clock.isoformat(case.closed_at),
    }
    if details:
        customer = session.get(Customer, case.customer_id)
        if customer is not None:
            body["customer"] = {
                "name": customer.name,
                "externalId": customer.external_id,
                "address": address_of(customer),
            }
        body["hits"] = case.hits
        body["reason"] = case.reason
        body["timeline"] = case.timeline
        body["contactAttempts"] = [
            {"channel": a.channel, "outcome": a.outcome, "note": a.note, "at": clock.isoformat(a.at)}
            for a in session.scalars(
                sa.select(ContactAttempt)
                .where(ContactAttempt.case_id == case.id)
                .order_by(ContactAttempt.at, ContactAttempt.id)
            )
        ]
    return {k: v for k, v in body.items() if v is not None}


def _require_team(principal: Principal) -> None:
    if principal.role not in (Role.REVIEWER, Role.OPERATOR):
        raise Forbidden("Compliance cases are for the compliance team.")


def list_cases(
    session: Session,
    principal: Principal,
    *,
    status: str | None,
    customer_id: str | None,
    min_age_hours: float | None,
    limit: int,
) -> list[dict[str, Any]]:
    """List cases, oldest first (the review queue)."""
    _require_team(principal)
    query = sa.select(ComplianceCase)
    if status:
        statuses = [s.strip() for s in status.split(",") if s.strip()]
        unknown = [s for s in statuses if s not in {c.value for c in CaseStatus}]
        if unknown:
            raise BadRequest(f"status: unknown {', '.join(unknown)}; use {', '.join(c.value for c in CaseStatus)}.")
        query = query.where(ComplianceCase.status.in_(statuses))
    if customer_id:
        query = query.where(ComplianceCase.customer_id == customer_id)
    if min_age_hours is not None:
        query = query.where(ComplianceCase.opened_at <= clock.now() - timedelta(hours=min_age_hours))
    rows = session.scalars(query.order_by(ComplianceCase.opened_at, ComplianceCase.id).limit(limit))
    return [case_read(session, c, details=False) for c in rows]


def get_case(session: Session, principal: Principal, case_id: str) -> dict[str, Any]:
    """One case with its explanations and timeline."""
    _require_team(principal)
    return case_read(session, _get_case(session, case_id), details=True)


def review_queue(session: Session, principal: Principal, *, status: str | None, limit: int) -> dict[str, Any]:
    """The reviewers' queue page in two queries whatever its length: the cases, oldest first, each with its
    customer's name and country and its strongest hit, and how many cases have that status in all."""
    _require_team(principal)
    statuses = [s.strip() for s in (status or "").split(",") if s.strip()]
    unknown = [s for s in statuses if s not in {c.value for c in CaseStatus}]
    if unknown:
        raise BadRequest(f"status: unknown {', '.join(unknown)}; use {', '.join(c.value for c in CaseStatus)}.")
    where = [ComplianceCase.status.in_(statuses)] if statuses else []
    rows = session.execute(
        sa.select(
            ComplianceCase.id,
            ComplianceCase.customer_id,
            ComplianceCase.status,
            ComplianceCase.opened_at,
            ComplianceCase.decided_at,
            ComplianceCase.closed_at,
            ComplianceCase.deadline,
            ComplianceCase.unreachable_attempts,
            ComplianceCase.hits,
            Customer.name,
            Customer.external_id,
            Customer.country,
        )
        .outerjoin(Customer, Customer.id == ComplianceCase.customer_id)
        .where(*where)
        .order_by(ComplianceCase.opened_at, ComplianceCase.id)
        .limit(limit)
    ).all()
    total = session.scalar(sa.select(sa.func.count()).select_from(ComplianceCase).where(*where)) or 0
    items = []
    for r in rows:
        top = max(r.hits or [], key=lambda h: h.get("score", 0), default=None)
        items.append(
            {
                "id": r.id,
                "customerId": r.customer_id,
                "status": r.status,
                "openedAt": clock.isoformat(r.opened_at),
                "decidedAt": clock.isoformat(r.decided_at),
                "closedAt": clock.isoformat(r.closed_at),
                "deadline": clock.isoformat(r.deadline),
                "unreachableAttempts": r.unreachable_attempts,
                "customerName": r.name or r.external_id or r.customer_id,
                "country": r.country,
                "countryName": evidence.country_name(r.country),
                "topHit": (
                    {"name": top["name"], "list": evidence.LIST_NAMES.get(top["source"], (top["source"],))[0]}
                    if top
                    else None
                ),
                "hitCount": len(r.hits or []),
            }
        )
    return {"items": items, "total": total}


def case_evidence(session: Session, principal: Principal, case_id: str) -> dict[str, Any]:
    """One case for the reviewers' page: the case as the API reads it, the customer's data beside each listed entry
    it resembles (names and aliases, addresses, programs, list and list date) with what agrees and what differs,
    why it was flagged in words, and the timeline in words."""
    _require_team(principal)
    case = _get_case(session, case_id)
    body = case_read(session, case, details=True)
    customer = session.get(Customer, case.customer_id)
    body["customerFacts"] = evidence.customer_facts(customer)
    body["evidence"] = evidence.evidence(session, customer, list(case.hits or []))
    body["timelineWords"] = [
        {"at": t.get("at"), "what": evidence.timeline_words(t)} for t in body.get("timeline") or []
    ]
    return body


def decision_times(session: Session, principal: Principal, *, limit: int = 60) -> dict[str, Any]:
    """The most recent decided cases, oldest of them first, each with the minutes from opened to its first decision
    (R12), and a summary of those: median, 90th percentile, and the share within 15 and within 60 minutes."""
    _require_team(principal)
    rows = session.execute(
        sa.select(
            ComplianceCase.id,
            ComplianceCase.opened_at,
            ComplianceCase.decided_at,
            ComplianceCase.decision,
            Customer.name,
        )
        .outerjoin(Customer, Customer.id == ComplianceCase.customer_id)
        .where(ComplianceCase.decided_at.is_not(None))
        .order_by(ComplianceCase.decided_at.desc(), ComplianceCase.id)
        .limit(limit)
    ).all()
    cases = [
        {
            "id": r.id,
            "customerName": r.name or "",
            "decision": r.decision,
            "decidedAt": clock.isoformat(r.decided_at),
            "minutes": (r.decided_at - r.opened_at).total_seconds() / 60,
        }
        for r in reversed(rows)
        if r.decided_at is not None
    ]
    minutes = sorted(c["minutes"] for c in cases)

    def quantile(q: float) -> float | None:
        if not minutes:
            return None
        if len(minutes) == 1:
            return minutes[0]
        return statistics.quantiles(minutes, n=100, method="inclusive")[int(q * 100) - 1]

    return {
        "cases": cases,
        "count": len(cases),
        "median": quantile(0.5),
        "p90": quantile(0.9),
        "within15": (sum(m <= 15 for m in minutes) / len(minutes)) if minutes else None,
        "within60": (sum(m <= 60 for m in minutes) / len(minutes)) if minutes else None,
        "stats": stats(session),
    }


def customer_status(session: Session, tenant: Tenant, customer_id: str) -> dict[str, Any]:
    """What a partner may know of its customer: whether a case is open, its status and deadline; never the entries."""
    customer = owned_customer(session, tenant, customer_id)
    case = (
        open_case_of(session, customer.id)
        or session.scalars(
            sa.select(ComplianceCase)
            .where(ComplianceCase.customer_id == customer.id)
            .order_by(ComplianceCase.opened_at.desc())
            .limit(1)
        ).first()
    )
    last = session.scalars(
        sa.select(Screening).where(Screening.customer_id == customer.id).order_by(Screening.created.desc()).limit(1)
    ).first()
    body: dict[str, Any] = {
        "customerId": customer.id,
        "screened": last is not None,
        "lastScreenedAt": clock.isoformat(last.created) if last else None,
        "compliant": not (case and case.status in OPEN_STATES),
    }
    if case is not None:
        body["case"] = {
            "id": case.id,
            "status": case.status,
            "openedAt": clock.isoformat(case.opened_at),
            "deadline": clock.isoformat(case.deadline) if case.status in OPEN_STATES else None,
            "closedAt": clock.isoformat(case.closed_at),
        }
        body["case"] = {k: v for k, v in body["case"].items() if v is not None}
    return {k: v for k, v in body.items() if v is not None}


def stats(session: Session) -> dict[str, Any]:
    """R12: time from case open to first decision (p50/p90) and the share decided within 15 and 60 minutes."""
    rows = session.execute(
        sa.select(ComplianceCase.opened_at, ComplianceCase.decided_at).where(ComplianceCase.decided_at.is_not(None))
    ).all()
    # `decided is not None` repeats the query's filter for the type checker.
    waits = sorted((decided - opened).total_seconds() for opened, decided in rows if decided is not None)
    # Awaiting a decision (what the review queue shows), and decided non-compliant but not yet resolved (R14).
    counts = dict(
        session.execute(
            sa.select(ComplianceCase.status, sa.func.count())
            .where(ComplianceCase.status.in_(list(OPEN_STATES)))
            .group_by(ComplianceCase.status)
        ).all()
    )

    def quantile(q: float) -> float | None:
        if not waits:
            return None
        if len(waits) == 1:
            return waits[0]
        return statistics.quantiles(waits, n=100, method="inclusive")[int(q * 100) - 1]

    return {
        "decidedCases": len(waits),
        "openCases": counts.get(CaseStatus.OPEN, 0),
        "noncompliantCases": counts.get(CaseStatus.NONCOMPLIANT, 0),
        "timeToDecisionSeconds": {"p50": quantile(0.5), "p90": quantile(0.9)},
        "decidedWithin15Minutes": (sum(w <= 900 for w in waits) / len(waits)) if waits else None,
        "decidedWithin60Minutes": (sum(w <= 3600 for w in waits) / len(waits)) if waits else None,
    }


def screen_one(session: Session, principal: Principal, query: dict[str, Any]) -> dict[str, Any]:
    """Screen one name ad hoc (operators and reviewers), with the same shapes as `wholesale screen`."""
    _require_team(principal)
    screener = lists.get_screener(session)
    return screener.screen(ScreeningQuery.from_dict(query)).to_dict()


def load_lists(session: Session, paths: list[str]) -> dict[str, Any]:
    """Store a new list set (refused whole on a bad file) and enqueue a re-screen of every customer with it."""
    row = lists.store_list_set(session, paths)
    enqueue(session, "compliance.rescreen_all", row.id, key=f"compliance.rescreen_all:{row.id}")
    return {"id": row.id, "sha256": row.sha256, "entries": row.entry_count, "versions": row.versions}
