"""A review case's evidence as a reviewer reads it: the customer beside each listed entry it resembles, the words and
places that agree or differ, and why it was flagged, in words (never the engine's scores by name)."""

import re
import threading
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import pycountry
import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.compliance import lists
from wholesale.compliance.models import ListSet as StoredListSet
from wholesale.compliance.screening import Entry, ListSet, ScreeningConfig, fold_text, normalize_name
from wholesale.compliance.screening.index import token_similarity
from wholesale.customers.models import Customer

# The lists by the names reviewers know them; `short` is how a sentence names an entry ("the SDN entry ...").
LIST_NAMES = {
    "OFAC-SDN": ("OFAC Specially Designated Nationals (SDN) list", "SDN"),
    "OFAC-CONS": ("OFAC consolidated non-SDN list", "OFAC non-SDN"),
    "DPL": ("BIS Denied Persons List", "Denied Persons List"),
    "CSL": ("Consolidated Screening List", "Consolidated Screening List"),
}
# The publication dates of the lists shipped with wholesale (compliance/data/SOURCE.txt); used only while no list set
# has been loaded (`wholesale lists load`), i.e. while the shipped snapshots are in force.
SHIPPED_LIST_DATES = {"DPL": date(2022, 9, 2), "OFAC-SDN": date(2024, 5, 3)}
ENTITY_WORDS = {"person": "a person", "company": "an organisation", "vessel": "a vessel", "unknown": "not stated"}
TRIGGER_WORDS = {
    "created": "the customer was created",
    "address_changed": "its billing address changed",
    "lists_updated": "the lists were updated",
}
_MIN_SIMILARITY = ScreeningConfig().token_min_similarity
_REQUIREMENT_CODE = re.compile(r"\s*\(?\bR\d{1,2}\b\)?")

_by_id_lock = threading.Lock()
_by_id: dict[str, dict[tuple[str, str], Entry]] = {}  # list set sha256 -> (source, entry id) -> entry; one set kept


def _entries_by_id(list_set: ListSet) -> dict[tuple[str, str], Entry]:
    key = list_set.sha256
    with _by_id_lock:
        found = _by_id.get(key)
        if found is None:
            found = {(e.source, e.entry_id): e for e in list_set.entries}
            _by_id.clear()
            _by_id[key] = found
        return found


def country_name(code: str | None) -> str | None:
    """'IR' -> 'Iran' (the name people use where ISO's is formal)."""
    if not code:
        return None
    found = pycountry.countries.get(alpha_2=code.upper())
    if found is None:
        return code
    return str(getattr(found, "common_name", None) or found.name)


def plain(text: str | None) -> str:
    """A stored note without requirement codes ("... (R14)" -> "...")."""
    return _REQUIREMENT_CODE.sub("", text or "").strip()


# ---------------------------------------------------------------------------------------------- name words


def _significant(name: str) -> set[str]:
    norm = normalize_name(name)
    return set(norm.tokens) | set(norm.numbers)


def _word_parts(word: str, significant: set[str]) -> list[str]:
    """The comparable parts of one written word ("Al-Naser" -> ["naser"]); [] for a legal form or filler word."""
    parts = []
    for part in fold_text(word).split():
        if part in significant:
            parts.append(part)
            continue
        canonical = normalize_name(part).tokens  # a spelling the engine reads another way ("intl")
        if canonical and canonical[0] in significant:
            parts.append(canonical[0])
    return parts


