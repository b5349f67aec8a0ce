"""Portal accounts and sessions: email + password (argon2), server-side sessions with idle and absolute timeouts,
revocation that bites at once, and a lockout after repeated wrong passwords.

A session resolves to the same Principal an API token gives, so every portal page authorises exactly as the API
does. Developers may still sign in with an API token: the session then points at the token (revoking the token
ends the session), and the token itself never reaches the cookie.
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from wholesale.config import get_settings
from wholesale.events import service as events
from wholesale.identity import repository
from wholesale.identity.models import ApiToken, Org, PortalSession, PortalUser
from wholesale.identity.roles import DEFAULT_SCOPES, ROLE_ORG_KIND, Role
from wholesale.identity.schemas import Principal
from wholesale.kit import clock, ids
from wholesale.kit.errors import BadRequest, Conflict, NotFound, Unauthorized

_hasher = PasswordHasher()  # argon2id with the library's current parameters (RFC 9106 low-memory profile)
# Verified against when the email is unknown, so a wrong email costs what a wrong password costs.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD = 12
WRONG = "The email or the password is wrong."
# last_seen is written at most this often (each write takes SQLite's one writer).
_TOUCH_EVERY = timedelta(seconds=60)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _partner_of(org: Org) -> str | None:
    return org.id if org.kind == "partner" else org.managed_by_org_id


def create_user(session: Session, *, org_id: str, email: str, role: Role, password: str | None = None) -> str:
    """Add a portal account; return its password (the one given, or a generated one to hand over once)."""
    org = repository.get_org(session, org_id)
    if org is None:
        raise NotFound(f"Organization {org_id} not found.")
    if org.kind != ROLE_ORG_KIND[role]:
        raise BadRequest(f"Role {role} needs a {ROLE_ORG_KIND[role]} org; {org_id} is a {org.kind} org.")
    address = email.strip().lower()
    if "@" not in address or len(address) > 320:
        raise BadRequest(f"email: '{email}' is not an email address.")
    if session.scalar(sa.select(PortalUser.id).where(PortalUser.email == address)) is not None:
        raise Conflict(f"email: a portal account for {address} already exists.")
    password = password if password is not None else secrets.token_urlsafe(15)
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"password: must be at least {MIN_PASSWORD} characters.")
    user = PortalUser(
        id=ids.new_id("PORTAL_USER"),
        org_id=org_id,
        email=address,
        password_hash=_hasher.hash(password),
        role=role.value,
        created=clock.now(),
        failed_attempts=0,
    )
    session.add(user)
    _audit(session, user, org, "portal_user.created", {"email": address, "role": role.value})
    return password


def find_user(session: Session, email: str) -> PortalUser | None:
    """The portal account with this email, if any."""
    return session.scalar(sa.select(PortalUser).where(PortalUser.email == email.strip().lower()))


def reset_password(session: Session, email: str, password: str | None = None) -> str:
    """Give an account a new password (generated unless given), unlock it and end its sessions; return it."""
    user = find_user(session, email)
    if user is None:
        raise NotFound(f"No portal account for {email}.")
    password = password if password is not None else secrets.token_urlsafe(15)
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"password: must be at least {MIN_PASSWORD} characters.")
    now = clock.now()
    user.password_hash = _hasher.hash(password)
    user.failed_attempts = 0
    user.locked_until = None
    _end_sessions(session, user.id, now)
    _audit(session, user, repository.get_org(session, user.org_id), "portal_user.password_reset", {"email": user.email})
    return password


def _end_sessions(session: Session, portal_user_id: str, now: datetime) -> None:
    session.execute(
        sa.update(PortalSession)
        .where(PortalSession.portal_user_id == portal_user_id, PortalSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def disable_user(session: Session, email: str) -> PortalUser:
    """Disable an account and end its sessions at once."""
    user = find_user(session, email)
    if user is None:
        raise NotFound(f"No portal account for {email}.")
    now = clock.now()
    user.disabled_at = now
    _end_sessions(session, user.id, now)
    _audit(session, user, repository.get_org(session, user.org_id), "portal_user.disabled", {"email": user.email})
    return user


def disable_in_org(session: Session, org_id: str, user_id: str) -> PortalUser:
    """Disable one of an org's accounts (404 for another org's: a partner manages only its own people)."""
    user = session.get(PortalUser, user_id)
    if user is None or user.org_id != org_id:
        raise NotFound("No such portal account in your organisation.")
    return disable_user(session, user.email)


def list_users(session: Session, org_id: str | None = None) -> list[PortalUser]:
    """Portal accounts, of one org or all, by email."""
    query = sa.select(PortalUser).order_by(PortalUser.email)
    if org_id:
        query = query.where(PortalUser.org_id == org_id)
    return list(session.scalars(query))


def sign_in(session: Session, email: str, password: str) -> tuple[str, PortalUser]:
    """Check the password; open a session and return its secret (for the cookie) and the user. Ten wrong passwords
    in a row lock the account for a while; a locked account is refused whatever the password."""
    settings = get_settings()
    now = clock.now()
    user = session.scalar(sa.select(PortalUser).where(PortalUser.email == email.strip().lower()).with_for_update())
    if user is None or user.disabled_at is not None:
        _verify(_DUMMY_HASH, password)
        raise Unauthorized(WRONG)
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, round((user.locked_until - now).total_seconds() / 60))
        raise Unauthorized(f"Too many wrong passwords: the account is locked for {minutes} more minute(s).")
    if not _verify(user.password_hash, password):
        user.failed_attempts += 1
        if user.failed_attempts >= settings.portal_lockout_attempts:
            user.failed_attempts = 0
            user.locked_until = now + timedelta(minutes=settings.portal_lockout_minutes)
            _audit(session, user, repository.get_org(session, user.org_id), "portal_user.locked", {"email": user.email})
        # The count must survive the refusal: the caller commits this transaction before it answers 401.
        raise Unauthorized(WRONG)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_attempts = 0
    user.locked_until = None
    user.last_signed_in = now
    return _open(session, portal_user_id=user.id), user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def sign_in_with_token(session: Session, principal: Principal) -> str:
    """Open a session for an API token already authenticated (developers); return its secret."""
    return _open(session, api_token_id=principal.token_id)


def _open(session: Session, *, portal_user_id: str | None = None, api_token_id: str | None = None) -> str:
    settings = get_settings()
    now = clock.now()
    secret = secrets.token_urlsafe(32)
    session.add(
        PortalSession(
            id=ids.new_id("PORTAL_SESSION"),
            secret_hash=_digest(secret),
            portal_user_id=portal_user_id,
            api_token_id=api_token_id,
            created=now,
            last_seen=now,
            expires_at=now + timedelta(hours=settings.portal_session_hours),
        )
    )
    return secret


def resolve(session: Session, secret: str) -> tuple[Principal, bool]:
    """The principal of a live session, and whether its last_seen is due a write; 401 when the session is unknown,
    revoked, idle too long or past its absolute end, or its account or token is gone."""
    now = clock.now()
    row = session.scalar(sa.select(PortalSession).where(PortalSession.secret_hash == _digest(secret)))
    idle = timedelta(minutes=get_settings().portal_idle_minutes)
    if row is None or row.revoked_at is not None:
        raise Unauthorized("Your session has ended. Sign in again.")
    if now >= row.expires_at or now - row.last_seen >= idle:
        raise Unauthorized("Your session expired. Sign in again.")
    if row.portal_user_id is not None:
        user = session.get(PortalUser, row.portal_user_id)
        if user is None or user.disabled_at is not None:
            raise Unauthorized("Your account was disabled.")
        org = repository.get_org(session, user.org_id)
        role = Role(user.role)
        principal_id, scopes, account = user.id, DEFAULT_SCOPES[role], True
    else:
        token = session.get(ApiToken, row.api_token_id)
        if token is None or token.revoked_at is not None:
            raise Unauthorized("The access token of this session was revoked.")
        org = repository.get_org(session, token.org_id)
        role = Role(token.role)
        principal_id, scopes, account = token.id, frozenset(token.scopes), False
    if org is None:
        raise Unauthorized("Your organisation no longer exists.")
    principal = Principal(
        token_id=principal_id,
        org_id=org.id,
        role=role,
        scopes=frozenset(scopes),
        partner_org_id=_partner_of(org),
        portal_account=account,
    )
    return principal, now - row.last_seen >= _TOUCH_EVERY


def session_owner(session: Session, secret: str) -> str | None:
    """Who a session belongs to (its portal account's id, or its API token's), live or ended; None when unknown."""
    row = session.scalar(sa.select(PortalSession).where(PortalSession.secret_hash == _digest(secret)))
    return None if row is None else (row.portal_user_id or row.api_token_id)


def touch(session: Session, secret: str) -> None:
    """Record activity on a session (keeps it from idling out)."""
    session.execute(
        sa.update(PortalSession).where(PortalSession.secret_hash == _digest(secret)).values(last_seen=clock.now())
    )


def sign_out(session: Session, secret: str) -> None:
    """Revoke the session: its cookie is worthless from now on, wherever it was copied to."""
    session.execute(
        sa.update(PortalSession)
        .where(PortalSession.secret_hash == _digest(secret), PortalSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def purge_sessions(session: Session, before: datetime) -> int:
    """Delete sessions that ended before `before` (expired or revoked); return how many."""
    ended = sa.or_(PortalSession.expires_at < before, PortalSession.revoked_at < before)
    # A DML statement's result is a CursorResult (Session.execute is typed as returning the base Result).
    result = cast(CursorResult[Any], session.execute(sa.delete(PortalSession).where(ended)))
    return result.rowcount or 0


def _audit(session: Session, user: PortalUser, org: Org | None, action: str, data: dict[str, object]) -> None:
    events.record(
        session,
        subject_type="portal_user",
        subject_id=user.id,
        action=action,
        partner_org_id=_partner_of(org) if org is not None else None,
        data=data,
    )
