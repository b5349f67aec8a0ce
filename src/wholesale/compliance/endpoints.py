"""The compliance team's API (cases, decisions, contact attempts, stats, ad-hoc screening) and the partner's view."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from wholesale.compliance import service
from wholesale.compliance.schemas import (
    CaseListOut,
    CaseOut,
    ContactAttemptIn,
    CustomerComplianceOut,
    DecisionIn,
    ScreeningIn,
    ScreeningOut,
    StatsOut,
)
from wholesale.identity.auth import require
from wholesale.identity.roles import Scope
from wholesale.identity.schemas import Principal
from wholesale.kit.http import SessionDep, UnitOfWorkRoute
from wholesale.kit.schemas import ERROR_RESPONSES
from wholesale.partners.tenancy import Tenant, acting

router = APIRouter(prefix="/v1/compliance", tags=["Compliance"], route_class=UnitOfWorkRoute, responses=ERROR_RESPONSES)
partner_router = APIRouter(
    prefix="/v1/wholesale", tags=["Wholesale Provisioning"], route_class=UnitOfWorkRoute, responses=ERROR_RESPONSES
)
Team = Annotated[Principal, Depends(require(Scope.COMPLIANCE_REVIEW))]


# Fields the service leaves out (a case not yet decided has no decidedAt) stay absent rather than null.
@router.get("/cases", response_model_exclude_unset=True)
def list_cases(
    session: SessionDep,
    principal: Team,
    status: str | None = None,
    customerId: str | None = None,
    minAgeHours: Annotated[float | None, Query(ge=0, le=100_000)] = None,
    max: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> CaseListOut:
    """The review queue, oldest first (filters: status, customerId, minimum age)."""
    items = service.list_cases(
        session, principal, status=status, customer_id=customerId, min_age_hours=minAgeHours, limit=max
    )
    return CaseListOut.model_validate({"items": items})


@router.get("/cases/{caseId}", response_model_exclude_unset=True)
def get_case(caseId: str, session: SessionDep, principal: Team) -> CaseOut:
    """A case: customer, address, hits with their explanations, timeline and contact attempts."""
    return CaseOut.model_validate(service.get_case(session, principal, caseId))


@router.post("/cases/{caseId}/decision", response_model_exclude_unset=True)
def decide(caseId: str, body: DecisionIn, session: SessionDep, principal: Team) -> CaseOut:
    """Approve (no issue) or reject (confirmed issue) a case; reviewers only."""
    case = service.decide(session, principal, caseId, body.decision, body.reason)
    return CaseOut.model_validate(service.case_read(session, case, details=True))


@router.post("/cases/{caseId}/contactAttempts", status_code=201, response_model_exclude_unset=True)
def add_contact_attempt(caseId: str, body: ContactAttemptIn, session: SessionDep, principal: Team) -> CaseOut:
    """Record an attempt to reach the partner; the third unreachable one deprovisions the customer (R14)."""
    case, _attempt = service.add_contact_attempt(
        session, principal, caseId, channel=body.channel, outcome=body.outcome, note=body.note
    )
    return CaseOut.model_validate(service.case_read(session, case, details=True))


@router.get("/stats")
def stats(session: SessionDep, _principal: Team) -> StatsOut:
    """Time from case open to decision and the share decided within 15 and 60 minutes (R12)."""
    return StatsOut.model_validate(service.stats(session))


@router.post("/screenings")
def screen(body: ScreeningIn, session: SessionDep, principal: Team) -> ScreeningOut:
    """Screen one name against the lists in force (the `wholesale screen` shapes)."""
    return ScreeningOut.model_validate(service.screen_one(session, principal, body.model_dump()))


@partner_router.get("/customers/{customerId}/compliance", response_model_exclude_unset=True)
def customer_compliance(
    customerId: str,
    session: SessionDep,
    tenant: Annotated[Tenant, Depends(acting(Scope.CUSTOMERS_READ))],
) -> CustomerComplianceOut:
    """A customer's compliance status and deadline, for its partner (never the list entries)."""
    return CustomerComplianceOut.model_validate(service.customer_status(session, tenant, customerId))
