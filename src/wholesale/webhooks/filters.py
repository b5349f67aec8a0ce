"""A webhook's `filter`: `key=value` pairs joined by `&`, every one of which must match the delivered `data`.

Keys and values are percent-decoded (as in a query string, `+` stays a plus). A key names a field of the data
(`type` and `eventId` included; `a.b` reaches into an object); a value matches a string or number written the
same way, `true`/`false` a boolean, `null` a missing or null field, and any item of a list.
"""

from typing import Any
from urllib.parse import unquote

MAX_PAIRS = 10

Pairs = tuple[tuple[str, str], ...]


def parse(text: str | None) -> Pairs:
    """The pairs of a filter (empty for none); ValueError with a message a partner can act on."""
    if text is None or not text.strip():
        return ()
    pairs = []
    for part in text.split("&"):
        key, sep, value = part.partition("=")
        key, value = unquote(key).strip(), unquote(value)
        if not sep or not key:
            raise ValueError(f"{part!r} is not key=value; join pairs with &, e.g. type=customer.settled&status=active.")
        pairs.append((key, value))
    if len(pairs) > MAX_PAIRS:
        raise ValueError(f"has {len(pairs)} pairs; at most {MAX_PAIRS}.")
    return tuple(pairs)


def matches(pairs: Pairs, data: dict[str, Any]) -> bool:
    """True when every pair matches the data."""
    return all(_matches(_lookup(data, key), value) for key, value in pairs)


_MISSING = object()


def _lookup(data: dict[str, Any], key: str) -> Any:
    if key in data:
        return data[key]
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _matches(found: Any, wanted: str) -> bool:
    if found is _MISSING or found is None:
        return wanted == "null"
    if isinstance(found, list):
        return any(_matches(item, wanted) for item in found)
    if isinstance(found, bool):
        return wanted == ("true" if found else "false")
    if isinstance(found, (str, int, float)):
        return str(found) == wanted
    return False
