"""`python -m wholesale.cli ...` with tracemalloc at hand, for hunting memory growth (bench/soak.py --trace-memory DIR).

The first SIGUSR1 runs a full garbage collection and starts tracemalloc (starting it at launch makes building the
screening index take minutes); each later one collects again and writes a snapshot to
$SOAK_TRACE_DIR/snapshot-<n>.pickle: what was allocated since tracing began and is still alive. Each also writes
stats-<n>.json: SQLite's own heap, glibc malloc's figures and our engines' pools.
"""

import gc
import json
import os
import signal
import sys
import tracemalloc
from pathlib import Path

_count = 0


def _pools() -> dict:
    """Connections held by our engines' pools (each SQLite connection keeps its own page cache)."""
    figures: dict = {}
    try:
        from wholesale.db import session as db_session

        db = db_session._db
        for name in ("write_engine", "read_engine", "engine"):
            engine = getattr(db, name, None)
            if engine is not None:
                figures[name] = engine.pool.status()
        system = getattr(sys.modules.get("wholesale.jobs.runtime"), "_system_engine", None)
        if system is not None:
            figures["dbos_system_engine"] = system.pool.status()
    except Exception as exc:
        figures["error"] = repr(exc)
    return figures


def _native() -> dict:
    """SQLite's own heap (sqlite3_memory_used, not seen by tracemalloc) and glibc malloc's in-use and free bytes."""
    import ctypes
    import ctypes.util

    figures: dict = {}
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("sqlite3"))
        lib.sqlite3_memory_used.restype = ctypes.c_int64
        figures["sqlite_memory_used"] = lib.sqlite3_memory_used()
    except (OSError, AttributeError, TypeError) as exc:
        figures["sqlite_error"] = repr(exc)

    class _Mallinfo2(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in (
                "arena",
                "ordblks",
                "smblks",
                "hblks",
                "hblkhd",
                "usmblks",
                "fsmblks",
                "uordblks",
                "fordblks",
                "keepcost",
            )
        ]

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        info = libc.mallinfo2()
        figures |= {
            "malloc_arena": info.arena,
            "malloc_mmap": info.hblkhd,
            "malloc_in_use": info.uordblks,
            "malloc_free": info.fordblks,
        }
    except (OSError, AttributeError) as exc:
        figures["malloc_error"] = repr(exc)
    return figures


def _snapshot(*_: object) -> None:
    global _count
    _count += 1
    gc.collect()
    out = Path(os.environ["SOAK_TRACE_DIR"])
    if tracemalloc.is_tracing():
        tracemalloc.take_snapshot().dump(str(out / f"snapshot-{_count}.pickle"))
    traced, peak = tracemalloc.get_traced_memory()
    frames = int(os.environ.get("SOAK_TRACE_FRAMES", "12"))  # 0: the native figures only, no tracing
    if not tracemalloc.is_tracing() and frames:
        tracemalloc.start(frames)
    stats = {"traced": traced, "traced_peak": peak, "gc_objects": len(gc.get_objects()), "pools": _pools(), **_native()}
    (out / f"stats-{_count}.json").write_text(json.dumps(stats, default=str))


signal.signal(signal.SIGUSR1, _snapshot)

if __name__ == "__main__":
    from wholesale.cli import app

    sys.argv[0] = "wholesale"
    app()
