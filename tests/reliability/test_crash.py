"""Crash (issue 16), short version: a burst of customer creates, subscriber creates and bulk imports from
concurrent clients; the server is SIGKILLed at a seeded random moment and restarted; afterwards every request
answered 2xx ended terminal, none is lost or duplicated, caps hold, the ledger, the event feed and the data agree,
and the unanswered requests, sent again with their Idempotency-Key, converge (see `crash_support`).
SQLite: one `wholesale serve`. PostgreSQL (when WHOLESALE_TEST_DATABASE_URL is set): two API processes and two
workers, one API process killed mid-request and one worker mid-batch. The long version is `bench/crash.py`."""

import dataclasses
import os
import random

import pytest

from conftest import PG_URL
from reliability import crash_support

pytestmark = pytest.mark.slow


def _seed() -> int:
    """WHOLESALE_CRASH_SEED replays a run; otherwise a new one each time (printed, and in the failure)."""
    return int(os.environ.get("WHOLESALE_CRASH_SEED") or random.randrange(1, 2**31))


def _run(tmp_path, postgres_url: str) -> crash_support.Result:
    seed = _seed()
    print(f"crash seed {seed} (replay: WHOLESALE_CRASH_SEED={seed})")
    result = crash_support.run(
        crash_support.Config(
            seed=seed, customers=60, subscribers=200, postgres_url=postgres_url, work_dir=tmp_path, settle_timeout=180
        )
    )
    print(result.report())
    assert result.kills, "nothing was killed"
    assert result.ok, result.report()
    return result


def _failing(result: crash_support.Result, feed: list | None = None, **broken) -> set[str]:
    """The checks that fail on the run's snapshot with some of its parts replaced."""
    snapshot = dataclasses.replace(result.snapshot, **broken)
    checks = crash_support.check(result.plan, snapshot, feed if feed is not None else result.feed, result.verified)
    return {c.name.split(" (")[0].split(":")[0] for c in checks if not c.ok}


def _the_checks_catch_a_broken_database(result: crash_support.Result) -> None:
    """The checks are not vacuous: each kind of damage a crash could do makes its check fail."""
    snap = result.snapshot
    acked = next(c for c in result.calls if c.kind == "subscriber" and c.outcome == "ack")
    lost = {k: v for k, v in snap.subscribers.items() if k != acked.made_id}
    assert "none lost" in _failing(result, subscribers=lost)
    twin = next(iter(snap.customers.values())) | {"id": "twin"}
    assert "none duplicated" in _failing(result, customers=snap.customers | {"twin": twin})
    capped = next(i for i, p in enumerate(snap.packages) if p["quantity_limit"])
    over = [p | {"assigned": p["quantity_limit"] + 1} if i == capped else p for i, p in enumerate(snap.packages)]
    assert {"caps hold", "usage ledger"} <= _failing(result, packages=over)
    first = next(i for i, r in enumerate(snap.ledger) if r["kind"] == "subscriber.assigned")
    assert "usage ledger" in _failing(result, ledger=snap.ledger[:first] + snap.ledger[first + 1 :])
    assert "event feed" in _failing(result, feed=[*result.feed, result.feed[0]])
    org = next(c["org_id"] for c in snap.customers.values())
    ghost = {"id": "ghost", "org_id": org, "email": "ghost@crash.example.com"}
    assert "nothing half-made" in _failing(result, users=[*snap.users, ghost])


def test_sigkill_of_serve_on_sqlite_mid_burst_loses_and_duplicates_nothing(tmp_path):
    _the_checks_catch_a_broken_database(_run(tmp_path, ""))


@pytest.mark.skipif(not PG_URL, reason="two API processes and two workers need PostgreSQL")
def test_sigkill_of_an_api_process_and_a_worker_on_postgres_loses_and_duplicates_nothing(tmp_path):
    _run(tmp_path, PG_URL)
