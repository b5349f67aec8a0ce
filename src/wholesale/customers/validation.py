"""Field rules for customer requests (pure): each failure is a 400 naming the field."""

import re
import zoneinfo
from functools import lru_cache

import pycountry
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from wholesale.customers.schemas import AddressIn, LocationIn
from wholesale.kit.errors import field_error
from wholesale.kit.problems import Checks

MAX_ADDRESS_LINE = 50
# Longer than any city, region or postal code in use (the longest postal codes are 10 characters).
MAX_ADDRESS_FIELD = {"city": 100, "stateOrProvince": 100, "zipOrPostalCode": 20}
MAX_NAME = 256
# Countries whose postal addresses need a state or province, checked against ISO 3166-2.
STATE_REQUIRED = frozenset({"US", "CA", "AU", "BR", "MX", "IN", "AR"})
COUNTRY_HINTS = {"UK": "GB", "EL": "GR", "EN": "GB"}
LANGUAGE = re.compile(r"^([a-zA-Z]{2})(?:[_-]([a-zA-Z]{2}))?$")


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_country(field: str, value: str) -> str:
    """Return the upper-case ISO-3166 alpha-2 code, or raise naming the field (R15)."""
    code = (value or "").strip().upper()
    if not code:
        raise field_error(field, "is required (ISO-3166 alpha-2, e.g. US).")
    if code in COUNTRY_HINTS:
        raise field_error(field, f"'{value}' is not an ISO-3166 alpha-2 code; use '{COUNTRY_HINTS[code]}'.")
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise field_error(field, f"'{value}' is not an ISO-3166 alpha-2 country code.")
    return code


def check_state(field: str, country: str, value: str | None) -> str | None:
    """Require and check the state/province where the country needs one; return its ISO 3166-2 suffix."""
    text = (value or "").strip()
    if country not in STATE_REQUIRED:
        return text or None
    if not text:
        raise field_error(field, f"is required for addresses in {country}.")
    code = text.upper().removeprefix(f"{country}-")
    if pycountry.subdivisions.get(code=f"{country}-{code}") is not None:
        return code
    for sub in pycountry.subdivisions.get(country_code=country) or []:
        if sub.name.casefold() == text.casefold():
            return sub.code.split("-", 1)[1]
    raise field_error(
        field,
        f"'{value}' is not a state or province of {country} (use its ISO 3166-2 code, e.g. {_example_state(country)}).",
    )


def _example_state(country: str) -> str:
    subs = sorted(s.code.split("-", 1)[1] for s in pycountry.subdivisions.get(country_code=country) or [])
    return subs[0] if subs else "-"


def check_address(prefix: str, address: AddressIn, checks: Checks | None = None) -> AddressIn:
    """Check an address and return it normalised (country upper-case, state as its code). With `checks` noting
    every problem, each field is checked (the state once the country is known) and the caller raises them."""
    checks = checks or Checks()
    for name in ("addressLine1", "addressLine2"):
        line = getattr(address, name)
        with checks:
            if line is not None and len(line) > MAX_ADDRESS_LINE:
                raise field_error(
                    f"{prefix}.{name}", f"must be at most {MAX_ADDRESS_LINE} characters (got {len(line)})."
                )
    for name, limit in MAX_ADDRESS_FIELD.items():
        value = getattr(address, name)
        with checks:
            if value is not None and len(value.strip()) > limit:
                raise field_error(f"{prefix}.{name}", f"must be at most {limit} characters (got {len(value.strip())}).")
    with checks:
        if not address.addressLine1.strip():
            raise field_error(f"{prefix}.addressLine1", "must not be empty.")
    with checks:
        if not address.city.strip():
            raise field_error(f"{prefix}.city", "must not be empty.")
    country, state = address.country, address.stateOrProvince
    with checks:
        country = check_country(f"{prefix}.country", address.country)
        state = check_state(f"{prefix}.stateOrProvince", country, address.stateOrProvince)
    return address.model_copy(
        update={
            "addressLine1": address.addressLine1.strip(),
            "addressLine2": (address.addressLine2 or "").strip() or None,
            "city": address.city.strip(),
            "country": country,
            "stateOrProvince": state,
            "zipOrPostalCode": (address.zipOrPostalCode or "").strip() or None,
        }
    )


