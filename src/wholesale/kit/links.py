"""OpenAPI links (OpenAPI 3.1 §4.8.20): how a response's values feed the next request, for clients and for
stateful testing (schemathesis follows them). Targets are named by reference, as FastAPI makes up the operationIds."""

from typing import Any

# The id at the end of a Location header or a `url` field (`…/customers/<id>`, with or without a query such as
# `?onBehalfOfSubPartnerOrgId=…`).
LAST_SEGMENT = "#regex:/([^/?#]+)(?:\\?[^#]*)?$"


def link(method: str, path: str, description: str, **fields: Any) -> dict[str, Any]:
    """A link to `method path` of this API; `fields` are the link's `parameters` and/or `requestBody`."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method.lower()}", "description": description, **fields}


def links(**named: dict[str, Any]) -> dict[str, Any]:
    """The `links` of one response, for a route's `responses={status: links(...)}`."""
    return {"links": named}
