"""The baseline: a bare FastAPI route running the same customer-list queries and rendering, with none of our layers
(no auth, tenancy, unit of work, logging, metrics, rate limiting, tracking ids)."""

import os
from typing import Annotated

from fastapi import FastAPI, Query
from starlette.responses import JSONResponse

from wholesale.customers import repository
from wholesale.customers.service import to_read
from wholesale.db.session import Database
from wholesale.kit.pagination import PageParams

db = Database(os.environ["WHOLESALE_DATABASE_URL"])
PARTNER = os.environ["BENCH_PARTNER_ORG_ID"]
app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/v1/wholesale/customers")
def customers(
    # The same query parameters as the real route, so FastAPI's parsing costs the same on both sides.
    onBehalfOfSubPartnerOrgId: str | None = None,
    externalId: str | None = None,
    orgId: str | None = None,
    status: Annotated[list[str], Query()] = [],  # noqa: B006
    offset: str | None = None,
    max: str | None = None,
    includePackageLicenseInfo: bool = False,
) -> JSONResponse:
    with db.session(write=False) as session:
        rows = repository.list_live(session, PARTNER, PageParams(max=100, offset=0))[:100]
        packages = repository.packages_of(session, [c.id for c in rows])
        return JSONResponse({"items": [to_read(c, packages[c.id]) for c in rows]})
