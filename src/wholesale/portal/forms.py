"""Form errors in plain words: every problem of a submit (pydantic's and the domain's) mapped to the form field it is
about, worded for the person at the form: no API field paths, no requirement codes, packages by their names.

`field_errors(exc)` takes a pydantic ValidationError, a DomainError, or kit.problems.Problems (the rules' every
problem at once) and returns {form field: message}, the first message per field, `_form` for what names no field.
"""

import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pycountry
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from starlette.datastructures import FormData

from wholesale.billing.schemas import ReportCreate
from wholesale.customers.schemas import CustomerCreate, TemplateIn
from wholesale.kit.errors import DomainError
from wholesale.kit.problems import Problems
from wholesale.packages.catalog import CALLING_PACKAGES, package_name

Errors = dict[str, str]
FORM = "_form"  # the key of a problem that names no field

# API field paths (as DomainError messages and pydantic locations name them) -> the form field they belong to.
FIELD_MAP = {
    "provisioningId": "template",
    "customerInfo.name": "name",
    "customerInfo.primaryEmail": "email",
    "customerInfo": "name",
    "externalId": "external_id",
    "address.addressLine1": "address_line1",
    "address.addressLine2": "address_line2",
    "address.city": "city",
    "address.stateOrProvince": "state",
    "address.zipOrPostalCode": "zip",
    "address.country": "country",
    "address": "address_line1",
    "country": "country",
    "packages": "packages",
    "provisioningParameters.calling.location": "location_name",
    "provisioningParameters.calling.location.name": "location_name",
    "provisioningParameters.calling.location.timezone": "location_timezone",
    "provisioningParameters.calling.location.language": "location_name",
    "subPartnerAdminEmail": "sub_partner_admin_email",
    "name": "name",
    "language": "language",
    "meetingsTimezone": "meetings_timezone",
    "allowedPackages": "allowed_packages",
    "pstnEnabled": "pstn_enabled",
    "email": "email",
    "reason": "reason",
    "channel": "channel",
    "outcome": "outcome",
    "billingStartDate": "start",
    "billingEndDate": "end",
    "type": "type",
    "category": "category",
    "from": "from",
    "to": "to",
    "actorId": "actor",
    "targetId": "target",
    "targetType": "target_type",
    "action": "action",
    "before": FORM,
}
# The portal's calling location sits at the billing address: its address problems are the billing address's.
_LOCATION_ADDRESS = "provisioningParameters.calling.location.address."

# Each form field as its label reads (for "... is required" and the generic wording).
LABELS = {
    "name": "Name",
    "email": "Email address",
    "external_id": "External id",
    "template": "Template",
    "address_line1": "Address line 1",
    "address_line2": "Address line 2",
    "city": "City",
    "state": "State or province",
    "zip": "ZIP or postal code",
    "country": "Country",
    "packages": "Packages",
    "location_name": "Location name",
    "location_timezone": "Time zone",
    "sub_partner_admin_email": "Sub-partner admin email",
    "language": "Language",
    "meetings_timezone": "Meetings time zone",
    "allowed_packages": "Allowed packages",
    "start": "First day",
    "end": "Last day",
    "type": "Type",
    "category": "Category",
}
# What to say when a field is left empty, where "<label> is required" is not the plain way to say it.
REQUIRED = {
    "email": "Enter the person's email address, like name@example.com.",
    "template": "Choose a template.",
    "country": "Choose a country.",
    "packages": "Tick at least one package.",
    "allowed_packages": "Tick at least one package, or none to allow them all.",
    "location_timezone": "Choose a time zone.",
    "meetings_timezone": "Choose a time zone.",
    "start": "Enter the first day.",
    "end": "Enter the last day.",
    "type": "Choose a type.",
    "category": "Choose a category.",
}
# The order of each form's fields, top to bottom: the error summary lists problems in it.
CUSTOMER_FIELDS = (
    "name",
    "email",
    "external_id",
    "template",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zip",
    "country",
    "packages",
    "location_name",
    "location_timezone",
)
TEMPLATE_FIELDS = ("name", "language", "meetings_timezone", "pstn_enabled", "allowed_packages")
REPORT_FIELDS = ("start", "end", "type", "category")
# The time zones a form suggests: the IANA zones people pick (Region/City), not the aliases and POSIX forms.
TIME_ZONES = sorted(
    z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/", "right/"))
)
EMAIL_EXAMPLE = "Enter an email address like name@example.com."
ZONE_EXAMPLE = "Choose a time zone from the list, like Europe/Paris."
_REQUIREMENT_CODE = re.compile(r"\s*\(?\bR\d{1,2}\b\)?")


