"""The base of every request body: unknown fields ignored (as Webex clients expect), NUL characters refused."""

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    # Nested objects are models of their own and check their own fields, so the error names the leaf field.
    return False


class RequestModel(BaseModel):
    """A request body model."""

    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL, and no legitimate name, address or id contains one.
        if _has_nul(value):
            raise ValueError("must not contain NUL (\\u0000) characters")
        return value
