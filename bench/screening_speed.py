"""Screening speed benchmark: indexed Screener vs a brute-force rapidfuzz scan, same queries, one core.

Run: .venv/bin/python bench/screening_speed.py [--queries 3000] [--lists PATH ...]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from rapidfuzz import fuzz, process

from wholesale.compliance.screening import Screener, ScreeningQuery, default_list_paths, load_lists, normalize_name

SHARED = Path(__file__).resolve().parents[2] / "shared/reference/screening-data"


def make_queries(screener: Screener, n: int, seed: int = 1) -> list[ScreeningQuery]:
    """Half listed names with a typo or reorder, half innocent-looking company names."""
    rng = random.Random(seed)
    names = [v.text for v in screener.index.variants]
    words = [w for v in screener.index.variants for w in v.text.split() if w.isalpha() and len(w) > 3]
    out = []
    for i in range(n):
        if i % 2:
            name = rng.choice(names)
            if len(name) > 6:
                p = rng.randrange(1, len(name) - 1)
                name = name[:p] + name[p + 1 :]
        else:
            name = f"{rng.choice(words).title()} {rng.choice(['Logistics', 'Telecom', 'Foods', 'Systems'])} GmbH"
        out.append(ScreeningQuery(str(i), name, country=rng.choice([None, "DE", "US", "IR", "RU"])))
    return out


def brute_force(screener: Screener, queries: list[ScreeningQuery]) -> float:
    """Baseline: normalise the query, then score every variant with rapidfuzz (no index)."""
    cores = screener.index.cores
    started = time.perf_counter()
    for q in queries:
        process.extract(
            normalize_name(q.name).core, cores, scorer=fuzz.token_sort_ratio, processor=None, limit=5, score_cutoff=80
        )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=4000)
    ap.add_argument("--baseline-queries", type=int, default=300)
    ap.add_argument("--lists", nargs="*", type=Path, default=None)
    args = ap.parse_args(argv)
    configs = [("shipped DPL 2022-09 + SDN 2024-05 (remark aliases)", args.lists or default_list_paths())]
    if not args.lists and (SHARED / "ofac-sdn/2021-07_sdn-add-alt").exists():
        configs.append(
            (
                "DPL 2022-09 + SDN 2021-07 with alt.csv/add.csv aliases",
                [SHARED / "dpl/dpl_2022-09-02.txt", SHARED / "ofac-sdn/2021-07_sdn-add-alt"],
            )
        )
    for label, paths in configs:
        t0 = time.perf_counter()
        list_set = load_lists(paths)
        t1 = time.perf_counter()
        screener = Screener(list_set)
        t2 = time.perf_counter()
        queries = make_queries(screener, args.queries)
        for q in queries[:200]:  # warm-up: imports, first-use caches of rigour and rapidfuzz
            screener.screen(q)
        screener.index.expand_token.cache_clear()
        started = time.perf_counter()
        alerts = sum(screener.screen(q).decision != "clear" for q in queries)
        indexed = time.perf_counter() - started
        base = brute_force(screener, queries[: args.baseline_queries])
        qps, base_qps = len(queries) / indexed, args.baseline_queries / base
        print(f"\n{label}")
        print(f"  entries {len(list_set.entries)}, name variants {len(screener.index.variants)}")
        print(f"  load {t1 - t0:.2f}s, index build {t2 - t1:.2f}s")
        print(f"  indexed screener   {qps:8.0f} queries/s  ({len(queries)} queries, {alerts} alerts)")
        print(f"  brute-force scan   {base_qps:8.0f} queries/s  (rapidfuzz token_sort_ratio over all variants)")
        print(f"  speed-up           {qps / base_qps:8.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
