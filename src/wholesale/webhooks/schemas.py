"""Webhook shapes: Webex's `Webhook` (POST/GET/PUT /v1/webhooks) and our deliveries."""

from typing import Literal

from pydantic import Field

from wholesale.kit.schemas import RequestModel, ResponseModel

Resource = Literal["customers", "subscribers", "compliance", "billingReports", "bulkImports", "webhooks", "all"]
EventName = Literal["created", "updated", "deleted", "all"]
Status = Literal["active", "inactive"]
DeliveryStatus = Literal["delivered", "failed", "pending"]

FILTER_HELP = (
    "Deliver only events whose `data` matches: `key=value` pairs joined by `&` (all must match; a list matches "
    "when one of its items does; `type` and `eventId` are keys too), e.g. `type=customer.settled&status=provisioned`."
)


class WebhookCreate(RequestModel):
    """POST /v1/webhooks."""

    name: str = Field(min_length=1, max_length=128, description="A name of your choosing.")
    targetUrl: str = Field(min_length=1, max_length=2048, description="Where events are POSTed: https, public.")
    resource: Resource = Field(description="Which resource's events (or `all`).")
    event: EventName = Field(description="Which kind of change (or `all`).")
    filter: str | None = Field(default=None, max_length=1000, description=FILTER_HELP)
    secret: str | None = Field(
        default=None,
        max_length=256,
        description="Signs every delivery (X-Spark-Signature, X-Wholesale-Signature-256); never shown again.",
    )
    ownedBy: Literal["creator"] | None = Field(default=None, description="Only `creator` (the default).")


class WebhookUpdate(RequestModel):
    """PUT /v1/webhooks/{id}: name and targetUrl as Webex requires; secret and status optional. Resource, event and
    filter cannot change (create another webhook); sent unchanged they are accepted."""

    name: str = Field(min_length=1, max_length=128)
    targetUrl: str = Field(min_length=1, max_length=2048)
    secret: str | None = Field(default=None, max_length=256, description="A new secret; empty removes it.")
    status: Status | None = Field(default=None, description="`inactive` stops deliveries, `active` resumes them.")
    ownedBy: Literal["creator"] | None = None
    resource: Resource | None = None
    event: EventName | None = None
    filter: str | None = Field(default=None, max_length=1000)


class WebhookOut(ResponseModel):
    """A webhook (`Webhook`); its secret is never shown."""

    id: str
    name: str
    targetUrl: str
    resource: Resource
    event: EventName
    filter: str | None = None
    orgId: str = Field(description="The partner org whose events it receives.")
    createdBy: str
    appId: str
    ownedBy: Literal["creator"]
    status: Status
    created: str


class WebhookListOut(ResponseModel):
    """`{"items": [Webhook...]}` (paged by `Link` headers)."""

    items: list[WebhookOut]


class DeliveryOut(ResponseModel):
    """One POST of one event to the webhook."""

    id: str
    eventId: str = Field(description="The event's id (also sent as X-Wholesale-Event-Id).")
    type: str = Field(description="The event's type, e.g. customer.settled.")
    attempt: int = Field(description="Which attempt at this event this was, counting redeliveries.")
    status: DeliveryStatus
    statusCode: int | None = Field(default=None, description="The receiver's HTTP status, when it answered.")
    error: str | None = Field(default=None, description="Why it failed.")
    durationMs: int | None = None
    redeliveryOf: str | None = Field(default=None, description="The delivery a redelivery request repeated.")
    created: str


class DeliveryListOut(ResponseModel):
    """`{"items": [Delivery...]}`, newest first (paged by `Link` headers)."""

    items: list[DeliveryOut]
