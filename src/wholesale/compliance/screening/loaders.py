"""Readers for restricted-party list files; the format is detected from the path and content."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from .model import Address, EntityType, Entry, ListFormatError, ListSet, ListVersion
from .normalize import country_code

_OFAC_NULL = "-0-"
_DPL_HEADER = [
    "Name",
    "Street_Address",
    "City",
    "State",
    "Country",
    "Postal_Code",
    "Effective_Date",
    "Expiration_Date",
    "Standard_Order",
    "Last_Update",
    "Action",
    "FR_Citation",
]
_BIS_CSV_NAME = "name_and_address"
_ALIAS_REMARK = re.compile(r"\b[afn]\.k\.a\.,?\s*'(.+?)'(?=\s*[;.,)]|\s*$)")
_NATIONALITY_REMARK = re.compile(r"\b(?:nationality|citizen)\s+([A-Z][A-Za-z ,.'-]+?)(?=;|\.\s|\.$|$|\s\()")
_CSL_SOURCES = {"DPL": "DPL", "SDN": "OFAC-SDN"}
_POSTAL = re.compile(r"^(?=.*\d)[A-Z0-9 -]{3,10}$", re.I)


def _decode(raw: bytes, path: Path) -> str:
    """Decode list bytes: UTF-8 when valid, else cp1252 (OFAC, BIS), else latin-1."""
    for enc in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ListFormatError("undecodable bytes", None, str(path))  # pragma: no cover - latin-1 always decodes


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or value == _OFAC_NULL:
        return None
    return value


def _lines_csv(text: str, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, row) so that every error can name the physical line it came from."""
    # OFAC files end with a DOS EOF character (0x1A) on their own line.
    text = text.replace("\x1a", "")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    line = 1
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ListFormatError(f"malformed CSV: {exc}", reader.line_num or start) from exc
        line = start
        if not row or all(not c.strip() for c in row):
            continue
        yield line, row


def _with_path(exc: ListFormatError, path: Path) -> ListFormatError:
    return ListFormatError(exc.message, exc.line, str(path))


# --- BIS Denied Persons List -------------------------------------------------------------------


def _dpl_entry_id(name: str) -> str:
    # The DPL publishes no ids; a hash of the normalised name is stable across list versions.
    return "DPL-" + hashlib.sha1(" ".join(name.upper().split()).encode()).hexdigest()[:12]


def _guess_type(name: str) -> EntityType:
    from .normalize import normalize_name

    return "company" if normalize_name(name).legal_forms else "unknown"


def _dpl_entries(rows: Iterable[tuple[str, Address | None, str | None]], version: str) -> list[Entry]:
    grouped: dict[str, tuple[str, list[Address], list[str]]] = {}
    for name, address, remark in rows:
        key = " ".join(name.upper().split())
        _, addrs, remarks = grouped.setdefault(key, (name, [], []))
        if address and address not in addrs:
            addrs.append(address)
        if remark and remark not in remarks:
            remarks.append(remark)
    return [
        Entry(
            source="DPL",
            entry_id=_dpl_entry_id(name),
            name=name,
            entity_type=_guess_type(name),
            addresses=tuple(addrs),
            remarks="; ".join(remarks) or None,
            list_version=version,
        )
        for name, addrs, remarks in grouped.values()
    ]


def _parse_dpl_tsv(text: str, version: str) -> list[Entry]:
    rows = []
    for line, row in _lines_csv(text, "\t"):
        if line == 1:
            if [c.strip() for c in row] != _DPL_HEADER:
                raise ListFormatError(f"unexpected DPL header {row[:3]}...", line)
            continue
        if len(row) != len(_DPL_HEADER):
            raise ListFormatError(f"expected {len(_DPL_HEADER)} tab-separated fields, got {len(row)}", line)
        name = _clean(row[0])
        if not name:
            raise ListFormatError("empty Name", line)
        country_raw = _clean(row[4])
        address = Address(
            street=_clean(row[1]),
            city=_clean(row[2]),
            state=_clean(row[3]),
            postal_code=_clean(row[5]),
            # Blank country on the DPL means a US address.
            country=country_code(country_raw) or (None if country_raw else "US"),
            country_name=country_raw,
        )
        rows.append((name, address, _clean(row[11])))
    if not rows:
        raise ListFormatError("no entries", 1)
    return _dpl_entries(rows, version)


def _split_address(text: str | None) -> Address | None:
    """Split a one-line address 'street, city, state, postal, country' from the right."""
    if not text:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        return None
    country = country_name = postal = state = city = None
    if len(parts) > 1 and (code := country_code(parts[-1])):
        country, country_name = code, parts.pop()
    if parts and len(parts) > 1 and _POSTAL.match(parts[-1]):
        postal = parts.pop()
    if parts and len(parts) > 1 and len(parts[-1]) == 2 and parts[-1].isalpha():
        state = parts.pop()
    if parts and len(parts) > 1:
        city = parts.pop()
    street = ", ".join(parts) or None
    return Address(
        street=street, city=city, state=state, postal_code=postal, country=country, country_name=country_name
    )


