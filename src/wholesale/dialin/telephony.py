"""The telephony domain: call-in numbers per country, parsed from and dumped to operator CSV (R17, R18)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import phonenumbers

from wholesale.dialin.locations import _check_country, _decode_text, _read_rows

TollType = Literal["toll", "tollFree"]

TELEPHONY_HEADER: tuple[str, ...] = ("country", "number", "label", "tollType", "available")
TOLL_TYPES: tuple[TollType, ...] = ("toll", "tollFree")


def parse_toll_type(value: str) -> TollType | None:
    """Return `value` as a TollType, or None when it is not one."""
    return next((t for t in TOLL_TYPES if t == value), None)


_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})

DEMO_TELEPHONY_RESOURCE = "demo_telephony.csv"


@dataclass(frozen=True, slots=True)
class CallInNumber:
    """One call-in number of the telephony domain; `order` is its 1-based position in the file."""

    country: str  # ISO-3166-1 alpha-2, upper case
    number: str  # E.164, e.g. "+14085550100"
    label: str
    toll_type: TollType
    available: bool
    order: int

    @property
    def country_calling_code(self) -> str:
        """Return the international prefix of the number, e.g. "+1"."""
        return "+" + str(phonenumbers.parse(self.number).country_code)


class TelephonyFileError(ValueError):
    """A telephony file was refused as a whole; `errors` holds every line-numbered problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("telephony file refused:\n" + "\n".join(self.errors))


def parse_telephony_csv(data: str | bytes) -> list[CallInNumber]:
    """Parse and validate a telephony CSV; raise TelephonyFileError listing every bad line."""
    text, decode_error = _decode_text(data)
    if decode_error:
        raise TelephonyFileError([decode_error])
    rows, syntax_error = _read_rows(text)
    expected_header = ",".join(TELEPHONY_HEADER)
    if not rows:
        raise TelephonyFileError([syntax_error or f"line 1: file is empty; expected header {expected_header}"])

    (header_line, header_fields), body = rows[0], rows[1:]
    if tuple(f.strip() for f in header_fields) != TELEPHONY_HEADER:
        # Without the agreed header the columns cannot be trusted, so rows are not checked.
        raise TelephonyFileError(
            [f"line {header_line}: header must be exactly {expected_header!r}, got {','.join(header_fields)!r}"]
        )
    if not body and not syntax_error:
        # An empty domain would silently strip every site of its call-in number; refuse it.
        raise TelephonyFileError([f"line {header_line + 1}: no call-in numbers after the header"])

    errors: list[str] = []
    numbers: list[CallInNumber] = []
    first_seen: dict[tuple[str, str], int] = {}
    for line, fields in body:
        row_errors: list[str] = []
        entry = _parse_row(line, fields, order=len(numbers) + 1, errors=row_errors)
        if entry is not None:
            key = (entry.country, entry.number)
            if key in first_seen:
                row_errors.append(
                    f"line {line}: duplicate number {entry.number} for {entry.country} "
                    f"(first on line {first_seen[key]})"
                )
            else:
                first_seen[key] = line
        errors.extend(row_errors)
        if entry is not None and not row_errors:
            numbers.append(entry)
    if syntax_error:
        errors.append(syntax_error)
    if errors:
        raise TelephonyFileError(errors)
    return numbers


def dump_csv(numbers: Iterable[CallInNumber]) -> str:
    """Render numbers, in order, as a telephony CSV that parse_telephony_csv accepts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TELEPHONY_HEADER)
    for entry in sorted(numbers, key=lambda n: n.order):
        writer.writerow(
            (entry.country, entry.number, entry.label, entry.toll_type, "true" if entry.available else "false")
        )
    return out.getvalue()


def read_demo_csv() -> str:
    """Return the text of the bundled demo telephony domain seeded by `make run`."""
    return resources.files("wholesale.dialin").joinpath("data", DEMO_TELEPHONY_RESOURCE).read_text("utf-8")


def load_demo_numbers() -> list[CallInNumber]:
    """Parse the bundled demo telephony domain."""
    return parse_telephony_csv(read_demo_csv())


def _parse_row(line: int, fields: list[str], order: int, errors: list[str]) -> CallInNumber | None:
    """Validate one data row, appending every problem to `errors`; return the entry when usable."""
    if len(fields) != len(TELEPHONY_HEADER):
        errors.append(f"line {line}: expected {len(TELEPHONY_HEADER)} fields, got {len(fields)}")
        return None
    raw_country, raw_number, label, toll_type, raw_available = (f.strip() for f in fields)

    country = _check_country(raw_country, line, errors)
    number = _check_number(raw_number, country, line, errors) if country else None
    if not label:
        errors.append(f"line {line}: label must not be empty")
    elif "\x00" in label or len(label) > 200:
        # The label is the one free-text cell: no NUL (PostgreSQL cannot store it) and it fits its column.
        errors.append(f"line {line}: label must be at most 200 characters without NUL characters")
        label = ""
    toll = parse_toll_type(toll_type)
    if toll is None:
        errors.append(f"line {line}: tollType {toll_type!r} must be one of {', '.join(TOLL_TYPES)}")
    available = _check_available(raw_available, line, errors)

    if country is None or number is None or available is None or not label or toll is None:
        return None
    return CallInNumber(
        country=country,
        number=number,
        label=label,
        toll_type=toll,
        available=available,
        order=order,
    )


def _check_number(raw: str, country: str, line: int, errors: list[str]) -> str | None:
    """Return the number in E.164 when it is a valid number of `country`, else record an error."""
    if not raw:
        errors.append(f"line {line}: number must not be empty")
        return None
    try:
        parsed = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException as exc:
        errors.append(f"line {line}: number {raw!r} cannot be parsed for {country} ({exc})")
        return None
    # is_valid_number_for_region, not just is_valid_number: a valid "+44 ..." under country FR must be
    # refused, otherwise R18 would hand a French organisation a British number.
    if not phonenumbers.is_valid_number(parsed):
        errors.append(f"line {line}: number {raw!r} is not a valid phone number for {country}")
        return None
    if not phonenumbers.is_valid_number_for_region(parsed, country):
        region = phonenumbers.region_code_for_number(parsed)
        errors.append(f"line {line}: number {raw!r} belongs to {region}, not to {country}")
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _check_available(raw: str, line: int, errors: list[str]) -> bool | None:
    """Return the boolean for true/false/1/0/yes/no (any case), else record an error."""
    value = raw.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    errors.append(f"line {line}: available {raw!r} must be one of true, false, 1, 0, yes, no")
    return None
