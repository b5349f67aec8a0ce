"""Meetings-site locations and the organisation-country -> location mapping (R18)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from types import MappingProxyType

import pycountry

AMER = "AMER"
APAC = "APAC"
ANZ = "ANZ"
EMEA = "EMEA"
EURO = "EURO"

# Table order from DOMAIN.md R18 (#1..#5); kept as a tuple so callers can list locations in that order.
LOCATIONS: tuple[str, ...] = (AMER, APAC, ANZ, EMEA, EURO)

# R18: the country whose call-in numbers a site falls back to when its own country has none.
# Read-only so no caller can silently change the fallback for the whole process.
LOCATION_DEFAULT_COUNTRY: Mapping[str, str] = MappingProxyType(
    {AMER: "US", APAC: "SG", ANZ: "AU", EMEA: "GB", EURO: "DE"}
)

LOCATION_OVERRIDE_HEADER: tuple[str, ...] = ("country", "location")

# --- Default mapping -------------------------------------------------------------------------
# Written out country by country (rather than "everything else -> EMEA") so a reviewer can see every
# decision and so a new pycountry code fails the completeness test instead of landing somewhere silently.
#
# Guiding principles for dependencies and territories that have their own ISO code:
#   * A territory that is legally part of an EU/EEA state (EU outermost regions, Åland, Svalbard)
#     goes with its state -> EURO: EURO exists for EU/EEA residency, and those numbers are the state's.
#   * Australian external territories and the New Zealand realm go with their state -> ANZ.
#   * Every other dependency (EU "overseas countries and territories", British overseas territories,
#     US territories, Danish realm outside the EU) follows its geography.
#   * Uninhabited territories go to the location that administers or serves them (see comments).

_EURO = {
    # EU member states.
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
    # EEA (non-EU) members, and Switzerland by explicit decision of the issue.
    "IS",
    "LI",
    "NO",
    "CH",
    # EU territory with its own ISO code: Åland (Finland) and the French outermost regions
    # (Guadeloupe, French Guiana, Martinique, Réunion, Mayotte, Saint-Martin). They are inside the EU,
    # so EU residency applies even though most of them lie in the Americas or Africa.
    "AX",
    "GP",
    "GF",
    "MQ",
    "RE",
    "YT",
    "MF",
    # Svalbard and Jan Mayen: integral part of Norway (+47 numbering); the EEA trade carve-out for
    # Svalbard does not change where its organisations' data should live.
    "SJ",
}

_EMEA = {
    # Rest of Europe. Note: the microstates AD, MC, SM, VA are not EU/EEA members, so they follow the
    # issue's letter (EMEA); an operator who prefers EURO for them can override by file.
    "GB",
    "GG",
    "JE",
    "IM",
    "GI",
    "FO",
    "AL",
    "AD",
    "BA",
    "BY",
    "MC",
    "MD",
    "ME",
    "MK",
    "RS",
    "RU",
    "SM",
    "UA",
    "VA",
    "TR",
    # Caucasus and Central Asia: conventionally grouped with Russia/CIS in EMEA sales regions.
    "AM",
    "AZ",
    "GE",
    "KZ",
    "KG",
    "TJ",
    "TM",
    "UZ",
    # Middle East.
    "AE",
    "BH",
    "IL",
    "IQ",
    "IR",
    "JO",
    "KW",
    "LB",
    "OM",
    "PS",
    "QA",
    "SA",
    "SY",
    "YE",
    # Africa (north and sub-Saharan).
    "DZ",
    "EG",
    "EH",
    "LY",
    "MA",
    "SD",
    "TN",
    "AO",
    "BJ",
    "BW",
    "BF",
    "BI",
    "CV",
    "CM",
    "CF",
    "TD",
    "KM",
    "CD",
    "CG",
    "CI",
    "DJ",
    "GQ",
    "ER",
    "SZ",
    "ET",
    "GA",
    "GM",
    "GH",
    "GN",
    "GW",
    "KE",
    "LS",
    "LR",
    "MG",
    "MW",
    "ML",
    "MR",
    "MU",
    "MZ",
    "NA",
    "NE",
    "NG",
    "RW",
    "ST",
    "SN",
    "SC",
    "SL",
    "SO",
    "ZA",
    "SS",
    "TZ",
    "TG",
    "UG",
    "ZM",
    "ZW",
    # British territories in the South Atlantic / Indian Ocean. UN M49 lists the British Indian
    # Ocean Territory under Eastern Africa; Saint Helena lies off West Africa.
    "SH",
    "IO",
    # French Southern Territories: not EU territory (an OCT), administered from Réunion; nearest
    # populated land is East Africa / the Indian Ocean islands.
    "TF",
    # Bouvet Island: uninhabited Norwegian dependency outside the EEA; nearest land is South Africa.
    "BV",
}

_AMER = {
    # North America.
    "US",
    "CA",
    "MX",
    "BM",
    "PM",
    # Greenland: Danish realm but outside the EU; geographically North America and its cables land
    # in Canada as well as Iceland.
    "GL",
    # Central America.
    "BZ",
    "CR",
    "SV",
    "GT",
    "HN",
    "NI",
    "PA",
    # South America, incl. the Falklands and South Georgia (British, South Atlantic).
    "AR",
    "BO",
    "BR",
    "CL",
    "CO",
    "EC",
    "GY",
    "PY",
    "PE",
    "SR",
    "UY",
    "VE",
    "FK",
    "GS",
    # Caribbean (independent states and non-EU territories: British, Dutch, US, French OCT Saint-Barthélemy).
    "AG",
    "AI",
    "AW",
    "BB",
    "BL",
    "BQ",
    "BS",
    "CU",
    "CW",
    "DM",
    "DO",
    "GD",
    "HT",
    "JM",
    "KN",
    "KY",
    "LC",
    "MS",
    "PR",
    "SX",
    "TC",
    "TT",
    "VC",
    "VG",
    "VI",
    # US Minor Outlying Islands: scattered, essentially uninhabited US possessions administered from
    # the mainland; any organisation registered there is a US one.
    "UM",
}

_ANZ = {
    "AU",
    "NZ",
    # Australian external territories (Christmas Island and Cocos use +61 numbering).
    "CX",
    "CC",
    "NF",
    "HM",
    # New Zealand realm: Cook Islands, Niue, Tokelau.
    "CK",
    "NU",
    "TK",
    # Antarctica: no resident organisations; Australia claims the largest sector and Hobart and
    # Christchurch are the main gateways, so ANZ is the nearest sensible location.
    "AQ",
}

_APAC = {
    # South Asia (Afghanistan and Pakistan are borderline with the Middle East; geography wins).
    "AF",
    "BD",
    "BT",
    "IN",
    "LK",
    "MV",
    "NP",
    "PK",
    # East Asia.
    "CN",
    "HK",
    "MO",
    "TW",
    "JP",
    "KR",
    "KP",
    "MN",
    # South-East Asia.
    "BN",
    "KH",
    "ID",
    "LA",
    "MY",
    "MM",
    "PH",
    "SG",
    "TH",
    "TL",
    "VN",
    # Pacific island states.
    "FJ",
    "FM",
    "KI",
    "MH",
    "NR",
    "PW",
    "PG",
    "SB",
    "TO",
    "TV",
    "VU",
    "WS",
    # Pacific territories outside the EU and outside AU/NZ: US (Guam, Northern Marianas, American
    # Samoa), French OCTs (French Polynesia, New Caledonia, Wallis and Futuna), British (Pitcairn).
    "GU",
    "MP",
    "AS",
    "PF",
    "NC",
    "WF",
    "PN",
}

_DEFAULT_GROUPS: tuple[tuple[str, frozenset[str]], ...] = (
    (AMER, frozenset(_AMER)),
    (APAC, frozenset(_APAC)),
    (ANZ, frozenset(_ANZ)),
    (EMEA, frozenset(_EMEA)),
    (EURO, frozenset(_EURO)),
)


class LocationFileError(ValueError):
    """A location-override file was refused; `errors` holds every line-numbered problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        super().__init__("location file refused:\n" + "\n".join(self.errors))


