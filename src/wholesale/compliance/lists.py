"""Restricted-party lists as operator data: stored in the database, loaded into one cached screener per process."""

import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wholesale.compliance.models import ListFile, ListSet
from wholesale.compliance.screening import Screener, ScreeningConfig, default_list_paths, list_files, load_lists
from wholesale.events import service as events
from wholesale.kit import clock, ids

# Set once this process's screening index is built (readiness waits for it where workers run).
screener_ready = threading.Event()

_cache: dict[str, Screener] = {}
_lock = threading.Lock()
DEFAULT_KEY = "default"


def _files_of(paths: list[Path]) -> list[tuple[str, Path]]:
    """Each file to store, named `<argument number>/<relative path>` so folders (OFAC sdn+add+alt) stay together."""
    files = []
    for n, path in enumerate(paths):
        if path.is_dir():
            files += [(f"{n}/{p.relative_to(path)}", p) for p in sorted(path.rglob("*")) if p.is_file()]
        else:
            # An OFAC prim file brings its companions (add/alt/comments): storing sdn.csv alone would drop the
            # addresses and aliases and change the version hash.
            files += [(f"{n}/{p.name}", p) for p in list_files(path)]
    return files


def store_list_set(session: Session, paths: Sequence[str | Path]) -> ListSet:
    """Validate the files (a bad file raises ListFormatError, line numbered) and store them as the new list set.

    The rows commit with the caller's transaction: until then the previous set stays in force.
    """
    resolved = [Path(p) for p in paths]
    parsed = load_lists(resolved)
    row = ListSet(
        id=ids.new_id("LIST_SET"),
        sha256=parsed.sha256,
        versions=[v.to_dict() for v in parsed.versions],
        entry_count=len(parsed.entries),
        loaded_at=clock.now(),
        complete=False,
    )
    session.add(row)
    session.flush()
    for name, path in _files_of(resolved):
        session.add(ListFile(set_id=row.id, name=name, content=path.read_bytes()))
    row.complete = True
    events.record(
        session,
        subject_type="screening_lists",
        subject_id=row.id,
        action="lists.loaded",
        data={"sha256": row.sha256, "entries": row.entry_count, "versions": row.versions},
    )
    return row


def active_list_set(session: Session) -> ListSet | None:
    """The newest complete list set, or None when only the shipped default lists exist."""
    return session.scalars(
        sa.select(ListSet).where(ListSet.complete.is_(True)).order_by(ListSet.loaded_at.desc(), ListSet.id).limit(1)
    ).first()


def _materialise(session: Session, set_id: str, into: Path) -> list[Path]:
    groups: dict[str, Path] = {}
    for f in session.scalars(sa.select(ListFile).where(ListFile.set_id == set_id)):
        group, _, rel = f.name.partition("/")
        target = into / group / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.content)
        groups.setdefault(group, into / group)
    # A group holding one file is passed as that file; a folder (OFAC sdn+add+alt) as the folder.
    result = []
    for _, folder in sorted(groups.items()):
        files = [p for p in folder.rglob("*") if p.is_file()]
        result.append(files[0] if len(files) == 1 else folder)
    return result


def get_screener(session: Session, config: ScreeningConfig | None = None) -> Screener:
    """Return the screener for the lists in force, building (and caching) its index on first use."""
    active = active_list_set(session)
    key = active.id if active else DEFAULT_KEY
    with _lock:
        screener = _cache.get(key)
        if screener is not None and config is None:
            return screener
        if active is None:
            list_set = load_lists(default_list_paths())
        else:
            with tempfile.TemporaryDirectory(prefix="wholesale-lists-") as tmp:
                list_set = load_lists(_materialise(session, active.id, Path(tmp)))
        built = Screener(list_set, config)
        if config is None:
            _cache.clear()  # only the set in force is kept in memory
            _cache[key] = built
        return built


def screener_for_paths(paths: Sequence[str | Path], config: ScreeningConfig | None = None) -> Screener:
    """A screener over explicit files, outside the stored sets (`wholesale screen --lists`)."""
    return Screener(load_lists([Path(p) for p in paths]), config)
