"""Import every module that defines workflows, so a worker knows them all before it launches."""

from wholesale.compliance import workflows as compliance_workflows  # noqa: F401
from wholesale.customers import workflows as customer_workflows  # noqa: F401
from wholesale.dialin import workflows as dialin_workflows  # noqa: F401
from wholesale.jobs import probe, schedules  # noqa: F401
from wholesale.subscribers import workflows as subscriber_workflows  # noqa: F401