class UnknownCountryError(ValueError):
    """A country code that is not an ISO-3166-1 alpha-2 code, or that no mapping covers."""


def default_location_map() -> dict[str, str]:
    """Return a fresh copy of the built-in country -> location mapping."""
    mapping: dict[str, str] = {}
    for location, countries in _DEFAULT_GROUPS:
        for country in countries:
            mapping[country] = location
    return mapping


def build_location_map(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the default mapping with operator overrides applied on top."""
    mapping = default_location_map()
    if overrides:
        mapping.update(overrides)
    return mapping


def location_for(country: str, mapping: Mapping[str, str]) -> str:
    """Return the location a site for an organisation in `country` lives in (R18)."""
    code = country.strip().upper()
    try:
        return mapping[code]
    except KeyError:
        # A mapping that holds only overrides must not make a valid country unplaceable.
        fallback = default_location_map().get(code)
        if fallback is None:
            raise UnknownCountryError(f"no location for country {country!r}") from None
        return fallback


def load_location_overrides(text: str | bytes) -> dict[str, str]:
    """Parse a `country,location` CSV into overrides; raise LocationFileError listing every bad line."""
    decoded, error = _decode_text(text)
    if error:
        raise LocationFileError([error])
    rows, syntax_error = _read_rows(decoded)
    if not rows:
        if syntax_error:
            raise LocationFileError([syntax_error])
        raise LocationFileError([f"line 1: file is empty; expected header {','.join(LOCATION_OVERRIDE_HEADER)}"])
    (header_line, header_fields), body = rows[0], rows[1:]
    if tuple(f.strip() for f in header_fields) != LOCATION_OVERRIDE_HEADER:
        raise LocationFileError(
            [
                f"line {header_line}: header must be exactly {','.join(LOCATION_OVERRIDE_HEADER)!r}, "
                f"got {','.join(header_fields)!r}"
            ]
        )

    errors: list[str] = []
    overrides: dict[str, str] = {}
    first_seen: dict[str, int] = {}
    # A header with no rows is a valid "no overrides" file: the defaults stay in force.
    for line, fields in body:
        if len(fields) != len(LOCATION_OVERRIDE_HEADER):
            errors.append(f"line {line}: expected {len(LOCATION_OVERRIDE_HEADER)} fields, got {len(fields)}")
            continue
        raw_country, raw_location = (f.strip() for f in fields)
        row_errors: list[str] = []
        country = _check_country(raw_country, line, row_errors)
        location = raw_location.upper()
        if location not in LOCATIONS:
            row_errors.append(f"line {line}: unknown location {raw_location!r}; expected one of {', '.join(LOCATIONS)}")
        if country is not None and country in first_seen:
            row_errors.append(f"line {line}: duplicate country {country} (first on line {first_seen[country]})")
        errors.extend(row_errors)
        if country is not None and country not in first_seen:
            first_seen[country] = line
        if not row_errors and country is not None:
            overrides[country] = location
    if syntax_error:
        errors.append(syntax_error)
    if errors:
        raise LocationFileError(errors)
    return overrides


def dump_location_overrides(overrides: Mapping[str, str]) -> str:
    """Render overrides as a `country,location` CSV that load_location_overrides accepts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LOCATION_OVERRIDE_HEADER)
    for country in sorted(overrides):
        writer.writerow((country, overrides[country]))
    return out.getvalue()


