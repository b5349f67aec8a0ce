"""The billing job: generate a report's CSV from the usage ledger, or record why it could not be."""

import logging

from wholesale.billing import downloads, repository, service
from wholesale.db.session import get_database
from wholesale.jobs.workflow import job, step

log = logging.getLogger("wholesale.billing")


@step()
def step_generate(report_id: str) -> str:
    """Render the CSV, write the file and mark the report COMPLETED, in one transaction."""
    db = get_database()
    with db.transaction() as session:
        outcome = service.generate(session, report_id)
    if outcome != "skipped":
        with db.session(write=False) as session:
            if repository.get_unscoped(session, report_id) is None:  # deleted while it was being generated
                downloads.delete_file(service.file_name_of(report_id))
    return outcome


@step()
def step_fail_report(report_id: str, description: str) -> str:
    """Mark the report FAILED."""
    with get_database().transaction() as session:
        return service.fail(session, report_id, description)


@job("billing.generate_report", queue="default")
def generate_report(report_id: str) -> str:
    """Generate one billing report; after the step's retries, the report is FAILED with the reason."""
    try:
        return step_generate(report_id)
    except Exception as exc:
        log.exception("billing report %s could not be generated", report_id)
        return step_fail_report(report_id, f"The report could not be generated: {type(exc).__name__}.")