def required(field: str) -> str:
    return REQUIRED.get(field) or f"{LABELS.get(field, 'This field')} is required."


def _packages(names: str) -> str:
    """`webex_calling, webex_suite` -> `Webex Calling or Webex Suite`."""
    items = [package_name(n.strip()) for n in re.split(r",\s*", names.strip()) if n.strip()]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _country(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code.upper())
    return str(getattr(country, "common_name", None) or country.name) if country else code


# (pattern over the message after its field path, wording); the first that matches says it. `f` is the form field.
_WORDING: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^''"), lambda m, f: required(f)),  # an empty value a rule checked as a value
    (re.compile(r"^(must not be empty|is required)\.?$"), lambda m, f: required(f)),
    (re.compile(r"^is required \(ISO-3166"), lambda m, f: required(f)),
    (
        re.compile(r"^is required for addresses in (\w\w)\."),
        lambda m, f: f"Enter the state or province: addresses in {_country(m[1])} need one.",
    ),
    (
        re.compile(r"^'(.*)' is not a state or province of (\w\w) \(use its ISO 3166-2 code, e\.g\. (\S+)\)", re.S),
        lambda m, f: f"Enter a state or province of {_country(m[2])}, by its name or its code (like {m[3]}).",
    ),
    (
        re.compile(r"^must be at most (\d+) characters(?: \(got (\d+)\))?"),
        lambda m, f: f"Use at most {m[1]} characters" + (f" (this has {m[2]})." if m[2] else "."),
    ),
    (re.compile(r"^must be 1 to (\d+) characters"), lambda m, f: f"{required(f)[:-1]} (at most {m[1]} characters)."),
    (re.compile(r"is not (a valid|an) email address"), lambda m, f: EMAIL_EXAMPLE),
    (
        re.compile(r"already belongs to an existing user"),
        lambda m, f: "This email address already belongs to a user: use another one.",
    ),
    (
        re.compile(r"^a portal account for .* already exists"),
        lambda m, f: "A portal account for this email address already exists.",
    ),
    (re.compile(r"is not an IANA time zone"), lambda m, f: ZONE_EXAMPLE),
    (
        re.compile(r"^'(.*)' is not an ISO-3166 alpha-2 code; use '(\w\w)'", re.S),
        lambda m, f: f"Choose a country from the list: for {m[1]} use '{m[2]}' ({_country(m[2])}).",
    ),
    (
        re.compile(r"is not an ISO-3166 alpha-2 country code|^unknown country"),
        lambda m, f: "Choose a country from the list.",
    ),
    (
        re.compile(r"^a customer with externalId '.*' already exists", re.S),
        lambda m, f: "You already have a customer with this external id: each customer needs its own.",
    ),
    (re.compile(r"is not a customer template of this partner"), lambda m, f: "Choose one of your templates."),
    (re.compile(r"^must list at least one package"), lambda m, f: required(f)),
    (
        re.compile(r"^template '(.*)' does not allow (.*) \(allowed: (.*)\)\.?$", re.S),
        lambda m, f: (
            f"The template {m[1]} does not allow {_packages(m[2])}: untick {'it' if ',' not in m[2] else 'them'} or choose another template."
        ),
    ),
    (
        re.compile(r"^(\w+) is an add-on that needs one of these base packages: (.*); none is listed"),
        lambda m, f: f"{package_name(m[1])} is an add-on: also tick {_packages(m[2])}.",
    ),
    (
        re.compile(r"^is required when a calling package is provisioned \((.*)\)"),
        lambda m, f: f"Enter a location name: {_packages(m[1])} needs a calling location.",
    ),
    (re.compile(r"^must not contain '%'"), lambda m, f: "Leave out the % sign: names cannot contain it."),
    (
        re.compile(r"is not a language code like"),
        lambda m, f: "Enter a language code like en or en_us (language, then country).",
    ),
    (re.compile(r"names an unknown country"), lambda m, f: "Enter a language code with a real country, like fr_fr."),
    (re.compile(r"^must be a date YYYY-MM-DD"), lambda m, f: "Enter a day like 2026-11-30."),
]
# Messages that name their field in a sentence rather than as `path: ...` (billing's day range).
_SENTENCES: list[tuple[re.Pattern[str], str, Any]] = [
    (
        re.compile(r"^billingEndDate \S+ must be before today"),
        "end",
        lambda m: "The last day must be before today: a day is reported once it is over (days are UTC).",
    ),
    (
        re.compile(r"^billingStartDate \S+ is after billingEndDate"),
        "start",
        lambda m: "The first day must be on or before the last day.",
    ),
    (
        re.compile(r"^The range \S+ to \S+ spans (\d+) days: a report covers at most (\d+) days"),
        "start",
        lambda m: f"A report covers at most {m[2]} days; these days span {m[1]}.",
    ),
]


