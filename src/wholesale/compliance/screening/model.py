"""Value types of the screening engine: list entries, list versions, queries, results."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

EntityType = Literal["person", "company", "vessel", "unknown"]
Decision = Literal["clear", "review", "match"]


class ListFormatError(ValueError):
    """A list file that cannot be read; the whole file is refused."""

    def __init__(self, message: str, line: int | None = None, path: str | None = None) -> None:
        self.message = message
        self.line = line
        self.path = path
        where = path or "<list>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Address:
    """One address of a listed party; country is ISO 3166 alpha-2 when derivable."""

    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    country_name: str | None = None


@dataclass(frozen=True)
class Entry:
    """One listed party as published by its list."""

    source: str  # "DPL", "OFAC-SDN", "OFAC-CONS", "CSL-EL", ...
    entry_id: str  # the list's own id (ent_num, CSL entity_number or _id); DPL has none, so a name hash
    name: str
    entity_type: EntityType = "unknown"
    aliases: tuple[str, ...] = ()
    addresses: tuple[Address, ...] = ()
    nationalities: tuple[str, ...] = ()  # alpha-2 codes from remarks ("nationality Iran")
    programs: tuple[str, ...] = ()
    remarks: str | None = None
    list_version: str = ""  # sha256 of the list version the entry was loaded from

    @property
    def countries(self) -> frozenset[str]:
        """Alpha-2 codes the entry is linked to by address or nationality."""
        return frozenset([a.country for a in self.addresses if a.country] + list(self.nationalities))


@dataclass(frozen=True)
class ListVersion:
    """One loaded list: content hash, source, entry count and load time."""

    source: str
    sha256: str
    entry_count: int
    loaded_at: datetime
    format: str
    paths: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form."""
        return {
            "source": self.source,
            "sha256": self.sha256,
            "entryCount": self.entry_count,
            "loadedAt": self.loaded_at.isoformat(),
            "format": self.format,
            "paths": list(self.paths),
        }


@dataclass(frozen=True)
class ListSet:
    """The lists a screener screens against."""

    versions: tuple[ListVersion, ...]
    entries: tuple[Entry, ...]

    def version(self, source: str) -> ListVersion:
        """Return the version of the list with this source name."""
        for v in self.versions:
            if v.source == source:
                return v
        raise KeyError(source)

    @property
    def sha256(self) -> str:
        """Combined hash of all list versions (order-independent)."""
        import hashlib

        return hashlib.sha256("".join(sorted(v.sha256 for v in self.versions)).encode()).hexdigest()


@dataclass(frozen=True)
class ScreeningQuery:
    """One name to screen, with optional address context."""

    id: str
    name: str
    country: str | None = None
    city: str | None = None
    postal_code: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScreeningQuery:
        """Build a query from the JSON lines shape {"id","name","country"?,"city"?,"postalCode"?}."""
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            raise ValueError("query needs a string 'name'")
        return cls(
            id=str(data.get("id", "")),
            name=data["name"],
            country=data.get("country") or None,
            city=data.get("city") or None,
            postal_code=data.get("postalCode") or data.get("postal_code") or None,
        )


@dataclass(frozen=True)
class Hit:
    """One list entry that resembles the query, with the reasons."""

    source: str
    entry_id: str
    name: str
    matched_variant: str
    score: float
    features: dict[str, float] = field(default_factory=dict)
    list_version: str = ""
    entity_type: str = "unknown"
    explanation: str = ""  # the features in words a reviewer reads

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form (camelCase keys as in the API)."""
        return {
            "explanation": self.explanation,
            "source": self.source,
            "entryId": self.entry_id,
            "name": self.name,
            "score": round(self.score, 4),
            "matchedVariant": self.matched_variant,
            "entityType": self.entity_type,
            "features": {k: round(v, 4) for k, v in self.features.items()},
            "listVersion": self.list_version,
        }


@dataclass(frozen=True)
class ScreeningResult:
    """Decision for one query: clear, review or match, with the hits behind it."""

    id: str
    decision: Decision
    score: float
    hits: list[Hit]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON lines shape {"id","decision","score","hits":[...]}."""
        return {
            "id": self.id,
            "decision": self.decision,
            "score": round(self.score, 4),
            "hits": [h.to_dict() for h in self.hits],
        }

    def to_json(self) -> str:
        """Return one JSON line."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
