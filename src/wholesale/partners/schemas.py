"""Partner API shapes (the spec's SubPartner)."""

from typing import Literal

from wholesale.kit.schemas import ResponseModel


class SubPartnerRead(ResponseModel):
    """A sub-partner as GET /v1/wholesale/subPartners lists it."""

    orgId: str
    subscriptionId: str
    provisioningState: Literal["active", "suspended"]
    created: str
    billingStartDate: str


class SubPartnerList(ResponseModel):
    """The list body: `items` (what wxc_sdk reads; the spec's example says subPartners, see docs/API_DECISIONS.md)."""

    items: list[SubPartnerRead]
