"""Subscriber errors in plain words, for people (the portal): what went wrong and what to do, next to the form field
it is about, without the API's field paths or error codes.

The wording reads the rules' own messages (`rules`, `customers.validation`, pydantic's for bulk rows): a test of
each message keeps the two in step.
"""

import re
from typing import Any

from pydantic import ValidationError

from wholesale.kit.errors import DomainError
from wholesale.packages.catalog import package_name
from wholesale.subscribers import rules

# The API's field paths -> the portal's form fields ("_form": about the whole form).
FIELDS = {
    "email": "email",
    "firstName": "first_name",
    "lastName": "last_name",
    "provisioningParameters.firstName": "first_name",
    "provisioningParameters.lastName": "last_name",
    "primaryPhoneNumber": "phone",
    "provisioningParameters.primaryPhoneNumber": "phone",
    "extension": "extension",
    "provisioningParameters.extension": "extension",
    "provisioningParameters": "phone",
    "provisioningParameters.locationId": "package",
    "package": "package",
    "packages": "package",
}
LABELS = {
    "email": "The email address",
    "first_name": "The first name",
    "last_name": "The last name",
    "phone": "The phone number",
    "extension": "The extension",
    "package": "The package",
}
_PATH = re.compile(r"^([A-Za-z][\w.]*): (.*)$", re.S)


def _names(codes: str) -> str:
    """'webex_calling, webex_suite' -> 'Webex Calling, Webex Suite'."""
    return ", ".join(package_name(c.strip()) for c in codes.split(",") if c.strip())


def _cap(limit: int, package: str) -> str:
    name = package_name(package)
    if limit == 0:
        return f"This customer may not assign any {name} licences: its cap is 0."
    if limit == 1:
        return f"This customer has used the one {name} licence it may assign."
    return f"This customer has used all {limit} {name} licences it may assign."


def explain(error: dict[str, Any], *, package: str | None = None) -> tuple[str, str]:
    """One error of the API's error body as (form field, plain words). `package`: the package the row or form asked
    for, when known (a bulk row's unknown package names it)."""
    code = int(error.get("errorCode") or 0)
    text = str(error.get("description") or "").strip()
    found = lambda pattern: re.search(pattern, text)  # noqa: E731
    if code == 409500 and (m := found(r"cap for (\w+) is reached: limit (\d+)")):
        return "package", _cap(
            int(m.group(2)), m.group(1)
        ) + " Free one by removing a user or moving one to another package."
    if code == 409510 and (m := found(r"packages: (\w+) of customer .* is (\w+);")):
        if m.group(2) == "absent":
            return "package", f"This customer does not have {package_name(m.group(1))}."
        return "package", f"{package_name(m.group(1))} is not ready for this customer yet; try again once it is set up."
    if code == 400310 and (m := found(r"(\w+) is not a package of customer .*\(it holds: (.*)\)\.$")):
        held = m.group(2)
        if held == "none":
            return "package", f"This customer does not have {package_name(m.group(1))}, nor any other package yet."
        return "package", f"This customer does not have {package_name(m.group(1))}. It has: {_names(held)}."
    if code == 400311 and (
        m := found(r"(\w+) is an add-on that needs the customer to hold one of (.*); it holds none")
    ):
        return (
            "package",
            f"{package_name(m.group(1))} is an add-on: the customer also needs one of {_names(m.group(2))}.",
        )
    if code in (400301, 400302, 400303):
        return "package", "Choose one package: every user holds exactly one."
    if code == 400320 and (m := found(r"calling-enabled package (\w+)")):
        return "phone", f"{package_name(m.group(1))} includes calling: enter a phone number, an extension, or both."
    if code == 400321:
        return "package", "This customer has no calling location, so its users cannot have a package with calling."
    if code == 400322:
        return "_form", "That calling location is not this customer's."
    if code == 400323 and (m := found(r"'(.*)' must be 2 to 10 digits")):
        return "extension", f"An extension is 2 to 10 digits; “{m.group(1)}” is not."
    if code == 400324 and (m := found(r"'(.*)' is not a valid phone number")):
        return (
            "phone",
            f"“{m.group(1)}” is not a phone number that can be dialled. Include the country code, e.g. +1 408 555 0100.",
        )
    if code == 409520:
        return "phone", "Another user of this customer already has this phone number."
    if code == 409521:
        return "extension", "Another user at this calling location already has this extension."
    if code == 409530 and (
        m := found(
            r"packages: (\S+) is the customer's (full administrator|an administrator) "
            r"and must keep (\w+) .*; (\w+) is lower"
        )
    ):
        who = (
            "this customer's full administrator"
            if m.group(2) == "full administrator"
            else "an administrator of this customer"
        )
        return "package", (
            f"{m.group(1)} is {who} and must keep {package_name(m.group(3))} or a higher package; "
            f"{package_name(m.group(4))} is lower. Nothing was changed."
        )
    if code == 409540 and (m := found(r"^(\S+) is the customer's full administrator")):
        return "_form", f"{m.group(1)} is this customer's full administrator and stays as long as the customer does."
    if code == rules.EMAIL_IN_USE or found(r"already associated with an existing user"):
        return "email", "This email address already belongs to another user."
    if code == 409600:
        return "_form", "This customer is being removed: its users can no longer change."
    if code == 409601:
        return "_form", "This customer is still being set up: add users once it is provisioned."
    return _by_field(text, package)


def _by_field(text: str, package: str | None) -> tuple[str, str]:
    """A field-naming message (`path: what is wrong`, the checks' and pydantic's): the field, and the words."""
    match = _PATH.match(text)
    if match is None:
        return "_form", text
    path, detail = match.group(1), match.group(2).strip()
    field = FIELDS.get(path, "_form")
    label = LABELS.get(field, "A value")
    if detail == "Field required" or detail == "is required" or detail.startswith("is required:"):
        if field == "package":
            return field, "Choose a package: every user holds exactly one."
        return field, f"{label} is missing."
    if field == "email" and "not a valid email address" in detail:
        return field, "Enter an email address like name@example.com."
    if field == "package" and detail.startswith("Input should be"):
        given = f"“{package}”" if package else "That package"
        return field, f"{given} is not a package a user can hold."
    if detail.startswith(("must ", "is ")):
        return field, f"{label} {detail}"
    if detail.startswith("String should have at most"):
        return field, f"{label} is too long: {detail[len('String should have ') :]}."
    return field, f"{label}: {detail[:1].lower()}{detail[1:]}"


def errors_of(exc: Exception) -> list[dict[str, Any]]:
    """The API's error list of a refusal (a DomainError) or of a body that did not parse (pydantic), one per problem."""
    if isinstance(exc, ValidationError):
        return [
            {
                "description": f"{'.'.join(str(p) for p in e['loc'] if not isinstance(p, int))}: {e['msg']}",
                "errorCode": 400100,
            }
            for e in exc.errors()
        ]
    if isinstance(exc, DomainError):
        return exc.errors
    return [{"description": str(exc), "errorCode": 400000}]


def explain_all(errors: list[dict[str, Any]], *, package: str | None = None) -> dict[str, str]:
    """Every error as {form field: plain words} (two on one field are joined)."""
    out: dict[str, str] = {}
    for error in errors:
        # A bulk row that did not parse carries its pydantic problems joined in one description (rules.row_errors).
        parts = str(error.get("description") or "").split("; ") if error.get("errorCode") == 400100 else [None]
        for part in parts:
            field, words = explain(error if part is None else {**error, "description": part}, package=package)
            out[field] = f"{out[field]} {words}" if field in out and words not in out[field] else words
    return out
