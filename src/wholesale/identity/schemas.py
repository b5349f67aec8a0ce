"""Identity API shapes."""

from dataclasses import dataclass

from wholesale.identity.roles import Role
from wholesale.kit.schemas import ResponseModel


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    token_id: str
    org_id: str
    role: Role
    scopes: frozenset[str]
    # The partner that owns the caller's org: itself for partners, the managing partner for customer admins.
    partner_org_id: str | None
    # A portal account signed in with its password (token_id is then the account's id), not an API token.
    portal_account: bool = False


class OrganizationRead(ResponseModel):
    """An identity organisation as GET /v1/organizations/{orgId} shows it."""

    id: str
    displayName: str
    countryCode: str | None = None
    language: str | None = None
    created: str
