"""Roles, the Webex scope names, and what each role may hold."""

from enum import StrEnum


class Scope(StrEnum):
    """Scope names; the wholesale ones are Webex's own."""

    CUSTOMERS_READ = "spark-admin:wholesale_customers_read"
    CUSTOMERS_WRITE = "spark-admin:wholesale_customers_write"
    SUBSCRIBERS_READ = "spark-admin:wholesale_subscribers_read"
    SUBSCRIBERS_WRITE = "spark-admin:wholesale_subscribers_write"
    SUB_PARTNERS_READ = "spark-admin:wholesale_sub_partners_read"
    SUB_PARTNERS_WRITE = "spark-admin:wholesale_sub_partners_write"
    BILLING_READ = "spark-admin:wholesale_billing_reports_read"
    BILLING_WRITE = "spark-admin:wholesale_billing_reports_write"
    ORGANIZATIONS_READ = "spark-admin:organizations_read"
    COMPLIANCE_REVIEW = "wholesale:compliance_review"
    PLATFORM_ADMIN = "wholesale:platform_admin"


class Role(StrEnum):
    """Who a token speaks for."""

    PARTNER_ADMIN = "partner-admin"
    REVIEWER = "reviewer"
    OPERATOR = "operator"
    CUSTOMER_ADMIN = "customer-admin"


DEFAULT_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.PARTNER_ADMIN: frozenset(
        {
            Scope.CUSTOMERS_READ,
            Scope.CUSTOMERS_WRITE,
            Scope.SUBSCRIBERS_READ,
            Scope.SUBSCRIBERS_WRITE,
            Scope.SUB_PARTNERS_READ,
            Scope.SUB_PARTNERS_WRITE,
            Scope.BILLING_READ,
            Scope.BILLING_WRITE,
            Scope.ORGANIZATIONS_READ,
        }
    ),
    Role.REVIEWER: frozenset({Scope.COMPLIANCE_REVIEW, Scope.CUSTOMERS_READ, Scope.ORGANIZATIONS_READ}),
    Role.OPERATOR: frozenset({Scope.PLATFORM_ADMIN, Scope.COMPLIANCE_REVIEW, Scope.ORGANIZATIONS_READ}),
    Role.CUSTOMER_ADMIN: frozenset({Scope.SUBSCRIBERS_READ, Scope.SUBSCRIBERS_WRITE, Scope.ORGANIZATIONS_READ}),
}

# Which org kind a role's token must belong to.
ROLE_ORG_KIND: dict[Role, str] = {
    Role.PARTNER_ADMIN: "partner",
    Role.REVIEWER: "platform",
    Role.OPERATOR: "platform",
    Role.CUSTOMER_ADMIN: "customer",
}
