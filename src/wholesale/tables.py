"""Import every table so Base.metadata is complete (Alembic and tests rely on it)."""

from wholesale.billing.models import BillingReport  # noqa: F401
from wholesale.compliance.models import AllowListEntry, ComplianceCase, ContactAttempt, ListFile, ListSet, Screening  # noqa: F401
from wholesale.customers.models import CallingLocation, Customer, CustomerPackageRow, CustomerTemplate  # noqa: F401
from wholesale.customers.runs import QueuedRun  # noqa: F401
from wholesale.dialin.models import LocationOverride, MeetingsSite, TelephonyNumber  # noqa: F401
from wholesale.events.models import AuditEvent, Event  # noqa: F401
from wholesale.identity.models import (  # noqa: F401
    ApiToken,
    Org,
    User,
)
from wholesale.jobs.probe import JobProbe, JobProbeRun  # noqa: F401
from wholesale.kit.idempotency import IdempotencyKey  # noqa: F401
from wholesale.kit.ratelimit import RateLimitBucket  # noqa: F401
from wholesale.ledger.models import LedgerHead, UsageEntry  # noqa: F401
from wholesale.ops.models import SandboxState  # noqa: F401
from wholesale.partners.models import Partner  # noqa: F401
from wholesale.subscribers.models import BulkImport, CustomerAdminTier, Subscriber  # noqa: F401
from wholesale.webhooks.models import Webhook, WebhookDelivery  # noqa: F401
