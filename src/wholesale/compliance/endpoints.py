"""The compliance team's API (cases, decisions, contact attempts, stats, ad-hoc screening) and the partner's view."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.responses import JSONResponse

from wholesale.compliance import service
from wholesale.compliance.schemas import ContactAttemptIn, DecisionIn, ScreeningIn
from wholesale.identity.auth import require
from wholesale.identity.roles import Scope
from wholesale.identity.schemas import Principal
from wholesale.kit.http import SessionDep, UnitOfWorkRoute
from wholesale.partners.tenancy import Tenant, acting

router = APIRouter(prefix="/v1/compliance", tags=["Compliance"], route_class=UnitOfWorkRoute)
partner_router = APIRouter(prefix="/v1/wholesale", tags=["Wholesale Provisioning"], route_class=UnitOfWorkRoute)
Team = Annotated[Principal, Depends(require(Scope.COMPLIANCE_REVIEW))]


@router.get("/cases")
def list_cases(
    session: SessionDep,
    principal: Team,
    status: str | None = None,
    customerId: str | None = None,
    minAgeHours: Annotated[float | None, Query(ge=0, le=100_000)] = None,
    max: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JSONResponse:
    """The review queue, oldest first (filters: status, customerId, minimum age)."""
    items = service.list_cases(
        session, principal, status=status, customer_id=customerId, min_age_hours=minAgeHours, limit=max
    )
    return JSONResponse({"items": items})


@router.get("/cases/{caseId}")
def get_case(caseId: str, session: SessionDep, principal: Team) -> JSONResponse:
    """A case: customer, address, hits with their explanations, timeline and contact attempts."""
    return JSONResponse(service.get_case(session, principal, caseId))


@router.post("/cases/{caseId}/decision")
def decide(caseId: str, body: DecisionIn, session: SessionDep, principal: Team) -> JSONResponse:
    """Approve (no issue) or reject (confirmed issue) a case; reviewers only."""
    case = service.decide(session, principal, caseId, body.decision, body.reason)
    return JSONResponse(service.case_read(session, case, details=True))


@router.post("/cases/{caseId}/contactAttempts", status_code=201)
def add_contact_attempt(caseId: str, body: ContactAttemptIn, session: SessionDep, principal: Team) -> JSONResponse:
    """Record an attempt to reach the partner; the third unreachable one deprovisions the customer (R14)."""
    case, _attempt = service.add_contact_attempt(
        session, principal, caseId, channel=body.channel, outcome=body.outcome, note=body.note
    )
    return JSONResponse(service.case_read(session, case, details=True), status_code=201)


@router.get("/stats")
def stats(session: SessionDep, _principal: Team) -> JSONResponse:
    """Time from case open to decision and the share decided within 15 and 60 minutes (R12)."""
    return JSONResponse(service.stats(session))


@router.post("/screenings")
def screen(body: ScreeningIn, session: SessionDep, principal: Team) -> JSONResponse:
    """Screen one name against the lists in force (the `wholesale screen` shapes)."""
    return JSONResponse(service.screen_one(session, principal, body.model_dump()))


@partner_router.get("/customers/{customerId}/compliance")
def customer_compliance(
    customerId: str,
    session: SessionDep,
    tenant: Annotated[Tenant, Depends(acting(Scope.CUSTOMERS_READ))],
) -> JSONResponse:
    """A customer's compliance status and deadline, for its partner (never the list entries)."""
    return JSONResponse(service.customer_status(session, tenant, customerId))