def compare_words(name: str, other: str) -> list[dict[str, str]]:
    """Each written word of `name` against the words of `other`: same, close (a spelling apart, `partner` says which
    word), differs, or minor (a legal form or filler word the comparison leaves aside)."""
    mine, theirs = _significant(name), _significant(other)
    other_words = {p: w for w in other.split() for p in _word_parts(w, theirs)}
    out = []
    for word in name.split():
        parts = _word_parts(word, mine)
        if not parts:
            out.append({"text": word, "kind": "minor"})
            continue
        kinds, partner = [], ""
        for part in parts:
            if part in theirs:
                kinds.append("same")
                continue
            best, best_word = 0.0, ""
            for candidate in theirs:
                score = token_similarity(part, candidate)
                if score > best:
                    best, best_word = score, candidate
            if best >= _MIN_SIMILARITY:
                kinds.append("close")
                partner = other_words.get(best_word, best_word)
            else:
                kinds.append("differs")
        kind = "differs" if "differs" in kinds else "close" if "close" in kinds else "same"
        out.append(
            {"text": word, "kind": kind, "partner": partner} if kind == "close" else {"text": word, "kind": kind}
        )
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _words(items: Iterable[dict[str, str]], kind: str) -> list[str]:
    return [w["text"] for w in items if w["kind"] == kind]


def _quote(words: list[str]) -> str:
    quoted = [f"“{w}”" for w in words]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


# ---------------------------------------------------------------------------------------------- places


def _address_text(parts: Iterable[str | None]) -> str:
    return ", ".join(p for p in parts if p)


def _same_city(customer_city: str | None, listed_city: str | None) -> bool:
    if not customer_city or not listed_city:
        return False
    return fold_text(listed_city).startswith(fold_text(customer_city)) and bool(fold_text(customer_city))


def _same_postal(customer_postal: str | None, listed_postal: str | None) -> bool:
    if not customer_postal or not listed_postal:
        return False
    return fold_text(customer_postal).replace(" ", "") == fold_text(listed_postal).replace(" ", "")


def _distinct(values: Iterable[str | None]) -> list[str]:
    """Values as written, each once however it is spelt in case and spacing ("Tehran", "TEHRAN ")."""
    seen: dict[str, str] = {}
    for v in values:
        if v and v.strip():
            seen.setdefault(fold_text(v), v.strip())
    return sorted(seen.values())


def _place(state: str, customer: str | None, listed: list[str]) -> dict[str, Any]:
    return {"state": state, "customer": customer, "listed": listed}


def _places(customer: Customer, entry: Entry) -> dict[str, dict[str, Any]]:
    """Country, city and postal code of the customer against the entry's addresses (and nationalities)."""
    by_address = {a.country for a in entry.addresses if a.country}
    countries = sorted({country_name(c) or c for c in entry.countries})
    code = customer.country
    if not entry.countries:
        country = _place("not listed", country_name(code), [])
    elif code in by_address:
        country = _place("same", country_name(code), countries)
    elif code in entry.countries:
        country = _place("same nationality", country_name(code), countries)
    else:
        country = _place("differs", country_name(code), countries)
    cities = _distinct(a.city for a in entry.addresses)
    if not cities:
        city = _place("not listed", customer.city, [])
    else:
        same = any(_same_city(customer.city, c) for c in cities)
        city = _place("same" if same else "differs", customer.city, cities)
    postals = _distinct(a.postal_code for a in entry.addresses)
    if not postals or not customer.zip_or_postal_code:
        postal = _place("not listed" if not postals else "not compared", customer.zip_or_postal_code, postals)
    else:
        same = any(_same_postal(customer.zip_or_postal_code, p) for p in postals)
        postal = _place("same" if same else "differs", customer.zip_or_postal_code, postals)
    return {"country": country, "city": city, "postal": postal}


# ---------------------------------------------------------------------------------------------- the sentence


