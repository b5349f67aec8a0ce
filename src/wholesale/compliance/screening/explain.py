"""A hit's reasons in words a reviewer reads: which words agree, which differ, what the context says."""

from __future__ import annotations

from collections.abc import Callable

from .index import closest
from .model import Entry
from .normalize import NormalizedName


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def align(
    q: tuple[str, ...], v: tuple[str, ...], similarity: Callable[[str, str], float], min_sim: float
) -> tuple[list[str], list[tuple[str, str]], list[str], list[str]]:
    """Pair the words one-to-one: (equal, close (customer, listed), listed words unmatched, customer words unmatched)."""
    free = list(q)
    equal: list[str] = []
    close: list[tuple[str, str]] = []
    missing: list[str] = []
    for w in v:
        if w in free:
            equal.append(w)
            free.remove(w)
    rest = [w for w in v if w not in equal]
    for w in rest:
        best, best_j = closest(w, free, similarity)
        if best >= min_sim:
            close.append((free.pop(best_j), w))
        else:
            missing.append(w)
    return equal, close, missing, free


def explain(
    q: NormalizedName,
    v: NormalizedName,
    features: dict[str, float],
    entry: Entry,
    similarity: Callable[[str, str], float],
    min_sim: float,
    query_country: str | None,
) -> str:
    """Return one sentence such as '3 of 4 listed words equal, 1 close spelling (nacionl ~ nacional); country
    matches the listed address'."""
    equal, close, missing, extra = align(q.tokens, v.tokens, similarity, min_sim)
    parts = [f"{len(equal)} of {len(v.tokens)} listed words equal"]
    if close:
        pairs = ", ".join(f"{a} ~ {b}" for a, b in close[:3])
        parts.append(f"{_plural(len(close), 'close spelling')} ({pairs})")
    if missing:
        parts.append(f"{_plural(len(missing), 'listed word')} not in the customer name ({', '.join(missing[:3])})")
    if extra:
        parts.append(f"{_plural(len(extra), 'customer word')} not in the listed name ({', '.join(extra[:3])})")
    if features.get("containment"):
        parts.append(
            "listed name contained in the customer name"
            if not missing
            else "customer name is the listed name with a word left out"
        )
    if q.core.replace(" ", "") == v.core.replace(" ", "") and q.tokens != v.tokens:
        parts.append("same letters, split differently")
    if features.get("numberPenalty"):
        parts.append(
            f"numbers differ (customer {', '.join(sorted(q.numbers)) or 'none'}, "
            f"listed {', '.join(sorted(v.numbers)) or 'none'})"
        )
    elif q.numbers - v.numbers:
        parts.append(f"customer name adds a number ({', '.join(sorted(q.numbers - v.numbers))})")
    if set(q.legal_forms) != set(v.legal_forms) and (q.legal_forms or v.legal_forms):
        parts.append("legal form differs")
    country = features.get("country")
    if country is not None and country > 0:
        parts.append(f"country {query_country} matches the listed address")
    elif country is not None and country < 0:
        listed = ", ".join(sorted(entry.countries)) or "?"
        parts.append(f"country {query_country} differs from the listed {listed}")
    if features.get("city"):
        parts.append("city matches the listed address")
    if features.get("postalCode"):
        parts.append("postal code matches the listed address")
    entity = features.get("entityType")
    if entity and entry.entity_type == "person":
        parts.append("listed entry is a person, the customer looks like a company")
    elif entity:
        parts.append(f"listed entry is a {entry.entity_type}")
    return "; ".join(parts)