def _field_of(path: str) -> str | None:
    """The form field an API path belongs to (its nearest mapped parent), or None."""
    if path.startswith(_LOCATION_ADDRESS):
        path = "address." + path.removeprefix(_LOCATION_ADDRESS)
    while path:
        if path in FIELD_MAP:
            return FIELD_MAP[path]
        if "." not in path:
            return None
        path = path.rsplit(".", 1)[0]
    return None


def plain(field: str, text: str) -> str:
    """A rule's message about `field` (without its path), as the form says it."""
    text = text.strip()
    for pattern, say in _WORDING:
        if match := pattern.search(text):
            return str(say(match, field))
    text = _REQUIREMENT_CODE.sub("", text)
    if field != FORM and re.match(r"^(must|is|are|has|should|cannot) ", text):
        return f"{LABELS.get(field, 'This field')} {text}"
    return text[:1].upper() + text[1:]


def domain_error(exc: DomainError) -> tuple[str, str]:
    """One domain problem as (form field, plain message)."""
    message = exc.message.strip()
    for pattern, about, say in _SENTENCES:
        if match := pattern.match(message):
            return about, str(say(match))
    path, _, rest = message.partition(":")
    path = path.strip()
    named = bool(rest) and bool(re.fullmatch(r"[A-Za-z][\w.]*", path))  # `field.path: what is wrong`
    field = _field_of(path) if named else None
    if field is None:
        return FORM, plain(FORM, rest if named else message)
    return field, plain(field, rest)


def pydantic_error(err: ErrorDetails) -> tuple[str, str]:
    """One pydantic error as (form field, plain message)."""
    path = ".".join(str(p) for p in err.get("loc", ()) if not isinstance(p, int))
    field = _field_of(path) or FORM
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return field, required(field)
    if kind == "string_too_long":
        return field, f"Use at most {ctx.get('max_length')} characters."
    if kind == "string_too_short":
        return field, f"Use at least {ctx.get('min_length')} characters."
    if kind in ("enum", "literal_error"):
        return field, "Choose packages from the list." if "packages" in field else "Choose one of the options."
    if kind.startswith(("int_", "float_", "decimal_")) or kind in ("greater_than_equal", "less_than_equal"):
        return field, "Enter a whole number in the allowed range."
    if kind.startswith(("date_", "datetime_")):
        return field, "Enter a day like 2026-11-30."
    if kind.startswith("bool_"):
        return field, "Tick the box or leave it empty."
    return field, f"Check the {LABELS[field].lower()}." if field in LABELS else "Check what you entered."


def problems_of(exc: Exception) -> list[tuple[str, str]]:
    """Every problem an exception carries, as (form field, plain message), in the order found."""
    if isinstance(exc, ValidationError):
        return [pydantic_error(err) for err in exc.errors()]
    if isinstance(exc, Problems):
        return [domain_error(found) for found in exc.found]
    if isinstance(exc, DomainError):
        return [domain_error(exc)]
    return [(FORM, str(exc))]


def field_errors(*excs: Exception, order: Sequence[str] = ()) -> Errors:
    """Map errors to {form field: plain message}: the first message per field, in the form's `order` (fields it
    does not list after those, `_form` first of all)."""
    return collect((p for exc in excs for p in problems_of(exc)), order=order)