def _why(
    customer: Customer,
    hit: dict[str, Any],
    entry: Entry | None,
    customer_words: list[dict[str, str]],
    listed_words: list[dict[str, str]],
    places: dict[str, dict[str, Any]] | None,
) -> str:
    """Why the case was opened for this entry, in one or two sentences."""
    short = LIST_NAMES.get(hit["source"], (hit["source"], hit["source"]))[1]
    listed_name = entry.name if entry else hit["name"]
    variant = hit.get("matchedVariant") or listed_name
    alias = variant != listed_name and fold_text(variant) != fold_text(listed_name)
    target = (
        f"“{variant}” (another name of the {short} entry {listed_name})"
        if alias
        else f"the {short} entry {listed_name}"
    )
    differs_mine, differs_theirs = _words(customer_words, "differs"), _words(listed_words, "differs")
    close = [(w["text"], w.get("partner", "")) for w in customer_words if w["kind"] == "close"]
    spelt = ", ".join(f"“{a}” for “{b}”" for a, b in close[:3])
    if not differs_mine and not differs_theirs:
        sentence = f"The name matches {target} " + (f"but for spelling: {spelt}" if close else "word for word")
    else:
        shared = _words(listed_words, "same") + _words(listed_words, "close")
        counted = [w for w in listed_words if w["kind"] != "minor"]
        sentence = (
            f"The name has every word of {target}"
            if len(shared) == len(counted)
            else f"The name shares {len(shared)} of the {_plural(len(counted), 'word')} of {target}"
        )
        if close:
            sentence += f", spelt differently: {spelt}"
        if differs_theirs:
            sentence += f"; the listed name also has {_quote(differs_theirs[:3])}"
        if differs_mine:
            sentence += f"; the customer's name adds {_quote(differs_mine[:3])}"
    if places is None:
        return sentence + ". The entry is no longer in the lists in force, so its addresses cannot be compared."
    facts = []
    country = places["country"]
    named = country["customer"] or customer.country
    if country["state"] == "same":
        facts.append(f"the country ({named}) matches one of its addresses")
    elif country["state"] == "same nationality":
        facts.append(f"the country ({named}) is the entry's nationality")
    elif country["state"] == "differs":
        facts.append(f"the country ({named}) is not among its countries ({', '.join(country['listed'])})")
    else:
        facts.append("the entry names no country")
    if places["city"]["state"] == "same":
        facts.append(f"the city ({customer.city}) matches one of its addresses")
    if places["postal"]["state"] == "same":
        facts.append(f"the postal code ({customer.zip_or_postal_code}) matches one of its addresses")
    if entry is not None and entry.entity_type == "person":
        facts.append("the entry is a person, while customers are organisations")
    elif entry is not None and entry.entity_type == "vessel":
        facts.append("the entry is a vessel")
    return f"{sentence}; {'; '.join(facts)}."


# ---------------------------------------------------------------------------------------------- lists


def list_dates(session: Session, list_set: ListSet) -> dict[str, str]:
    """Each list version in force -> when it dates from, in words: the shipped snapshot's publication date, or the
    day an operator loaded it."""
    out: dict[str, str] = {}
    if lists.active_list_set(session) is None:
        for v in list_set.versions:
            published = SHIPPED_LIST_DATES.get(v.source)
            out[v.sha256] = (
                f"shipped snapshot of {published.day} {published:%b %Y}"
                if published
                else "shipped snapshot (publication date unknown)"
            )
        return out
    wanted = {v.sha256 for v in list_set.versions}
    rows = session.execute(
        sa.select(StoredListSet.loaded_at, StoredListSet.versions)
        .where(StoredListSet.complete.is_(True))
        .order_by(StoredListSet.loaded_at)
    ).all()
    for loaded_at, versions in rows:
        for v in versions or []:
            sha = v.get("sha256")
            if sha in wanted and sha not in out:
                out[sha] = f"loaded {_day(loaded_at)}"
    return out


def _day(value: datetime) -> str:
    return f"{value.day} {value:%b %Y}"


# ---------------------------------------------------------------------------------------------- a case