def _parse_bis_csv(text: str, version: str) -> list[Entry]:
    header: list[str] | None = None
    rows = []
    for line, row in _lines_csv(text):
        if header is None:
            header = [c.strip().lower() for c in row]
            if _BIS_CSV_NAME not in header:
                raise ListFormatError("missing column name_and_address", line)
            continue
        if len(row) != len(header):
            raise ListFormatError(f"expected {len(header)} fields, got {len(row)}", line)
        rec = dict(zip(header, row, strict=False))
        both = (rec.get(_BIS_CSV_NAME) or "").strip()
        name, _, addr = both.partition(",")
        if not name.strip():
            raise ListFormatError("empty name_and_address", line)
        rows.append((name.strip(), _split_address(addr), _clean(rec.get("appropriate_federal_register_citations"))))
    if not rows:
        raise ListFormatError("no entries", 1)
    return _dpl_entries(rows, version)


# --- OFAC SDN / consolidated non-SDN ------------------------------------------------------------


def _ofac_type(value: str | None) -> EntityType:
    match (value or "").lower():
        case "individual":
            return "person"
        case "vessel":
            return "vessel"
        case "aircraft":
            return "unknown"
        case _:
            return "company"


def _ofac_rows(text: str, width: int, what: str) -> Iterator[tuple[int, list[str]]]:
    for line, row in _lines_csv(text):
        if len(row) != width:
            raise ListFormatError(f"{what}: expected {width} fields, got {len(row)}", line)
        if not row[0].strip().isdigit():
            raise ListFormatError(f"{what}: ent_num {row[0]!r} is not a number", line)
        yield line, row


def _parse_ofac(files: dict[str, tuple[Path, str]], source: str, version: str) -> list[Entry]:
    """Read an OFAC prim file (sdn.csv / cons_prim.csv) with its optional add/alt/comments files."""
    prim_path, prim_text = files["prim"]
    comments: dict[str, str] = {}
    if "comments" in files:
        path, text = files["comments"]
        try:
            for line, row in _lines_csv(text.replace("\x1a", "")):
                if len(row) < 2 or not row[0].strip().isdigit():
                    raise ListFormatError("comments: expected ent_num,remarks", line)
                comments[row[0].strip()] = comments.get(row[0].strip(), "") + ",".join(row[1:])
        except ListFormatError as exc:
            raise _with_path(exc, path) from None
    addresses: dict[str, list[Address]] = {}
    if "add" in files:
        path, text = files["add"]
        try:
            for _, row in _ofac_rows(text, 6, "address"):
                city_line = _clean(row[3])
                postal = None
                if city_line:
                    m = re.search(r"\b([A-Z]{0,3}-?\d[\dA-Z -]{2,9})$", city_line)
                    if m:
                        postal = m.group(1).strip()
                        city_line = city_line[: m.start()].strip(" ,") or None
                address = Address(
                    street=_clean(row[2]),
                    city=city_line,
                    postal_code=postal,
                    country=country_code(_clean(row[4])),
                    country_name=_clean(row[4]),
                )
                if address != Address():
                    addresses.setdefault(row[0].strip(), []).append(address)
        except ListFormatError as exc:
            raise _with_path(exc, path) from None
    aliases: dict[str, list[str]] = {}
    if "alt" in files:
        path, text = files["alt"]
        try:
            for line, row in _ofac_rows(text, 5, "alias"):
                alias = _clean(row[3])
                if not alias:
                    raise ListFormatError("alias: empty alt_name", line)
                aliases.setdefault(row[0].strip(), []).append(alias)
        except ListFormatError as exc:
            raise _with_path(exc, path) from None
    entries = []
    try:
        for line, row in _ofac_rows(prim_text, 12, "entry"):
            ent = row[0].strip()
            name = _clean(row[1])
            if not name:
                raise ListFormatError("entry: empty SDN_Name", line)
            remarks = " ".join(filter(None, [_clean(row[11]), comments.get(ent)])) or None
            alias_list = list(aliases.get(ent, []))
            nationalities: list[str] = []
            if remarks:
                # Without alt.csv the remarks are the only place aliases are published.
                for a in _ALIAS_REMARK.findall(remarks):
                    if a not in alias_list and a != name:
                        alias_list.append(a)
                for n in _NATIONALITY_REMARK.findall(remarks):
                    code = country_code(n.strip(" ,."))
                    if code and code not in nationalities:
                        nationalities.append(code)
            programs = tuple(p.strip() for p in re.split(r"\]\s*\[|[\[\]]", _clean(row[3]) or "") if p.strip())
            entries.append(
                Entry(
                    source=source,
                    entry_id=ent,
                    name=name,
                    entity_type=_ofac_type(_clean(row[2])),
                    aliases=tuple(alias_list),
                    addresses=tuple(addresses.get(ent, [])),
                    nationalities=tuple(nationalities),
                    programs=programs,
                    remarks=remarks,
                    list_version=version,
                )
            )
    except ListFormatError as exc:
        raise _with_path(exc, prim_path) from None
    if not entries:
        raise ListFormatError("no entries", 1, str(prim_path))
    return entries


