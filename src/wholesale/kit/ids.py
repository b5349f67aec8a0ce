"""Webex-style opaque ids: base64url of ciscospark://us/<KIND>/<uuid>, unpadded."""

import base64
import hashlib
import random
import secrets
import uuid


def new_id(kind: str) -> str:
    """Return a new opaque id of the given kind (ENTERPRISE, ORGANIZATION, SUBSCRIBER, ...)."""
    return encode_id(kind, str(uuid.uuid4()))


def encode_id(kind: str, raw: str) -> str:
    """Encode a raw uuid (or other string) as an opaque id of a kind."""
    text = f"ciscospark://us/{kind}/{raw}".encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def new_token() -> str:
    """Return a new bearer token (shown once, stored only as a hash)."""
    return "whs_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


_tracking_random = random.Random()  # seeded once from os.urandom; tracking ids need uniqueness, not secrecy


def new_tracking_id() -> str:
    """Return a tracking id in the style Webex clients send.

    Not uuid4(): that reads os.urandom on every request, which costs ~0.5 ms on some VMs.
    """
    return f"WHOLESALE_{uuid.UUID(int=_tracking_random.getrandbits(128), version=4)}"