def evidence(session: Session, customer: Customer | None, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each hit of a case beside the customer: the entry as its list publishes it, the words and places compared,
    and the reason in words."""
    if customer is None or not hits:
        return []
    list_set = lists.get_screener(session).list_set
    by_id = _entries_by_id(list_set)
    dates = list_dates(session, list_set)
    config = ScreeningConfig()
    out = []
    for hit in hits:
        entry = by_id.get((hit["source"], hit["entryId"]))
        variant = hit.get("matchedVariant") or (entry.name if entry else hit["name"])
        customer_words = compare_words(customer.name or customer.external_id, variant)
        listed_words = compare_words(variant, customer.name or customer.external_id)
        places = _places(customer, entry) if entry else None
        long_name, _short = LIST_NAMES.get(hit["source"], (hit["source"], hit["source"]))
        item: dict[str, Any] = {
            "source": hit["source"],
            "list": long_name,
            "entryId": hit["entryId"],
            "name": entry.name if entry else hit["name"],
            "matched": variant,
            "strength": "strong" if hit.get("score", 0) >= config.match_threshold else "possible",
            "percent": round(100 * float(hit.get("score", 0))),
            "customerWords": customer_words,
            "listedWords": listed_words,
            "why": _why(customer, hit, entry, customer_words, listed_words, places),
            "inLists": entry is not None,
        }
        if entry is not None:
            aliases = [a for a in entry.aliases if a != entry.name]
            item |= {
                "kind": ENTITY_WORDS.get(entry.entity_type, "not stated"),
                "aliases": [{"text": a, "matched": a == variant} for a in aliases],
                "addresses": [
                    {
                        "text": _address_text(
                            (a.street, a.city, a.state, a.postal_code, a.country_name or country_name(a.country))
                        )
                        or "(no details)",
                        "sameCountry": bool(a.country) and a.country == customer.country,
                        "sameCity": _same_city(customer.city, a.city),
                    }
                    for a in entry.addresses
                ],
                "nationalities": [country_name(n) or n for n in entry.nationalities],
                "programs": list(entry.programs),
                "remarks": entry.remarks,
                "places": places,
                "listDate": dates.get(entry.list_version, ""),
                "sameVersion": entry.list_version == hit.get("listVersion"),
            }
        else:
            item["kind"] = ENTITY_WORDS.get(hit.get("entityType", "unknown"), "not stated")
        out.append(item)
    return out


def customer_facts(customer: Customer | None) -> dict[str, Any] | None:
    """The customer's side of the comparison."""
    if customer is None:
        return None
    return {
        "name": customer.name or customer.external_id,
        "externalId": customer.external_id,
        "addressLine1": customer.address_line1,
        "addressLine2": customer.address_line2,
        "city": customer.city,
        "state": customer.state_or_province,
        "postalCode": customer.zip_or_postal_code,
        "country": customer.country,
        "countryName": country_name(customer.country),
        "status": customer.status,
        "deleted": customer.deleted_at is not None,
    }


_OPENED = re.compile(r"^(?P<decision>\w+) \(score [\d.]+\) after (?P<trigger>\w+)$")


def timeline_words(entry: dict[str, Any]) -> str:
    """A timeline row in words ("opened: review (score 0.91) after created" -> "Opened: a possible match was found
    when the customer was created")."""
    event, detail = str(entry.get("event") or ""), plain(str(entry.get("detail") or ""))
    if event == "opened":
        found = _OPENED.match(detail)
        if found:
            strength = "a strong" if found["decision"] == "match" else "a possible"
            when = TRIGGER_WORDS.get(found["trigger"], found["trigger"].replace("_", " "))
            return f"Opened: {strength} match was found when {when}."
        return "Opened."
    if event == "rescreened":
        trigger = detail.rsplit(" after ", 1)[-1]
        return f"Screened again when {TRIGGER_WORDS.get(trigger, trigger.replace('_', ' '))}: still a possible match."
    if event == "approve":
        return f"Approved{': ' + detail if detail else ''}."
    if event == "reject":
        return f"Rejected: {detail}." if detail else "Rejected."
    if event == "cleared":
        trigger = detail.rsplit(" after ", 1)[-1]
        return f"Closed: screened again when {TRIGGER_WORDS.get(trigger, trigger.replace('_', ' '))} and found clear."
    if event == "contact_attempt":
        channel, _, outcome = detail.partition(": ")
        return f"Contact attempt by {channel}: {'partner reached' if outcome == 'reached' else 'partner unreachable'}."
    if event == "deadline_warning":
        days = entry.get("days")
        return f"The partner was warned: {days} day{'s' if days != 1 else ''} left before the customer is removed."
    if event == "deprovision":
        return f"Deprovisioned: {detail}." if detail else "Deprovisioned."
    return f"{event.replace('_', ' ').capitalize()}{': ' + detail if detail else ''}."