def check_name(field: str, value: str) -> str:
    """A display name: not empty, not too long, no '%' (Webex refuses it)."""
    name = value.strip()
    if not name:
        raise field_error(field, "must not be empty.")
    if "%" in name:
        raise field_error(field, "must not contain '%'.")
    if len(name) > MAX_NAME:
        raise field_error(field, f"must be at most {MAX_NAME} characters.")
    return name


def check_email(field: str, value: str) -> str:
    """Return the normalised (lower-case) address, or raise naming the field."""
    try:
        return _normalised_email(value.strip())
    except EmailNotValidError as exc:
        raise field_error(field, f"'{value}' is not a valid email address ({exc}).") from None


# An address of this shape, within RFC 5321's lengths and outside the special-use domains, is one email_validator
# accepts as it is but for case (tests/customers/test_email_shape.py checks that on generated addresses), so it
# skips email_validator, which costs about 0.18 ms a new address (IDNA and Unicode normalisation): every create of a
# customer or a subscriber checks a new one. Anything else (Unicode, quoted local parts, `--` in the domain, IP
# literals) goes through email_validator.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63}))"
)


def plain_email(value: str) -> str | None:
    """The address lower-cased when it has the plain shape email_validator accepts unchanged, else None."""
    match = _PLAIN_EMAIL.fullmatch(value)
    if (
        match is None
        or len(value) > 254
        or len(value) - len(match.group(1)) - 1 > 64  # the local part
        or "--" in match.group(1)
        or match.group(2).lower() in SPECIAL_USE_DOMAIN_NAMES
    ):
        return None
    return value.lower()


@lru_cache(maxsize=1024)
def _normalised_email(value: str) -> str:
    # Cached: a create checks its admin's email twice (`rules._look_up`), and email_validator is not cheap.
    return plain_email(value) or validate_email(value, check_deliverability=False).normalized.lower()


def check_timezone(field: str, value: str) -> str:
    """Require a real IANA time zone."""
    if value not in _timezones():
        raise field_error(field, f"'{value}' is not an IANA time zone (e.g. America/Los_Angeles).")
    return value


def check_language(field: str, value: str) -> str:
    """Accept `en` or `en_us` (ISO-639-1, optionally with an ISO-3166 country); return it lower-case with '_'."""
    match = LANGUAGE.match(value.strip())
    if not match or pycountry.languages.get(alpha_2=match.group(1).lower()) is None:
        raise field_error(field, f"'{value}' is not a language code like 'en' or 'en_us'.")
    if match.group(2) and pycountry.countries.get(alpha_2=match.group(2).upper()) is None:
        raise field_error(field, f"'{value}' names an unknown country '{match.group(2)}'.")
    return value.strip().lower().replace("-", "_")


def check_external_id(field: str, value: str) -> str:
    """The partner's own id: not empty, at most 255 characters."""
    text = value.strip()
    if not text or len(text) > 255:
        raise field_error(field, "must be 1 to 255 characters.")
    return text


def check_location(prefix: str, location: LocationIn, checks: Checks | None = None) -> LocationIn:
    """Check a calling location (with `checks` noting every problem, each of its fields)."""
    checks = checks or Checks()
    name, address, timezone, language = location.name, location.address, location.timezone, location.language
    with checks:
        name = check_name(f"{prefix}.name", location.name)
    with checks:
        address = check_address(f"{prefix}.address", location.address, checks)
    with checks:
        timezone = check_timezone(f"{prefix}.timezone", location.timezone)
    with checks:
        language = check_language(f"{prefix}.language", location.language)
    return location.model_copy(update={"name": name, "address": address, "timezone": timezone, "language": language})


def warm_up() -> None:
    """Load the country, subdivision, language and time-zone tables now, not on the first customer request."""
    check_country("warm", "US")
    check_state("warm", "US", "CA")
    check_language("warm", "en_us")
    _timezones()
    check_email("warm", "warm@example.com")
