"""Identity: organisations, tokens and authentication."""

import threading
import time
from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from wholesale.events import service as events
from wholesale.identity import repository
from wholesale.identity.models import ApiToken, Org, User
from wholesale.identity.roles import DEFAULT_SCOPES, ROLE_ORG_KIND, Role, Scope
from wholesale.identity.schemas import Principal
from wholesale.kit import clock, ids
from wholesale.kit.errors import BadRequest, Forbidden, NotFound, Unauthorized
from wholesale.kit.session_rows import TransactionMemo


def create_org(
    session: Session,
    *,
    kind: str,
    display_name: str,
    country_code: str | None = None,
    language: str | None = None,
    managed_by_org_id: str | None = None,
    org_id: str | None = None,
) -> Org:
    """Add an organisation to the identity directory."""
    org = Org(
        id=org_id or ids.new_id("ORGANIZATION"),
        kind=kind,
        display_name=display_name,
        country_code=country_code,
        language=language,
        managed_by_org_id=managed_by_org_id,
        created=clock.now(),
    )
    session.add(org)
    return org


def ensure_platform_org(session: Session) -> Org:
    """Return the platform's own org (operators and reviewers belong to it), creating it once."""
    platform_id = ids.encode_id("ORGANIZATION", "platform")
    org = repository.get_org(session, platform_id)
    if org is None:
        org = create_org(session, kind="platform", display_name="Platform", org_id=platform_id)
        session.flush()
    return org


def create_token(
    session: Session, *, org_id: str, role: Role, scopes: list[str] | None = None, label: str | None = None
) -> str:
    """Issue a bearer token for an org and role; returns the token, which is stored only hashed."""
    org = repository.get_org(session, org_id)
    if org is None:
        raise NotFound(f"Organization {org_id} not found.")
    if org.kind != ROLE_ORG_KIND[role]:
        raise BadRequest(f"Role {role} needs a {ROLE_ORG_KIND[role]} org; {org_id} is a {org.kind} org.")
    known = {s.value for s in Scope}
    unknown = [s for s in scopes or [] if s not in known]
    if unknown:
        raise BadRequest(f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
    token = ids.new_token()
    row = ApiToken(
        id=ids.new_id("TOKEN"),
        token_hash=ids.hash_token(token),
        org_id=org_id,
        role=role.value,
        scopes=sorted(scopes) if scopes else sorted(DEFAULT_SCOPES[role]),
        label=label,
        created=clock.now(),
    )
    session.add(row)
    _audit_token(session, row, org, "token.created", {"orgId": org_id, "role": row.role, "scopes": row.scopes})
    return token


def revoke_token(session: Session, token: str) -> ApiToken:
    """Revoke a token (given in clear, as it was printed); other processes stop accepting it within their cache TTL."""
    row = repository.get_token_by_hash(session, ids.hash_token(token.strip()))
    if row is None:
        raise NotFound("No live token matches.")
    row.revoked_at = clock.now()
    org = repository.get_org(session, row.org_id)
    _audit_token(session, row, org, "token.revoked", {"orgId": row.org_id, "role": row.role})
    return row


def _audit_token(session: Session, row: ApiToken, org: Org | None, action: str, data: dict[str, object]) -> None:
    """Audit a token's issue or revocation (never the token itself) under the partner its org belongs to."""
    partner = None
    if org is not None:
        partner = org.id if org.kind == "partner" else org.managed_by_org_id
    events.record(
        session,
        subject_type="token",
        subject_id=row.id,
        action=action,
        partner_org_id=partner,
        data={**data, "label": row.label},
    )


class TokenCache:
    """Resolved principals kept for a few seconds so a request costs no token query."""

    def __init__(self, ttl: float):
        self.ttl = ttl
        self._items: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, token_hash: str) -> Principal | None:
        """Return a cached principal that has not expired."""
        item = self._items.get(token_hash)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, token_hash: str, principal: Principal) -> None:
        """Cache a principal."""
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[token_hash] = (time.monotonic() + self.ttl, principal)

    def clear(self) -> None:
        """Forget every cached principal."""
        with self._lock:
            self._items.clear()


