"""The bases of request and response bodies, and the Webex error body every 4xx/5xx carries.

Request bodies ignore unknown fields (as Webex clients expect) and refuse strings over their limit, NUL and other
control characters, and lone surrogates; response bodies declare exactly the fields they send (an undeclared one
fails validation instead of slipping through)."""

import re
from functools import cache
from typing import Any

from annotated_types import MaxLen
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 control characters and DEL, except tab, line feed and carriage return (free text such as a reviewer's note
# may hold lines): no name, address, id or email contains them, and they corrupt CSV reports and terminals.
_CONTROLS = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")

# The longest string a request field takes unless the field declares its own max_length: longer than any name,
# address line or id a client sends, short enough that no field can fill memory or every later list response.
MAX_STRING = 1000


def _bad_characters(value: Any, limit: int | None = MAX_STRING) -> str | None:
    """Why a value cannot be stored, or None: too long, NUL, a lone UTF-16 surrogate ("\\ud800" in JSON), or a
    control character."""
    if isinstance(value, str):
        if limit is not None and len(value) > limit:
            return f"must be at most {limit:,} characters (got {len(value):,})"
        if "\x00" in value:
            return "must not contain NUL (\\u0000) characters"
        if _SURROGATES.search(value):
            return "must not contain lone surrogates (\\ud800-\\udfff): they are not characters"
        if control := _CONTROLS.search(value):
            return f"must not contain control characters (found U+{ord(control.group()):04X})"
        return None
    if isinstance(value, (list, tuple)):
        return next((why for v in value if (why := _bad_characters(v, limit))), None)
    # Nested objects are models of their own and check their own fields, so the error names the leaf field.
    return None


class RequestModel(BaseModel):
    """A request body model."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any, info: ValidationInfo) -> Any:
        # PostgreSQL text cannot hold NUL, no encoder can write a lone surrogate, and no legitimate name,
        # address or id contains either. A field without its own max_length takes MAX_STRING.
        if why := _bad_characters(value, _default_limit(cls, info.field_name)):
            raise ValueError(why)
        return value


@cache
def _default_limit(model: type[BaseModel], field_name: str | None) -> int | None:
    """MAX_STRING, or None when the field declares a max_length of its own (Pydantic then enforces that one)."""
    field = model.model_fields.get(field_name or "")
    declared = field is not None and any(isinstance(m, MaxLen) for m in field.metadata)
    return None if declared else MAX_STRING


class ResponseModel(BaseModel):
    """A response body model: exactly its declared fields (`additionalProperties: false` in the OpenAPI)."""

    model_config = ConfigDict(extra="forbid")


class ErrorDetail(ResponseModel):
    """One entry of an error body's `errors`."""

    description: str
    errorCode: int


class ErrorBody(ResponseModel):
    """The Webex error body that wxc_sdk and other clients parse (every 4xx and 5xx)."""

    message: str
    errors: list[ErrorDetail] = Field(min_length=1)
    trackingId: str


# Declared on every router: our errors are this body with status 400, 401, 403, 404, 405, 409, 429, 500, ...
# (Declaring 4XX also keeps FastAPI from documenting a 422 HTTPValidationError we never send.)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "The request was refused: the Webex error body."},
    "5XX": {"model": ErrorBody, "description": "Server error: the Webex error body; quote the trackingId."},
}