# --- trade.gov Consolidated Screening List -----------------------------------------------------


def _csl_source(value: str) -> str:
    m = re.search(r"\(([^)]+)\)", value or "")
    code = (m.group(1) if m else (value or "CSL")).replace(" List", "").strip()
    return _CSL_SOURCES.get(code, f"CSL-{code}")


def _csl_type(value: str | None, name: str) -> EntityType:
    v = (value or "").lower()
    if v == "individual":
        return "person"
    if v == "vessel":
        return "vessel"
    if v == "entity":
        return "company"
    return _guess_type(name)


def _split_multi(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value or "").split(";") if v.strip()]


def _csl_entry(rec: dict[str, Any], version: str, line: int) -> Entry:
    name = str(rec.get("name") or "").strip()
    if not name:
        raise ListFormatError("empty name", line)
    addrs: list[Address] = []
    raw_addrs = rec.get("addresses") or []
    if isinstance(raw_addrs, list):
        for a in raw_addrs:
            if isinstance(a, dict) and any(a.values()):
                addrs.append(
                    Address(
                        street=_clean(a.get("address")),
                        city=_clean(a.get("city")),
                        state=_clean(a.get("state")),
                        postal_code=_clean(a.get("postal_code")),
                        country=country_code(_clean(a.get("country"))),
                        country_name=_clean(a.get("country")),
                    )
                )
    else:
        addrs = [a for a in (_split_address(s) for s in _split_multi(raw_addrs)) if a]
    nationalities = [
        c
        for c in (
            country_code(x) for x in _split_multi(rec.get("nationalities")) + _split_multi(rec.get("citizenships"))
        )
        if c
    ]
    entry_id = str(rec.get("entity_number") or rec.get("_id") or rec.get("id") or "").strip()
    if not entry_id:
        entry_id = "CSL-" + hashlib.sha1(name.encode()).hexdigest()[:12]
    return Entry(
        source=_csl_source(str(rec.get("source") or "")),
        entry_id=entry_id,
        name=name,
        entity_type=_csl_type(rec.get("type"), name),
        aliases=tuple(a for a in _split_multi(rec.get("alt_names")) if a != name),
        addresses=tuple(addrs),
        nationalities=tuple(dict.fromkeys(nationalities)),
        programs=tuple(_split_multi(rec.get("programs"))),
        remarks=_clean(str(rec.get("remarks") or "")),
        list_version=version,
    )


def _parse_csl_csv(text: str, version: str) -> list[Entry]:
    header: list[str] | None = None
    entries = []
    for line, row in _lines_csv(text):
        if header is None:
            header = [c.strip().lower() for c in row]
            if "name" not in header or "source" not in header:
                raise ListFormatError("CSL header needs 'source' and 'name'", line)
            continue
        if len(row) != len(header):
            raise ListFormatError(f"expected {len(header)} fields, got {len(row)}", line)
        entries.append(_csl_entry(dict(zip(header, row, strict=False)), version, line))
    if not entries:
        raise ListFormatError("no entries", 1)
    return entries


def _parse_csl_json(text: str, version: str) -> list[Entry]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ListFormatError(f"invalid JSON: {exc.msg}", exc.lineno) from exc
    records = data.get("results", data) if isinstance(data, dict) else data
    if not isinstance(records, list) or not records:
        raise ListFormatError("expected a list of records or {'results': [...]}", 1)
    entries = []
    for i, rec in enumerate(records, 1):
        if not isinstance(rec, dict):
            raise ListFormatError(f"record {i} is not an object", 1)
        # JSON has no useful line per record; the record number stands in for it.
        entries.append(_csl_entry(rec, version, i))
    return entries


# --- detection and loading ---------------------------------------------------------------------

_COMPANIONS = {
    "sdn": {"add": "add.csv", "alt": "alt.csv", "comments": "sdn_comments.csv"},
    "cons_prim": {"add": "cons_add.csv", "alt": "cons_alt.csv", "comments": "cons_comments.csv"},
}
_COMPANION_NAMES = {n for c in _COMPANIONS.values() for n in c.values()}


