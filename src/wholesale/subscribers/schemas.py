"""Subscriber API shapes, field for field as in the Webex Wholesale spec (unknown fields are ignored)."""

from typing import Literal

from pydantic import Field

from wholesale.customers.schemas import ErrorOut
from wholesale.kit.schemas import RequestModel, ResponseModel
from wholesale.packages.catalog import SubscriberPackage

# The deprecated single `package` of POST and validate takes only the first six values (the PUT takes all nine).
LegacyPackage = Literal[
    "webex_calling", "webex_meetings", "webex_suite", "webex_voice", "cx_essentials", "webex_calling_standard"
]
MAX_BULK_ROWS = 1000


class SubscriberProvisioningParametersIn(RequestModel):
    """Person and calling details of a new subscriber."""

    firstName: str | None = Field(default=None, max_length=200)
    lastName: str | None = Field(default=None, max_length=200)
    primaryPhoneNumber: str | None = None
    extension: str | None = None
    locationId: str | None = None


class SubscriberCreate(RequestModel):
    """POST /v1/wholesale/subscribers."""

    customerId: str
    email: str
    package: LegacyPackage | None = None
    packages: list[SubscriberPackage] | None = None
    provisioningParameters: SubscriberProvisioningParametersIn
    # Not in the spec: make the subscriber an administrator of the customer (R5: it gets the customer's tier package).
    administrator: bool = False


class CallingParametersIn(RequestModel):
    """Calling details given when a subscriber moves to a calling-enabled package."""

    primaryPhoneNumber: str | None = None
    extension: str | None = None
    locationId: str | None = None


class SubscriberUpdate(RequestModel):
    """PUT /v1/wholesale/subscribers/{subscriberId}: the one package the subscriber should hold."""

    package: SubscriberPackage | None = None
    packages: list[SubscriberPackage] | None = None
    provisioningParameters: CallingParametersIn | None = None


class SubscriberPrecheckCustomerInfoIn(RequestModel):
    """customerInfo of a subscriber precheck."""

    primaryEmail: str


class SubscriberValidate(RequestModel):
    """POST /v1/wholesale/subscribers/validate: like the create body, with the package and customer optional."""

    email: str
    provisioningId: str | None = None
    customerId: str | None = None
    package: LegacyPackage | None = None
    packages: list[SubscriberPackage] | None = None
    provisioningParameters: SubscriberProvisioningParametersIn | None = None
    customerInfo: SubscriberPrecheckCustomerInfoIn | None = None


class BulkRowIn(RequestModel):
    """One row of a bulk import (the CSV header's columns)."""

    email: str
    firstName: str | None = None
    lastName: str | None = None
    package: SubscriberPackage
    primaryPhoneNumber: str | None = None
    extension: str | None = None


class BulkImportCreate(RequestModel):
    """POST /v1/wholesale/subscribers/bulk."""

    customerId: str
    rows: list[BulkRowIn] = Field(min_length=1, max_length=MAX_BULK_ROWS)


class SubscriberOut(ResponseModel):
    """A subscriber as the spec returns it."""

    id: str
    personId: str | None = None
    email: str
    customerId: str
    externalCustomerId: str | None = None
    package: str | None = None
    packages: list[SubscriberPackage]
    status: Literal["provisioned", "pending_user_migration"]
    errors: list[ErrorOut] | None = None
    created: str
    lastStatusChange: str


class SubscriberListOut(ResponseModel):
    """GET /v1/wholesale/subscribers."""

    items: list[SubscriberOut]


class BulkRowResult(ResponseModel):
    """What happened to one bulk row."""

    row: int
    email: str
    status: Literal["provisioned", "pending_user_migration", "error"]
    subscriberId: str | None = None
    errors: list[ErrorOut] | None = None


class BulkImportAccepted(ResponseModel):
    """A bulk import just accepted (202): poll its url (also the Location header)."""

    id: str
    url: str
    status: Literal["queued"]


class BulkImportOut(ResponseModel):
    """A bulk import's progress and per-row results."""

    id: str
    customerId: str
    status: Literal["queued", "running", "completed"]
    total: int
    processed: int
    succeeded: int
    failed: int
    created: str
    finished: str | None = None
    results: list[BulkRowResult]


class ConsentOut(ResponseModel):
    """The outcome of accepting a consent-to-move email."""

    subscriberId: str
    status: Literal["provisioned"]
