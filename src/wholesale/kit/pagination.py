"""Offset pagination the Webex way: `max` + `offset` in, `{"items": [...]}` and a Link rel="next" header out."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlencode

from starlette.datastructures import URL

from wholesale.kit.errors import field_error

T = TypeVar("T")
MAX_NUMBER = 1_000_000_000  # past this a database integer overflows; no real page is that far


@dataclass(frozen=True)
class PageParams:
    """A page request: how many, from where."""

    max: int
    offset: int


def parse_page(max_: str | int | None, offset: str | int | None, *, default: int, limit: int) -> PageParams:
    """Parse `max`/`offset` (numeric strings allowed, as the spec types them); clamp max to the endpoint limit."""
    return PageParams(
        max=min(_non_negative_int("max", max_, default), limit) or default,
        offset=_non_negative_int("offset", offset, 0),
    )


def _non_negative_int(name: str, value: str | int | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise field_error(name, f"must be a whole number, got {value!r}.") from None
    if number < 0:
        raise field_error(name, f"must not be negative, got {number}.")
    if number > MAX_NUMBER:
        raise field_error(name, f"must be at most {MAX_NUMBER}.")
    return number


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results and whether another follows."""

    items: Sequence[T]
    params: PageParams
    has_more: bool


def page_from_rows(rows: Sequence[T], params: PageParams) -> Page[T]:
    """Build a page from a query that fetched max + 1 rows."""
    return Page(items=rows[: params.max], params=params, has_more=len(rows) > params.max)


def next_link(url: URL, page: Page, public_base: str = "") -> str | None:
    """Return the Link header for the next page: absolute, carrying every filter and the new offset."""
    if not page.has_more:
        return None
    query = [(k, v) for k, v in _multi_items(url) if k not in ("offset", "max")]
    query += [("max", str(page.params.max)), ("offset", str(page.params.offset + page.params.max))]
    base = public_base.rstrip("/") + url.path if public_base else str(url.replace(query=""))
    return f'<{base}?{urlencode(query)}>; rel="next"'


def _multi_items(url: URL) -> list[tuple[str, str]]:
    from starlette.datastructures import QueryParams

    return list(QueryParams(url.query).multi_items())
