"""The event feed's wire shapes."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventOut(BaseModel):
    """One event of the partner's feed (the `data` a webhook delivery carries too)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The event's id; stable, so a receiver can drop a repeat.")
    resource: str = Field(description="customers, subscribers, compliance, billingReports, bulkImports or webhooks.")
    event: str = Field(description="created, updated or deleted.")
    type: str = Field(description="What exactly happened, e.g. customer.settled, compliance.deprovision.")
    created: str = Field(description="When it happened (ISO-8601, UTC).")
    orgId: str = Field(description="The partner org the event belongs to.")
    actorId: str = Field(description="Who made the change: a token, a job or the platform.")
    trackingId: str | None = None
    data: dict[str, Any] = Field(description="The changed resource's id and what the partner may see of the change.")


class EventPage(BaseModel):
    """A page of the feed: pass `cursor` as `after` to read on; it is the same when nothing new has committed."""

    items: list[EventOut]
    cursor: str
