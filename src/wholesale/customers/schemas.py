"""Customer API shapes, field for field as in the Webex Wholesale spec (unknown fields are ignored)."""

from typing import Annotated, Any, Literal

from pydantic import Field

from wholesale.kit.schemas import RequestModel, ResponseModel
from wholesale.packages.catalog import CustomerPackage

Limit = Annotated[int, Field(ge=0, le=10_000_000)]


class AddressIn(RequestModel):
    """A postal address (billing address or calling location address)."""

    addressLine1: str
    addressLine2: str | None = None
    city: str
    stateOrProvince: str | None = None
    zipOrPostalCode: str | None = None
    country: str


class CustomerInfoIn(RequestModel):
    """The new customer's name, primary email and locale."""

    name: str
    primaryEmail: str
    language: str | None = None


class LocationIn(RequestModel):
    """The calling location, required when a calling package is provisioned."""

    name: str
    address: AddressIn
    timezone: str
    language: str
    emergencyLocationIdentifier: str | None = None


class CallingIn(RequestModel):
    """Calling provisioning parameters."""

    location: LocationIn


class MeetingsIn(RequestModel):
    """Meetings provisioning parameters."""

    timezone: str | None = None


class PackagesParamsIn(RequestModel):
    """Per-package quantity caps (R8)."""

    limits: dict[CustomerPackage, Limit] | None = None


class ProvisioningParametersIn(RequestModel):
    """Optional provisioning parameters."""

    calling: CallingIn | None = None
    meetings: MeetingsIn | None = None
    packages: PackagesParamsIn | None = None


class CustomerCreate(RequestModel):
    """POST /v1/wholesale/customers."""

    provisioningId: str
    packages: list[CustomerPackage]
    externalId: str
    address: AddressIn
    orgId: str | None = None
    customerInfo: CustomerInfoIn | None = None
    provisioningParameters: ProvisioningParametersIn | None = None
    subPartnerAdminEmail: str | None = None


class CustomerUpdate(RequestModel):
    """PUT /v1/wholesale/customers/{customerId}: the full desired package list."""

    packages: list[CustomerPackage]
    externalId: str | None = None
    address: AddressIn | None = None
    provisioningParameters: ProvisioningParametersIn | None = None
    subPartnerAdminEmail: str | None = None


class PrecheckCustomerInfoIn(RequestModel):
    """customerInfo of a precheck: the email is required, the name optional."""

    name: str | None = None
    primaryEmail: str


class CustomerValidate(RequestModel):
    """POST /v1/wholesale/customers/validate: the create body, looser."""

    address: AddressIn
    provisioningId: str | None = None
    packages: list[CustomerPackage] | None = None
    orgId: str | None = None
    externalId: str | None = None
    customerInfo: PrecheckCustomerInfoIn | None = None
    provisioningParameters: ProvisioningParametersIn | None = None


class ErrorOut(ResponseModel):
    """An error or warning inside a resource."""

    errorCode: int
    description: str


class PackageOut(ResponseModel):
    """A customer package and how its provisioning went."""

    name: CustomerPackage
    status: Literal["provisioned", "provisioning", "deleting", "error"]
    warnings: list[ErrorOut] | None = None
    errors: list[ErrorOut] | None = None
    licenseIds: list[str] | None = None
    quantityLimit: int | None = None
    assigned: int | None = None


class AddressOut(ResponseModel):
    """An address as the spec returns it."""

    addressLine1: str | None = None
    addressLine2: str | None = None
    city: str | None = None
    stateOrProvince: str | None = None
    zipOrPostalCode: str | None = None
    country: str | None = None


class ResourceDetailsOut(ResponseModel):
    """Per-package detail."""

    packages: list[PackageOut]


CustomerStatusOut = Literal[
    "provisioned", "provisioned_with_errors", "provisioning", "updating", "deleting", "error", "pending_rpl_review"
]


class CustomerOut(ResponseModel):
    """A customer as the spec returns it (plus isPartnerOrg, R6); orgId once provisioning has made the org."""

    id: str
    orgId: str | None = None
    externalId: str
    address: AddressOut
    status: CustomerStatusOut
    packages: list[CustomerPackage]
    resourceDetails: ResourceDetailsOut
    errors: list[ErrorOut] | None = None
    isPartnerOrg: bool = False


class CustomerListOut(ResponseModel):
    """GET /v1/wholesale/customers."""

    items: list[CustomerOut]


class ResourceUrlOut(ResponseModel):
    """The spec's ResourceURL."""

    url: str


class PrecheckInfo(ResponseModel):
    """A precheck info code."""

    infoCode: int
    description: str


class PrecheckOut(ResponseModel):
    """A successful precheck (see docs/API_DECISIONS.md on `info`)."""

    message: Literal["success"]
    info: PrecheckInfo


class TemplateIn(RequestModel):
    """Create or replace a customer template."""

    name: str = Field(min_length=1, max_length=200)
    language: str = "en_us"
    meetingsTimezone: str | None = None
    pstnEnabled: bool = True
    allowedPackages: list[CustomerPackage] | None = None


class TemplateOut(ResponseModel):
    """A customer template; `id` is the provisioningId (unset optional fields are left out)."""

    id: str
    name: str
    language: str
    meetingsTimezone: str | None = None
    pstnEnabled: bool
    allowedPackages: list[CustomerPackage] | None = None
    created: str
    updated: str


class TemplateListOut(ResponseModel):
    """GET /v1/wholesale/customerTemplates: `{"items": [...]}` like every list."""

    items: list[TemplateOut]


def drop_none(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out absent optional fields, as Webex does."""
    return {k: v for k, v in data.items() if v is not None}
