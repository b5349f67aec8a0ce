"""The event feed's retention (scheduled in `wholesale.workers`)."""

from datetime import datetime, timedelta
from typing import Any

from dbos import DBOS

from wholesale.config import get_settings
from wholesale.db.session import get_database
from wholesale.events import feed, service
from wholesale.jobs.workflow import job
from wholesale.kit import clock


@DBOS.step()
def _purge_events() -> int:
    with get_database().transaction() as session:
        cutoff = clock.now() - timedelta(days=get_settings().event_retention_days)
        purged = feed.purge(session, cutoff)
        if purged:
            service.record(
                session,
                subject_type="event_feed",
                subject_id="retention",
                action="events.purged",
                data={"events": purged, "createdBefore": clock.isoformat(cutoff)},
            )
        return purged


@job("events.purge")
def purge(_scheduled: datetime, _context: Any) -> None:
    """Forget feed events older than `event_retention_days` (default 30); the audit log keeps its rows."""
    _purge_events()
