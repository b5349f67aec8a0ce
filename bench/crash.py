"""Crash (issue 16), long version: `wholesale serve` on SQLite (or, with --postgres, 2 API processes and 2
workers on PostgreSQL) takes a burst of customer creates and subscriber creates (single and bulk) from concurrent
clients, is SIGKILLed at a seeded random moment (PostgreSQL: one API process mid-request and one worker mid-batch)
and restarted; then every invariant is checked (tests/reliability/crash_support.py). Per run it prints the seed,
the kill moments, the requests acknowledged, refused and unanswered, the final counts, each invariant PASS/FAIL and
the times to settle; exit 1 when any run failed.

    .venv/bin/python bench/crash.py --runs 5 --customers 500 --subscribers 2000 [--postgres] [--seed N]

--postgres uses WHOLESALE_TEST_DATABASE_URL when set (a new database per run), else a throw-away cluster from
scripts/pg.sh. A run is replayed with --runs 1 --seed <its seed> (and the same sizes).
"""

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests")]

from reliability import crash_support  # noqa: E402  (after the path above)


def _throwaway_postgres() -> tuple[str, str]:
    """Start a cluster with scripts/pg.sh: (its directory, its URL)."""
    out = subprocess.run([str(ROOT / "scripts" / "pg.sh"), "start"], capture_output=True, text=True, check=True).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return values["PG_DIR"], values["WHOLESALE_TEST_DATABASE_URL"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--seed", type=int, help="the first run's seed (the next runs derive theirs from it)")
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--settle-timeout", type=float, default=600.0)
    args = parser.parse_args()

    first = args.seed if args.seed is not None else random.randrange(1, 2**31)
    seeds = [first, *(random.Random(first + n).randrange(1, 2**31) for n in range(1, args.runs))]
    pg_dir, pg_url = "", ""
    if args.postgres:
        pg_url = os.environ.get("WHOLESALE_TEST_DATABASE_URL", "")
        if not pg_url:
            pg_dir, pg_url = _throwaway_postgres()
    print(
        f"crash: {args.runs} run(s), seeds {seeds}, {args.customers} customers, {args.subscribers} subscribers, "
        f"{'PostgreSQL ' + pg_url if args.postgres else 'SQLite'}",
        flush=True,
    )
    results = []
    try:
        for seed in seeds:
            started = time.monotonic()
            cfg = crash_support.Config(
                seed=seed,
                customers=args.customers,
                subscribers=args.subscribers,
                postgres_url=pg_url,
                clients=args.clients,
                settle_timeout=args.settle_timeout,
            )
            print(f"\n=== seed {seed}", flush=True)
            result = crash_support.run(cfg)
            results.append(result)
            print(result.report())
            print(f"  run took {time.monotonic() - started:.0f} s", flush=True)
    finally:
        if pg_dir:
            subprocess.run([str(ROOT / "scripts" / "pg.sh"), "stop", pg_dir], check=False)
    print("\n=== summary")
    print(f"{'seed':>11}  {'kills (answered@s)':<34} {'acked':>6} {'unans':>5} {'settle s':>8}  result")
    for r in results:
        kills = ", ".join(f"{k.what} {k.answered}@{k.elapsed:.0f}" for k in r.kills)
        acked = sum(1 for c in r.calls if c.outcome == "ack" and not c.retried)
        unanswered = sum(1 for c in r.calls if c.retried)
        settle = r.times.get("settle after the burst", float("nan"))
        print(f"{r.cfg.seed:>11}  {kills:<34} {acked:>6} {unanswered:>5} {settle:>8.1f}  {'PASS' if r.ok else 'FAIL'}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
