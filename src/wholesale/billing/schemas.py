"""Billing report shapes, wire-compatible with Webex (`ReportId`, `ListReport`, `Report`, `ReportError`)."""

from typing import Literal

from pydantic import Field

from wholesale.kit.schemas import RequestModel, ResponseModel

ReportType = Literal["PARTNER", "CUSTOMER", "USER"]
ReportCategory = Literal["RECONCILIATION", "POINT_IN_TIME"]
ReportStatusName = Literal["IN_PROGRESS", "COMPLETED", "FAILED"]


class ReportCreate(RequestModel):
    """POST /v1/wholesale/billing/reports. `category` and `customerId` are ours (the spec has neither)."""

    billingStartDate: str = Field(description="YYYY-MM-DD (a full ISO timestamp is accepted; its UTC date counts).")
    billingEndDate: str = Field(description="YYYY-MM-DD, before today (UTC); at most a year after the start.")
    type: ReportType | None = Field(default=None, description="PARTNER (default), CUSTOMER or USER.")
    subPartnerOrgId: str | None = Field(default=None, description="Create the report for this sub-partner.")
    internal: bool = Field(default=False, description="Include the partner's internal orgs (its own org).")
    category: ReportCategory | None = Field(default=None, description="RECONCILIATION (default) or POINT_IN_TIME.")
    customerId: str | None = Field(default=None, description="CUSTOMER reports: only this customer (else all).")


class ReportIdOut(ResponseModel):
    """The create response (`ReportId`)."""

    id: str
    billingStartDate: str
    billingEndDate: str
    type: ReportType
    category: ReportCategory


class ListReportOut(ResponseModel):
    """One item of the list (`ListReport`)."""

    id: str
    billingStartDate: str
    billingEndDate: str
    status: ReportStatusName
    type: ReportType
    category: ReportCategory


class ReportListOut(ResponseModel):
    """`{"items": [ListReport...]}` (paged by `Link` headers)."""

    items: list[ListReportOut]


class ReportErrorOut(ResponseModel):
    """A problem met while generating the report (`ReportError`)."""

    code: int
    description: str


class ReportOut(ResponseModel):
    """A report (`Report`): `tempDownloadURL` once it is COMPLETED."""

    id: str
    billingStartDate: str
    billingEndDate: str
    type: ReportType
    category: ReportCategory
    created: str
    createdBy: str
    status: ReportStatusName
    tempDownloadURL: str | None = None
    errors: list[ReportErrorOut]
