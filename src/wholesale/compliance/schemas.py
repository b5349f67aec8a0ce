"""Compliance API shapes."""

from typing import Literal

from pydantic import Field

from wholesale.kit.schemas import RequestModel


class DecisionIn(RequestModel):
    """A reviewer's decision on a case."""

    decision: Literal["approve", "reject"]
    reason: str | None = Field(default=None, max_length=4000)


class ContactAttemptIn(RequestModel):
    """An attempt to reach the partner (R13)."""

    channel: str = Field(min_length=1, max_length=40)
    outcome: Literal["reached", "unreachable"]
    note: str | None = Field(default=None, max_length=4000)


class ScreeningIn(RequestModel):
    """One ad-hoc screening query (the `wholesale screen` JSON line shape)."""

    id: str = Field(default="query", max_length=200)
    name: str = Field(min_length=1, max_length=500)
    country: str | None = Field(default=None, max_length=2)
    city: str | None = Field(default=None, max_length=200)
    postalCode: str | None = Field(default=None, max_length=40)