def collect(problems: Iterable[tuple[str, str]], *, order: Sequence[str] = ()) -> Errors:
    found: Errors = {}
    for field, message in problems:
        found.setdefault(field, message)
    rank = {FORM: -1} | {field: i for i, field in enumerate(order)}
    return dict(sorted(found.items(), key=lambda item: rank.get(item[0], len(rank))))


def typed(form: FormData, lists: Sequence[str] = ()) -> dict[str, Any]:
    """What was typed into a form, to fill it again: every field but the CSRF token and passwords, as text;
    the fields in `lists` (checkboxes, multiple selects) as lists."""
    skip = {"csrf", "password", "token"}
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if k not in skip and k not in lists}
    for name in lists:
        values[name] = [str(v) for v in form.getlist(name)]
    return values


def customer_body(form: FormData) -> tuple[CustomerCreate | None, Errors]:
    """The API's create body from the new-customer form (the schema and rules of POST /v1/wholesale/customers),
    or None and the problems pydantic found (only a tampered form gets there: every field is text)."""
    text = lambda name: str(form.get(name) or "").strip() or None  # noqa: E731
    address = {
        "addressLine1": text("address_line1") or "",
        "addressLine2": text("address_line2"),
        "city": text("city") or "",
        "stateOrProvince": text("state"),
        "zipOrPostalCode": text("zip"),
        "country": text("country") or "",
    }
    packages = [str(p) for p in form.getlist("packages")]
    body: dict[str, Any] = {
        "provisioningId": text("template") or "",
        "packages": packages,
        "externalId": text("external_id") or "",
        "address": address,
        "customerInfo": {"name": text("name") or "", "primaryEmail": text("email") or ""},
    }
    if any(p in CALLING_PACKAGES for p in packages) and (text("location_name") or text("location_timezone")):
        # The calling location sits at the billing address; the form asks only for its name and time zone. Either
        # one given sends both, so a missing one is reported with the other's problems.
        body["provisioningParameters"] = {
            "calling": {
                "location": {
                    "name": text("location_name") or "",
                    "address": address,
                    "timezone": text("location_timezone") or "",
                    "language": "en_us",
                }
            }
        }
    try:
        return CustomerCreate.model_validate(body), {}
    except ValidationError as exc:
        return None, field_errors(exc, order=CUSTOMER_FIELDS)


# Valid values for a template's fields that did not parse, so the rules can still look at the others.
_TEMPLATE_STAND_INS: dict[str, Any] = {
    "name": "-",
    "language": "en_us",
    "meetingsTimezone": None,
    "allowedPackages": None,
}


def template_body(form: FormData) -> tuple[TemplateIn, Errors]:
    """The API's template body from the template form, and what pydantic found wrong (by form field). With
    problems, the body has stand-ins for the fields in question: check it (nothing written) for the others'."""
    data: dict[str, Any] = {
        "name": str(form.get("name") or "").strip(),
        "language": str(form.get("language") or "").strip() or "en_us",
        "meetingsTimezone": str(form.get("meetings_timezone") or "").strip() or None,
        "pstnEnabled": form.get("pstn_enabled") == "on",
        "allowedPackages": [str(p) for p in form.getlist("allowed_packages")] or None,
    }
    try:
        return TemplateIn.model_validate(data), {}
    except ValidationError as exc:
        wrong = {str(err["loc"][0]) for err in exc.errors() if err.get("loc")}
        stand_ins = {k: v for k, v in _TEMPLATE_STAND_INS.items() if k in wrong}
        return TemplateIn.model_validate(data | stand_ins), field_errors(exc, order=TEMPLATE_FIELDS)


def report_body(values: Mapping[str, str]) -> tuple[ReportCreate | None, Errors]:
    """The API's billing report body from the report form's values (start, end, type, category)."""
    try:
        body = ReportCreate.model_validate(
            {
                "billingStartDate": values["start"],
                "billingEndDate": values["end"],
                "type": values["type"] or None,
                "category": values["category"] or None,
            }
        )
    except ValidationError as exc:
        return None, field_errors(exc, order=REPORT_FIELDS)
    return body, {}