def authenticate(
    open_session: Callable[[], Session], authorization: str | None, cache: TokenCache | None = None
) -> Principal:
    """Resolve an Authorization header to a principal or raise 401; the database is read only on a cache miss."""
    if not authorization:
        raise Unauthorized("The request requires a valid access token set in the Authorization request header.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
    token_hash = ids.hash_token(token.strip())
    if cache is not None and (principal := cache.get(token_hash)) is not None:
        return principal
    with open_session() as session:
        row = repository.get_token_by_hash(session, token_hash)
        if row is None:
            raise Unauthorized("The access token is invalid or revoked.")
        org = repository.get_org(session, row.org_id)
    if org is None:  # tokens reference their org (ON DELETE CASCADE), so this is a broken database
        raise RuntimeError(f"Access token {row.id} belongs to org {row.org_id}, which does not exist.")
    partner_org_id = org.id if org.kind == "partner" else org.managed_by_org_id
    principal = Principal(
        token_id=row.id,
        org_id=row.org_id,
        role=Role(row.role),
        scopes=frozenset(row.scopes),
        partner_org_id=partner_org_id,
    )
    if cache is not None:
        cache.put(token_hash, principal)
    return principal


def require_scope(principal: Principal, scope: Scope) -> None:
    """Raise 403 unless the principal holds the scope."""
    if scope.value not in principal.scopes:
        raise Forbidden(f"The access token lacks the scope {scope.value}.")


# email -> User or None, for the emails a caller loaded at once (`load_users`), for the rest of its transaction.
_LOADED = TransactionMemo("wholesale.identity.users_by_email")


def load_users(session: Session, emails: Iterable[str]) -> None:
    """Read the users of these emails in one query; `find_user` answers for them from memory for the rest of the
    session's transaction (a batch of provisioning runs looks up each new customer's admin), and `create_user`
    keeps the answers true."""
    loaded = _LOADED.of(session)
    wanted = {e.lower() for e in emails if e} - loaded.keys()
    if wanted:
        found = repository.users_by_email(session, sorted(wanted))
        loaded.update({email: found.get(email) for email in wanted})


def find_user(session: Session, email: str) -> User | None:
    """Return the user with this (normalised) email, in any org."""
    email = email.lower()
    loaded = _LOADED.peek(session)
    if loaded is not None and email in loaded:
        user = loaded[email]
        if user is None or user in session:  # (one a rolled-back savepoint created is not: ask the database)
            return user
    return repository.get_user_by_email(session, email)


def email_in_use(session: Session, email: str) -> bool:
    """True when any org already has a user with this email (emails are unique platform-wide)."""
    return find_user(session, email) is not None


def create_user(
    session: Session,
    *,
    org_id: str,
    email: str,
    roles: list[str] | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    in_session: bool = True,
) -> User:
    """Add a person to an org; the email must be free (callers check first and map the clash to 10022).

    `in_session=False` for a transaction that looks for the new user nowhere else (one API request): the row is
    written now by a Core insert, and the returned object stays out of the session and its users-by-email memo."""
    row: dict[str, object] = {
        "id": ids.new_id("PEOPLE"),
        "org_id": org_id,
        "email": email.lower(),
        "first_name": first_name,
        "last_name": last_name,
        "roles": roles or [],
        "created": clock.now(),
    }
    user = User(**row)
    if not in_session:
        repository.insert_user(session, row)
        return user
    session.add(user)
    loaded = _LOADED.peek(session)
    if loaded is not None:
        loaded[user.email] = user
    return user


def create_users(session: Session, *, org_id: str, people: list[tuple[str, str | None, str | None]]) -> list[str]:
    """Add many people to one org in one INSERT (set-based create_user: the emails must be free); `people` are
    (email, first name, last name). Return their ids in order."""
    now = clock.now()
    rows: list[dict[str, object]] = [
        {
            "id": ids.new_id("PEOPLE"),
            "org_id": org_id,
            "email": email.lower(),
            "first_name": first_name,
            "last_name": last_name,
            "roles": [],
            "created": now,
        }
        for email, first_name, last_name in people
    ]
    repository.insert_users(session, rows)
    return [str(r["id"]) for r in rows]


def delete_users(session: Session, *, org_id: str, user_ids: list[str] | None = None) -> None:
    """Remove an org's people (a customer going away): all of them, or only those among `user_ids`."""
    repository.delete_users(session, org_id, user_ids)
