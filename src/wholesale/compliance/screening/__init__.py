"""Restricted-party screening engine (R10): list loaders, name matching, decisions."""

from .config import ScreeningConfig
from .index import NameIndex
from .loaders import default_list_paths, list_files, load_list, load_lists
from .matcher import Screener, screen_jsonl
from .model import Address, Entry, Hit, ListFormatError, ListSet, ListVersion, ScreeningQuery, ScreeningResult
from .normalize import country_code, fold_text, normalize_name, reverse_person_name

__all__ = [
    "Address",
    "Entry",
    "Hit",
    "ListFormatError",
    "ListSet",
    "ListVersion",
    "NameIndex",
    "Screener",
    "ScreeningConfig",
    "ScreeningQuery",
    "ScreeningResult",
    "country_code",
    "default_list_paths",
    "fold_text",
    "list_files",
    "load_list",
    "load_lists",
    "normalize_name",
    "reverse_person_name",
    "screen_jsonl",
]
