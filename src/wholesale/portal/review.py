"""The reviewers' side: the case queue, a case with its evidence, decisions and contact attempts, stats."""

import logging
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from wholesale.compliance import service as compliance
from wholesale.identity.schemas import Principal
from wholesale.kit import clock
from wholesale.kit.errors import DomainError
from wholesale.kit.http import SessionDep, UnitOfWorkRoute
from wholesale.portal.web import (
    CASE_STATUSES,
    CONTACT_CHANNELS,
    TARGET_MINUTES,
    Form,
    check_csrf,
    confirmation,
    field_errors,
    minutes_since,
    page,
    render,
    reviewer,
)

log = logging.getLogger("wholesale.portal")
router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


QUEUE_LIMIT = 50  # cases on the queue page; the rest wait their turn (oldest first)
QUEUE_REFRESH_SECONDS = 5
CHART_CASES = 60  # recent decisions on the stats page's chart


def _ago(minutes: float) -> str:
    """'just now', '12 min ago', '3 h ago', '2 days ago'."""
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{int(minutes)} min ago"
    if minutes < 48 * 60:
        return f"{int(minutes // 60)} h ago"
    return f"{int(minutes // (24 * 60))} days ago"


def _span(minutes: float) -> str:
    """'12 min', '3 h 5 min', '2 days 4 h'."""
    whole = int(minutes)
    if whole < 60:
        return f"{whole} min"
    if whole < 48 * 60:
        return f"{whole // 60} h {whole % 60} min"
    return f"{whole // (24 * 60)} days {whole % (24 * 60) // 60} h"


def _age(case: dict[str, Any]) -> dict[str, Any]:
    """How long a case has waited for a decision and how that compares with the 15/60-minute targets."""
    opened = minutes_since(case.get("openedAt")) or 0.0
    if case.get("decidedAt") or case.get("closedAt"):
        return {
            "minutes": None,
            "label": "decided" if case.get("decidedAt") else "closed",
            "level": "ok",
            "ago": _ago(opened),
        }
    minutes = opened
    first, last = TARGET_MINUTES
    if minutes <= first:
        label, level = f"within {first}-minute target", "ok"
    elif minutes <= last:
        label, level = f"past {first}-minute target", "warn"
    else:
        label, level = f"past {last}-minute target", "bad"
    return {"minutes": minutes, "label": label, "level": level, "ago": _ago(minutes), "waited": _span(minutes)}


def _queue(request: Request, session: SessionDep, status: str, template: str) -> Response:
    principal = reviewer(request)
    queue = compliance.review_queue(session, principal, status=status or None, limit=QUEUE_LIMIT)
    cases = [c | {"age": _age(c)} for c in queue["items"]]
    return render(
        request,
        template,
        cases=cases,
        total=queue["total"],
        status=status,
        statuses=CASE_STATUSES,
        refresh=QUEUE_REFRESH_SECONDS,
        refreshed=clock.now(),
        targets=TARGET_MINUTES,
    )


@router.get("/review")
@page
def review_queue(request: Request, session: SessionDep, status: str = "open") -> Response:
    """The review queue, oldest first, with each case's age against the 15/60-minute targets; its table refreshes
    itself (htmx polls /review/rows with the same filter)."""
    return _queue(request, session, status, "review_queue.html")


@router.get("/review/rows")
@page
def review_rows(request: Request, session: SessionDep, status: str = "open") -> Response:
    """htmx fragment: the queue's table, polled every few seconds by the queue page."""
    return _queue(request, session, status, "_review_rows.html")


@router.get("/review/stats")
@page
def review_stats(request: Request, session: SessionDep) -> Response:
    """Time to decision of recent cases against the 15/60-minute targets (a chart), and the totals."""
    principal = reviewer(request)
    times = compliance.decision_times(session, principal, limit=CHART_CASES)
    return render(request, "review_stats.html", times=times, stats=times["stats"], targets=TARGET_MINUTES)


def _case_name(case: dict[str, Any]) -> str:
    return str((case.get("customer") or {}).get("name") or case.get("customerId") or "this customer")


def _case_page(
    request: Request, session: SessionDep, principal: Principal, case_id: str, status_code: int = 200, **extra: Any
) -> Response:
    case = compliance.case_evidence(session, principal, case_id)
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
    check_csrf(request, form)
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
    check_csrf(request, form)
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
