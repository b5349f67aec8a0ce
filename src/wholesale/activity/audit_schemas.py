"""The audit log's wire shapes (GET /v1/auditEvents)."""

from typing import Any

from pydantic import Field

from wholesale.kit.schemas import ResponseModel


class AuditEventOut(ResponseModel):
    """One audit row: who did what to which target, when, and (where the writer knew them) the changed fields."""

    id: str = Field(description="The row's id; newer rows have larger ids. Pass the last one as `before` to page on.")
    created: str = Field(description="When it happened (ISO-8601, UTC, milliseconds).")
    actorId: str = Field(
        description="Who: token:<id> (API), portal:<token id> (portal), job:<name>, cli:<command>, user:<id>, system."
    )
    actorRole: str | None = Field(
        None, description="partner-admin, operator, reviewer, customer-admin, job or cli, when known."
    )
    actorOrgId: str | None = Field(None, description="The org the actor belongs to, when known.")
    orgId: str | None = Field(None, description="The partner org the row belongs to; none for platform-wide rows.")
    action: str = Field(description="What happened, e.g. customer.created, compliance.approve, token.revoked.")
    targetType: str = Field(description="customer, subscriber, compliance_case, template, token, ...")
    targetId: str = Field(description="The target's id.")
    data: dict[str, Any] = Field(
        description="Details of the change. Partners see a compliance row only as their event feed shows it."
    )
    before: dict[str, Any] | None = Field(None, description="The changed fields as they were.")
    after: dict[str, Any] | None = Field(None, description="The changed fields as they became.")
    trackingId: str | None = Field(None, description="The request's TrackingID, or the job's workflow id.")


class AuditEventList(ResponseModel):
    """A page of the audit log, newest first; the `Link` header (rel="next") names the next page."""

    items: list[AuditEventOut]
