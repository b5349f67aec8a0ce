"""Wholesale billing reports (wire-compatible with the Webex spec) and the signed download behind tempDownloadURL."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.responses import JSONResponse

from wholesale.billing import service
from wholesale.billing.schemas import ReportCreate, ReportIdOut, ReportListOut, ReportOut
from wholesale.identity.auth import require
from wholesale.identity.roles import Scope
from wholesale.identity.schemas import Principal
from wholesale.kit.http import SessionDep, UnitOfWorkRoute, list_response, public_base
from wholesale.kit.pagination import parse_page
from wholesale.kit.schemas import ERROR_RESPONSES
from wholesale.partners import tenancy

router = APIRouter(
    prefix="/v1/wholesale/billing",
    tags=["Wholesale Billing Reports"],
    route_class=UnitOfWorkRoute,
    responses=ERROR_RESPONSES,
)
Reader = Annotated[Principal, Depends(require(Scope.BILLING_READ))]
Writer = Annotated[Principal, Depends(require(Scope.BILLING_WRITE))]
SubPartner = Annotated[str | None, Query(description="The reports of this sub-partner of the calling partner.")]


@router.get("/reports", response_model=ReportListOut)
def list_reports(
    request: Request,
    session: SessionDep,
    principal: Reader,
    billingStartDate: str | None = None,
    billingEndDate: str | None = None,
    type: str | None = None,
    status: str | None = None,
    sortBy: str | None = None,
    max: str | None = None,
    offset: Annotated[str | None, Query(description="Ours: where the Link header's next page starts.")] = None,
    subPartnerOrgId: SubPartner = None,
) -> JSONResponse:
    """List the partner's billing reports (`max` up to 100; further pages by the `Link` header)."""
    tenant = tenancy.resolve(session, principal, subPartnerOrgId, writing=False)
    filters = service.list_filters(
        billing_start_date=billingStartDate,
        billing_end_date=billingEndDate,
        type_=type,
        status=status,
        sort_by=sortBy,
    )
    page = service.list_reports(session, tenant, parse_page(max, offset, default=100, limit=100), filters)
    keys = ("id", "billingStartDate", "billingEndDate", "status", "type", "category")
    items = [{k: v for k, v in service.read(r).items() if k in keys} for r in page.items]
    return list_response(request, page, items)


@router.post("/reports", response_model=ReportIdOut)
def create_report(body: ReportCreate, session: SessionDep, principal: Writer) -> ReportIdOut:
    """Ask for a report; it is generated in the background (status IN_PROGRESS, then COMPLETED or FAILED)."""
    tenant = tenancy.resolve(session, principal, body.subPartnerOrgId, writing=True)
    report = service.create_report(session, tenant, body)
    return ReportIdOut.model_validate({k: v for k, v in service.read(report).items() if k in ReportIdOut.model_fields})


@router.get("/reports/{id}", response_model=ReportOut, response_model_exclude_none=True)
def get_report(id: str, request: Request, session: SessionDep, principal: Reader) -> ReportOut:
    """A report; once COMPLETED, `tempDownloadURL` downloads its CSV without a token for an hour."""
    tenant = tenancy.resolve(session, principal, None, writing=False)
    return ReportOut.model_validate(service.read(service.get_report(session, tenant, id), public_base(request)))


@router.delete("/reports/{id}", status_code=204, response_class=Response)
def delete_report(id: str, session: SessionDep, principal: Writer) -> Response:
    """Delete a report and its file."""
    tenant = tenancy.resolve(session, principal, None, writing=False)
    service.delete_report(session, tenant, id)
    return Response(status_code=204)


@router.get(
    "/reports/{id}/download",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The report's CSV (docs/BILLING.md)."}},
)
def download_report(id: str, session: SessionDep, expires: str | None = None, signature: str | None = None) -> Response:
    """The CSV behind a tempDownloadURL: no token needed while the link is valid; expired or altered: 403."""
    content, name = service.download(session, id, expires, signature)
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"},
    )
