"""R17/R18: which default global call-in number a customer's meetings site gets. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from wholesale.dialin.locations import LOCATION_DEFAULT_COUNTRY, location_for
from wholesale.dialin.telephony import CallInNumber

CallInSource = Literal["orgCountry", "locationDefault", "none"]


@dataclass(frozen=True, slots=True)
class CallInDecision:
    """Outcome of R18 for one site: its location, chosen number (or None), why, and any warning."""

    location: str
    number: CallInNumber | None
    source: CallInSource
    warning: str | None = None


def derive_default_call_in(
    org_country: str,
    numbers: Iterable[CallInNumber],
    mapping: Mapping[str, str],
    pstn_enabled: bool,
) -> CallInDecision:
    """Apply R17/R18: pick the site's default global call-in number for an organisation country."""
    country = org_country.strip().upper()
    # R18: the location always follows from the org country, even without PSTN, because the site
    # itself lives there.
    location = location_for(country, mapping)
    if not pstn_enabled:
        # R17: provider call-in numbers only exist when the template enables provider PSTN; having
        # none is then the intended state, not something to warn about.
        return CallInDecision(location=location, number=None, source="none", warning=None)

    domain = list(numbers)
    own = _first_available(domain, country)
    if own is not None:
        return CallInDecision(location=location, number=own, source="orgCountry")

    # R18: fall back to the default number of the site's location.
    default_country = LOCATION_DEFAULT_COUNTRY[location]
    fallback = _first_available(domain, default_country) if default_country != country else None
    if fallback is not None:
        return CallInDecision(location=location, number=fallback, source="locationDefault")

    if default_country == country:
        detail = (
            f"the telephony domain has no available call-in number for {country}, "
            f"the default country of location {location}"
        )
    else:
        detail = (
            f"the telephony domain has no available call-in number for {country} nor for {default_country}, "
            f"the default country of location {location}"
        )
    # The site is still created (issue 4); the caller surfaces this text in resourceDetails and metrics.
    return CallInDecision(
        location=location,
        number=None,
        source="none",
        warning=f"No default global call-in number for the meetings site: {detail}.",
    )


def _first_available(numbers: list[CallInNumber], country: str) -> CallInNumber | None:
    """Return the available number of `country` with the lowest order, if any."""
    candidates = [n for n in numbers if n.country == country and n.available]
    # min by order rather than list position: callers may pass the domain in any order (e.g. from a DB).
    return min(candidates, key=lambda n: n.order, default=None)
