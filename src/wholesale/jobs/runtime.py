"""DBOS Transact on the application's own database: configuration, launch, queues and the enqueue client."""

import logging
import threading
from collections.abc import Callable

import sqlalchemy as sa
from dbos import DBOS, DBOSClient, DBOSConfig, ScheduleInput

import wholesale
from wholesale.config import Settings, get_settings
from wholesale.db.session import normalise_url
from wholesale.jobs import pump

log = logging.getLogger("wholesale.jobs")

# Queue name -> per-process concurrency share of settings.worker_concurrency (None = the setting itself).
QUEUES: dict[str, int | None] = {"provisioning": None, "compliance": 4, "default": 4, "webhooks": 4}
# Seconds between polls of the queues nobody waits on interactively: each poll costs CPU in this process
# (about a quarter of it under load, measured with py-spy), and screening is asynchronous by design (R11).
# `provisioning` carries only deletions and the retries of runs that failed in their batch: creates and updates
# start from the pump when they commit (jobs/pump.py). Polled every 0.1 s, an idle `wholesale serve` spent 110-113
# ms of CPU a second on polls, every 0.5 s 55-60 (issue 15); a deletion waits up to 0.5 s for its worker.
SLOW_POLL: dict[str, float] = {"provisioning": 0.5, "compliance": 0.5, "default": 0.5, "webhooks": 0.5}
# Queues that run at most one workflow per partition key at a time (a customer's changes apply in order, a
# webhook's deliveries go in order).
PARTITIONED_QUEUES = frozenset({"provisioning", "webhooks"})
DBOS_SCHEMA = "dbos"
# A DBOS schedule: {"schedule_name", "workflow_fn", "schedule" (cron, seconds first), "queue_name"}.
Schedule = ScheduleInput

_client: DBOSClient | None = None
_client_lock = threading.Lock()
_launched = False


def system_database_url(settings: Settings) -> str:
    """DBOS keeps its tables in the application database (schema `dbos` on PostgreSQL, unprefixed on SQLite)."""
    return normalise_url(settings.database_url)


def migrate_system_database(settings: Settings | None = None) -> None:
    """Create or upgrade DBOS's own tables."""
    settings = settings or get_settings()
    DBOS.migrate(system_database_url(settings), schema=DBOS_SCHEMA)


_system_engine: sa.Engine | None = None


def _sqlite_system_engine(settings: Settings) -> sa.Engine:
    """One engine for DBOS's tables per process (workers and client share it)."""
    global _system_engine
    url = system_database_url(settings)
    if _system_engine is None or str(_system_engine.url) != url:
        from wholesale.db.session import sqlite_system_engine

        _system_engine = sqlite_system_engine(url)
    return _system_engine


def get_client() -> DBOSClient:
    """Return the process's DBOS client (it enqueues inside our transactions; it never runs workflows)."""
    global _client
    with _client_lock:
        if _client is None:
            settings = get_settings()
            _client = DBOSClient(
                system_database_url=system_database_url(settings),
                system_database_engine=_sqlite_system_engine(settings) if settings.is_sqlite else None,
                dbos_system_schema=DBOS_SCHEMA,
                application_name="wholesale",
            )
        return _client


_on_launch: list[Callable[[], None]] = []


def on_launch(fn: Callable[[], None]) -> Callable[[], None]:
    """Run `fn` in a background thread once this process's workers are launched (e.g. warming a cache)."""
    _on_launch.append(fn)
    return fn


def launch(settings: Settings | None = None, *, schedules: list[Schedule] | None = None) -> bool:
    """Start this process's workers: recover unfinished workflows, then dequeue and run cron.

    Every workflow must be imported before (`wholesale.workers.launch` does that and passes the schedules).
    Returns True when this call started them (and so owns stopping them), False when they already ran.
    """
    global _launched
    if _launched:
        return False
    settings = settings or get_settings()
    config: DBOSConfig = {
        "name": "wholesale",
        "system_database_url": system_database_url(settings),
        "dbos_system_schema": DBOS_SCHEMA,
        "executor_id": settings.executor_id,
        # One version for every deployment of a release line, so a restarted process recovers
        # the workflows its predecessor left unfinished.
        "application_version": f"wholesale-{wholesale.__version__}",
        "log_level": "WARNING",
        "scheduler_polling_interval_sec": 5.0,
    }
    if settings.is_sqlite:
        # Our engine for DBOS's tables: its writers queue with ours on the process write lock.
        config["system_database_engine"] = _sqlite_system_engine(settings)
    DBOS(config=config)
    DBOS.launch()
    for name, share in QUEUES.items():
        DBOS.register_queue(
            name,
            worker_concurrency=share or settings.worker_concurrency,
            partition_concurrency=1 if name in PARTITIONED_QUEUES else None,
            polling_interval_sec=max(settings.queue_polling_interval, SLOW_POLL.get(name, 0.0)),
            on_conflict="always_update",
        )
    DBOS.apply_schedules(schedules or [])
    pump.start(settings.queue_polling_interval, normalise_url(settings.database_url))
    for fn in _on_launch:
        threading.Thread(target=fn, name=f"on-launch-{fn.__name__}", daemon=True).start()
    _launched = True
    log.info("workers launched", extra={"fields": {"executorId": settings.executor_id, "queues": list(QUEUES)}})
    return True


def is_launched() -> bool:
    """True when this process runs workers."""
    return _launched


def shutdown() -> None:
    """Stop workers and close the client (tests and process exit)."""
    global _client, _launched, _system_engine
    if _launched:
        pump.stop()
        DBOS.destroy(destroy_registry=False)
        _launched = False
    with _client_lock:
        if _client is not None:
            _client.destroy()
            _client = None
    if _system_engine is not None:
        _system_engine.dispose()
        _system_engine = None
