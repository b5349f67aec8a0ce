"""The event feed's retention (scheduled in `wholesale.workers`)."""

from datetime import datetime, timedelta
from typing import Any

from dbos import DBOS

from wholesale.config import get_settings
from wholesale.db.session import get_database
from wholesale.events import feed
from wholesale.jobs.workflow import job
from wholesale.kit import clock


@DBOS.step()
def _purge_events() -> int:
    with get_database().transaction() as session:
        return feed.purge(session, clock.now() - timedelta(days=get_settings().event_retention_days))


@job("events.purge")
def purge(_scheduled: datetime, _context: Any) -> None:
    """Forget feed events older than `event_retention_days` (default 30); the audit log keeps its rows."""
    _purge_events()
