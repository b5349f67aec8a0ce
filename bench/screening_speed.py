"""Screening speed benchmark: indexed Screener vs a vectorised brute-force rapidfuzz scan, same queries, one core.

Run: taskset -c 0 .venv/bin/python bench/screening_speed.py [--queries 4000] [--lists PATH ...]

Both sides start cold: every lru_cache of the screening package (module functions and the index's own
caches, found by looking for `cache_clear`) is emptied right before each timed run, and the timed queries
are all different from each other and from the warm-up queries. The baseline (issue 13) normalises each
query like the screener does, then scores it against every indexed name variant with
`rapidfuzz.process.cdist(token_sort_ratio, score_cutoff=80, workers=1, dtype=uint8)`, a chunk of queries at
a time, and takes the best score per query: no index, no per-query Python loop over variants.
Goal: indexed >= 3 x baseline queries/s. Needs numpy (rapidfuzz's cdist returns a numpy array).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import random
import sys
import time
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

import wholesale.compliance.screening as screening_pkg
from wholesale.compliance.screening import Screener, ScreeningQuery, default_list_paths, load_lists, normalize_name

GOAL = 3.0
CHUNK = 256  # queries per cdist call: 256 x ~51k variants x 1 byte = ~13 MB


def _cached_functions(screener: Screener) -> list[tuple[str, Any]]:
    """Every lru_cache reachable in the screening package: module-level functions and instance caches."""
    found: dict[int, tuple[str, Any]] = {}
    for info in pkgutil.iter_modules(screening_pkg.__path__):
        mod = importlib.import_module(f"{screening_pkg.__name__}.{info.name}")
        for name, obj in vars(mod).items():
            if callable(getattr(obj, "cache_clear", None)) and callable(getattr(obj, "cache_info", None)):
                found.setdefault(id(obj), (f"{getattr(obj, '__module__', info.name)}.{name}", obj))
    for owner in (screener, screener.index):
        for name, obj in vars(owner).items():
            if callable(getattr(obj, "cache_clear", None)) and callable(getattr(obj, "cache_info", None)):
                found.setdefault(id(obj), (f"{type(owner).__name__}.{name}", obj))
    return sorted(found.values(), key=lambda t: t[0])


def clear_caches(caches: list[tuple[str, Any]]) -> None:
    for _, fn in caches:
        fn.cache_clear()


def make_queries(screener: Screener, n: int, seed: int, exclude: set[str] = frozenset()) -> list[ScreeningQuery]:
    """n distinct names: half listed names with one letter deleted, half innocent-looking company names."""
    rng = random.Random(seed)
    names = [v.text for v in screener.index.variants]
    words = sorted({w for v in screener.index.variants for w in v.text.split() if w.isalpha() and len(w) > 3})
    seen = set(exclude)
    out: list[ScreeningQuery] = []
    while len(out) < n:
        if len(out) % 2:
            name = rng.choice(names)
            if len(name) > 6:
                p = rng.randrange(1, len(name) - 1)
                name = name[:p] + name[p + 1 :]
        else:
            kind = rng.choice(["Logistics", "Telecom", "Foods", "Systems", "Trading", "Consulting"])
            name = f"{rng.choice(words).title()} {kind} {rng.choice(['GmbH', 'Ltd', 'LLC', 'S.A.', 'B.V.'])}"
        if name in seen:
            continue
        seen.add(name)
        out.append(ScreeningQuery(str(len(out)), name, country=rng.choice([None, "DE", "US", "IR", "RU"])))
    return out


def run_indexed(screener: Screener, queries: list[ScreeningQuery]) -> tuple[float, int]:
    started = time.perf_counter()
    alerts = sum(screener.screen(q).decision != "clear" for q in queries)
    return time.perf_counter() - started, alerts


def run_baseline(cores: list[str], queries: list[ScreeningQuery]) -> tuple[float, int]:
    """Normalise the queries, cdist them against every variant core in chunks, best score per query."""
    import numpy as np

    best = np.zeros(len(queries), dtype=np.uint8)
    started = time.perf_counter()
    query_cores = [normalize_name(q.name).core for q in queries]
    for i in range(0, len(query_cores), CHUNK):
        scores = process.cdist(
            query_cores[i : i + CHUNK],
            cores,
            scorer=fuzz.token_sort_ratio,
            processor=None,
            score_cutoff=80,
            workers=1,
            dtype=np.uint8,
        )
        best[i : i + CHUNK] = scores.max(axis=1)
    elapsed = time.perf_counter() - started
    return elapsed, int((best >= 80).sum())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=8, help="alternating indexed/baseline rounds (median ratio)")
    ap.add_argument("--lists", nargs="*", type=Path, default=None)
    args = ap.parse_args(argv)
    try:
        import numpy  # noqa: F401
    except ImportError:
        print("numpy is needed for rapidfuzz.process.cdist: .venv/bin/pip install numpy", file=sys.stderr)
        return 2
    paths = args.lists or default_list_paths()

    t0 = time.perf_counter()
    list_set = load_lists(paths)
    t1 = time.perf_counter()
    screener = Screener(list_set)
    t2 = time.perf_counter()
    caches = _cached_functions(screener)

    warmup = make_queries(screener, 200, seed=7)
    queries = make_queries(screener, args.queries, seed=1, exclude={q.name for q in warmup})
    for q in warmup:  # imports and first-use set-up of rigour and rapidfuzz, not the caches under test
        screener.screen(q)
    run_baseline(screener.index.cores, warmup[:8])

    # Rounds alternate the two sides on the same unseen queries, caches cleared before each side: this machine's
    # speed drifts by 20-40 % within a minute (shared host), and pairing keeps the drift out of the ratio.
    rounds = max(1, args.rounds)
    size = len(queries) // rounds
    ratios: list[float] = []
    t_indexed = t_base = 0.0
    alerts = base_alerts = misses = 0
    for r in range(rounds):
        chunk = queries[r * size : (r + 1) * size]
        clear_caches(caches)
        elapsed, found = run_indexed(screener, chunk)
        misses += sum(fn.cache_info().misses for _, fn in caches)
        clear_caches(caches)
        b_elapsed, b_found = run_baseline(screener.index.cores, chunk)
        t_indexed, t_base, alerts, base_alerts = (
            t_indexed + elapsed,
            t_base + b_elapsed,
            alerts + found,
            base_alerts + b_found,
        )
        ratios.append(b_elapsed / elapsed)
    n = size * rounds
    run_indexed(screener, chunk)  # for information: the last round's queries again, once to fill the caches
    warm, _ = run_indexed(screener, chunk)

    qps, base_qps = n / t_indexed, n / t_base
    ratio = sorted(ratios)[len(ratios) // 2]
    sources = " + ".join(f"{v.source} {v.entry_count}" for v in list_set.versions)
    print(f"lists: {sources} entries; {len(screener.index.cores)} name variants")
    print(f"load {t1 - t0:.2f} s, index build {t2 - t1:.2f} s")
    print(f"cold caches: {len(caches)} cleared before each timed run ({', '.join(n for n, _ in caches)})")
    print(f"  indexed screener  {qps:8.0f} queries/s  ({n} unseen queries, {alerts} alerts, {misses} cache misses)")
    print(
        f"  brute-force cdist {base_qps:8.0f} queries/s  ({n} queries x {len(screener.index.cores)} "
        f"variants, token_sort_ratio >= 80 on {base_alerts})"
    )
    print(f"  ratio per round   {', '.join(f'{x:.1f}' for x in ratios)}")
    print(f"  ratio (median)    {ratio:8.1f}x  (goal >= {GOAL:.0f}x: {'met' if ratio >= GOAL else 'NOT met'})")
    print(f"  for information: indexed with warm caches {size / warm:.0f} queries/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