def _check_country(raw: str, line: int, errors: list[str]) -> str | None:
    """Return the upper-cased alpha-2 code, or record an error and return None."""
    code = raw.upper()
    if len(code) != 2 or not code.isalpha() or pycountry.countries.get(alpha_2=code) is None:
        errors.append(f"line {line}: unknown country {raw!r}; expected an ISO-3166-1 alpha-2 code")
        return None
    return code


def _decode_text(data: str | bytes) -> tuple[str, str | None]:
    """Return (text, None), or ("", line-numbered error) when bytes are not UTF-8."""
    if isinstance(data, bytes):
        try:
            # utf-8-sig: spreadsheet exports often start with a BOM that would corrupt the header.
            return data.decode("utf-8-sig"), None
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            return "", f"line {line}: file is not valid UTF-8 (byte {exc.start})"
    return data.removeprefix("\ufeff"), None


def _read_rows(text: str) -> tuple[list[tuple[int, list[str]]], str | None]:
    """Return (first physical line, fields) per non-blank CSV record, plus a syntax error if any."""
    # strict: an unterminated quote must be an error, not silently swallow the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    # reader.line_num is the line a record *ends* on; track the start so quoted multi-line fields
    # still report the line an operator would look at.
    start = 1
    try:
        for fields in reader:
            end = reader.line_num
            if fields and any(f.strip() for f in fields):
                rows.append((start, fields))
            start = end + 1
    except csv.Error as exc:
        # Rows read so far are still validated so the operator sees every problem at once.
        return rows, f"line {start}: malformed CSV ({exc})"
    return rows, None