def _detect(path: Path, text: str) -> str:
    head = text.lstrip("\ufeff").lstrip()[:2000]
    first = head.splitlines()[0] if head else ""
    if not head:
        raise ListFormatError("empty file", 1, str(path))
    if head[0] in "[{":
        return "csl-json"
    if first.startswith(('"Name"\t', "Name\t")):
        return "dpl-tsv"
    lower = first.lower()
    if _BIS_CSV_NAME in lower:
        return "bis-csv"
    if "source" in lower and "name" in lower and ("entity_number" in lower or "alt_names" in lower):
        return "csl-csv"
    if re.match(r"^\d+,", first):
        return "ofac-cons" if path.name.lower().startswith("cons") else "ofac-sdn"
    raise ListFormatError(f"unrecognised list format (first line {first[:60]!r})", 1, str(path))


def _hash(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()


def _companions(path: Path, fmt: str) -> dict[str, Path]:
    """The OFAC companion files (add/alt/comments) present next to an OFAC prim file, by role."""
    if fmt not in ("ofac-sdn", "ofac-cons"):
        return {}
    stem = "cons_prim" if fmt == "ofac-cons" else "sdn"
    found = {role: path.with_name(name) for role, name in _COMPANIONS[stem].items()}
    return {role: p for role, p in found.items() if p.is_file()}


def list_files(path: str | Path) -> list[Path]:
    """The files `load_list(path)` reads and hashes: the file, and for an OFAC prim file its companions.

    Whoever copies a list elsewhere (a stored list set) must copy all of them, or the copy loads without
    addresses and aliases and under another version hash.
    """
    path = Path(path)
    return [path, *_companions(path, _detect(path, _decode(path.read_bytes(), path))).values()]


def load_list(path: str | Path) -> tuple[ListVersion, list[Entry]]:
    """Load one list file (companion OFAC files are picked up from the same folder)."""
    path = Path(path)
    if path.name.lower() in _COMPANION_NAMES:
        raise ListFormatError("OFAC companion file: load the folder or its sdn.csv / cons_prim.csv", None, str(path))
    raw = path.read_bytes()
    text = _decode(raw, path)
    fmt = _detect(path, text)
    if fmt in ("ofac-sdn", "ofac-cons"):
        files = {"prim": (path, text)}
        blobs = [raw]
        for role, companion in _companions(path, fmt).items():
            cb = companion.read_bytes()
            blobs.append(cb)
            files[role] = (companion, _decode(cb, companion))
        version_hash = _hash(blobs)
        source = "OFAC-CONS" if fmt == "ofac-cons" else "OFAC-SDN"
        entries = _parse_ofac(files, source, version_hash)
        paths = tuple(str(p) for p, _ in files.values())
    else:
        version_hash = _hash([raw])
        parser = {
            "dpl-tsv": _parse_dpl_tsv,
            "bis-csv": _parse_bis_csv,
            "csl-csv": _parse_csl_csv,
            "csl-json": _parse_csl_json,
        }[fmt]
        try:
            entries = parser(text, version_hash)
        except ListFormatError as exc:
            raise _with_path(exc, path) from None
        source = "DPL" if fmt in ("dpl-tsv", "bis-csv") else "CSL"
        paths = (str(path),)
    version = ListVersion(
        source=source,
        sha256=version_hash,
        entry_count=len(entries),
        loaded_at=datetime.now(UTC),
        format=fmt,
        paths=paths,
    )
    return version, entries


def _list_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(str(path))
    found = [
        p
        for p in sorted(path.rglob("*"))
        if p.is_file()
        and p.suffix.lower() in (".csv", ".txt", ".json")
        and p.name.lower() not in _COMPANION_NAMES
        and p.name.upper() != "SOURCE.TXT"
    ]
    if not found:
        raise ListFormatError("no list files in folder", None, str(path))
    return found


def load_lists(paths: Iterable[str | Path]) -> ListSet:
    """Load list files or folders into one ListSet; any bad file refuses the whole load."""
    versions: list[ListVersion] = []
    entries: list[Entry] = []
    for p in paths:
        for f in _list_files(Path(p)):
            v, e = load_list(f)
            versions.append(v)
            entries.extend(e)
    if not versions:
        raise ValueError("no list paths given")
    return ListSet(versions=tuple(versions), entries=tuple(entries))


def default_list_paths() -> list[Path]:
    """Return the shipped default lists: BIS DPL, OFAC SDN and OFAC consolidated non-SDN snapshots.

    Each OFAC list is a folder holding its prim file and companions (add/alt/comments); the prim file is
    returned and `load_list` picks the companions up next to it (data/SOURCE.txt says what is in them).
    """
    data = resources.files("wholesale.compliance") / "data"
    return [
        Path(str(data / "dpl.txt")),
        Path(str(data / "ofac-sdn" / "sdn.csv")),
        Path(str(data / "ofac-cons" / "cons_prim.csv")),
    ]
