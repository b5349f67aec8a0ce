"""Compliance API shapes."""

from typing import Literal

from pydantic import Field

from wholesale.customers.schemas import AddressOut
from wholesale.kit.schemas import RequestModel, ResponseModel


class DecisionIn(RequestModel):
    """A reviewer's decision on a case."""

    decision: Literal["approve", "reject"]
    reason: str | None = Field(default=None, max_length=4000)


class ContactAttemptIn(RequestModel):
    """An attempt to reach the partner (R13)."""

    channel: str = Field(min_length=1, max_length=40)
    outcome: Literal["reached", "unreachable"]
    note: str | None = Field(default=None, max_length=4000)


class ScreeningIn(RequestModel):
    """One ad-hoc screening query (the `wholesale screen` JSON line shape)."""

    id: str = Field(default="query", max_length=200)
    name: str = Field(min_length=1, max_length=500)
    country: str | None = Field(default=None, max_length=2)
    city: str | None = Field(default=None, max_length=200)
    postalCode: str | None = Field(default=None, max_length=40)


# ---------------------------------------------------------------------------------------------- responses
# Optional fields the service leaves out are absent on the wire (the endpoints use response_model_exclude_unset).

CaseStatusOut = Literal["open", "noncompliant", "approved", "resolved", "deprovisioned"]


class HitOut(ResponseModel):
    """One list entry that resembles the screened name, with the reasons (never shown to partners)."""

    source: str
    entryId: str
    name: str
    score: float
    matchedVariant: str
    entityType: str
    features: dict[str, float]
    listVersion: str
    # The reasons in words ("3 of 4 listed words equal, 1 close spelling (...); country matches ..."); absent on
    # hits recorded before explanations existed.
    explanation: str | None = None


class TimelineEntryOut(ResponseModel):
    """One event in a case's history."""

    at: str
    event: str
    detail: str
    by: str
    days: int | None = Field(default=None, description="deadline_warning: days left before the R14 deadline.")


class ContactAttemptOut(ResponseModel):
    """An attempt to reach the partner, as recorded."""

    channel: str
    outcome: Literal["reached", "unreachable"]
    note: str | None
    at: str


class CaseCustomerOut(ResponseModel):
    """The screened customer as a reviewer sees it."""

    name: str | None
    externalId: str
    address: AddressOut


class CaseOut(ResponseModel):
    """A compliance case; the details (customer, hits, reason, timeline, contact attempts) only when read alone."""

    id: str
    customerId: str
    partnerOrgId: str
    status: CaseStatusOut
    openedAt: str
    deadline: str
    decidedAt: str | None = None
    decision: Literal["approve", "reject"] | None = None
    unreachableAttempts: int
    closedAt: str | None = None
    customer: CaseCustomerOut | None = None
    hits: list[HitOut] | None = None
    reason: str | None = None
    timeline: list[TimelineEntryOut] | None = None
    contactAttempts: list[ContactAttemptOut] | None = None


class CaseListOut(ResponseModel):
    """GET /v1/compliance/cases: the review queue, oldest first."""

    items: list[CaseOut]


class TimeToDecisionOut(ResponseModel):
    """Seconds from case open to decision (null until a case is decided)."""

    p50: float | None
    p90: float | None


class StatsOut(ResponseModel):
    """GET /v1/compliance/stats (R12)."""

    decidedCases: int
    # Awaiting a decision: the review queue's cases.
    openCases: int
    # Rejected (non-compliant) and not yet resolved: deprovisioned at the deadline unless settled first (R14).
    noncompliantCases: int
    timeToDecisionSeconds: TimeToDecisionOut
    decidedWithin15Minutes: float | None
    decidedWithin60Minutes: float | None


class ScreeningOut(ResponseModel):
    """An ad-hoc screening result (the `wholesale screen` JSON line shape)."""

    id: str
    decision: Literal["clear", "review", "match"]
    score: float
    hits: list[HitOut]


class CustomerCaseOut(ResponseModel):
    """The case a partner may know of: status and deadline, never the list entries."""

    id: str
    status: CaseStatusOut
    openedAt: str
    deadline: str | None = None
    closedAt: str | None = None


class CustomerComplianceOut(ResponseModel):
    """GET /v1/wholesale/customers/{customerId}/compliance."""

    customerId: str
    screened: bool
    lastScreenedAt: str | None = None
    compliant: bool
    case: CustomerCaseOut | None = None
