"""Telephony and meetings-site API shapes (R17, R18)."""

from typing import Literal

from wholesale.kit.schemas import RequestModel, ResponseModel

TollTypeOut = Literal["toll", "tollFree"]


class PinIn(RequestModel):
    """Pin a domain number (E.164), or null to unpin and re-derive."""

    number: str | None


class CallInNumberOut(ResponseModel):
    """One number of the telephony domain; `order` is its 1-based position."""

    country: str
    number: str
    label: str
    tollType: TollTypeOut
    available: bool
    order: int


class CallInNumbersOut(ResponseModel):
    """The telephony domain, in order."""

    items: list[CallInNumberOut]


class LocationOverrideOut(ResponseModel):
    """An operator's country -> location override."""

    country: str
    location: str


class LocationOverridesOut(ResponseModel):
    """Every location override."""

    items: list[LocationOverrideOut]


class SiteNumberOut(ResponseModel):
    """A site's default global call-in number."""

    number: str
    countryCode: str
    label: str | None
    tollType: TollTypeOut | None


class SiteOut(ResponseModel):
    """A meetings site; `defaultCallInNumber` is an explicit null when the site has none, `warning` is left out
    when there is nothing to warn about."""

    id: str
    orgId: str
    siteUrl: str
    location: str
    pstnEnabled: bool
    defaultCallInNumber: SiteNumberOut | None
    source: Literal["orgCountry", "locationDefault", "none"]
    pinned: bool
    warning: str | None = None


class SiteListOut(ResponseModel):
    """GET /v1/meetings/sites."""

    items: list[SiteOut]
