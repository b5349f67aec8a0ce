"""What was typed into a form survives a session that ended meanwhile.

A form's POST handler wears `@keeps_form` (under `@page`): when its session has ended (idle or absolute timeout,
sign-out elsewhere) or the page was opened before the last sign-in (its CSRF token is stale), the submitted fields,
never the CSRF token or a password, go into a short-lived signed cookie scoped to the form's own page, and the
browser goes to sign-in (or is told the form was not saved). The form's GET handler wears `@restores_form`: the
next time the form's page opens (after sign-in: sign-in returns to it), it is filled with what was kept, once.
The sub-partner the form was filled for is kept too, so the form comes back for the same organisation.

Nothing goes into a URL; the cookie is HttpOnly, SameSite=Strict, signed with the server secret (so only a draft
this server made is read back), and lasts DRAFT_MINUTES. It belongs to the account whose session ended (or whose
page was stale): it comes back only when that same account signs in, never to someone else on the same browser.
A form sent after its user signed out (the session cookie is gone) keeps nothing: sign-out leaves nothing of theirs
in the browser.
"""

import base64
import functools
import hashlib
import hmac
import json
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from wholesale.billing.downloads import secret_key
from wholesale.db.session import get_database
from wholesale.identity import accounts
from wholesale.kit import clock
from wholesale.kit.errors import Forbidden, Unauthorized
from wholesale.portal.web import ACTING_COOKIE, CSRF_COOKIE, SESSION_COOKIE, render, set_cookie, signed_in

DRAFT_COOKIE = "wholesale_draft"
DRAFT_MINUTES = 15
# Never kept: the CSRF token, secrets, and a confirmation (a kept form must be sent again on purpose).
NOT_KEPT = frozenset({"csrf", "password", "token", "confirm"})
MAX_COOKIE = 3800  # browsers keep cookies up to 4096 bytes, name and attributes included
EXPIRED, STALE = "expired", "stale"


@dataclass(frozen=True)
class Draft:
    """A kept form: its page, its fields in order (a field may repeat: checkboxes), why it was kept, the
    sub-partner acted for ('' for the partner itself), and whose it is (the principal id of the session that
    filled it: a portal account or an API token)."""

    path: str
    fields: list[tuple[str, str]]
    reason: str
    acting: str
    owner: str = ""

    def values(self, lists: Sequence[str] = ()) -> dict[str, Any]:
        """The fields as a form's `values`: text, and lists for the names in `lists` (checkboxes)."""
        out: dict[str, Any] = {name: [] for name in lists}
        for name, value in self.fields:
            if name in lists:
                out[name].append(value)
            else:
                out[name] = value
        return out


def _signature(data: str) -> str:
    return hmac.new(secret_key(), f"portal-draft:{data}".encode(), hashlib.sha256).hexdigest()


def seal(draft: Draft) -> str | None:
    """The draft as a cookie value (compressed, signed, with its end); None when it would not fit in a cookie."""
    until = int(clock.now().timestamp()) + DRAFT_MINUTES * 60
    payload = json.dumps(
        [draft.path, draft.fields, draft.reason, draft.acting, draft.owner, until], separators=(",", ":")
    )
    data = base64.urlsafe_b64encode(zlib.compress(payload.encode())).decode().rstrip("=")
    sealed = f"{data}.{_signature(data)}"
    return sealed if len(sealed) <= MAX_COOKIE else None


def unseal(sealed: str | None) -> Draft | None:
    """A draft this server sealed and that has not run out, else None."""
    data, _, signature = (sealed or "").partition(".")
    if not data or not hmac.compare_digest(signature, _signature(data)):
        return None
    try:
        raw = zlib.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
        path, fields, reason, acting, owner, until = json.loads(raw)
    except (ValueError, zlib.error, TypeError):
        return None
    if until < clock.now().timestamp():
        return None
    return Draft(str(path), [(str(k), str(v)) for k, v in fields], str(reason), str(acting), str(owner))


def _kept_fields(form: FormData) -> list[tuple[str, str]]:
    return [(k, v) for k, v in form.multi_items() if k not in NOT_KEPT and isinstance(v, str)]


def _owner(request: Request) -> str | None:
    """Whose session the browser sent (ended or not), or None when it sent none the server knows."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    with get_database().session(write=False) as session:
        return accounts.session_owner(session, secret)


def _keep(response: Response, request: Request, form: FormData, reason: str, owner: str | None) -> Response:
    if owner is None:
        return response  # nobody to give it back to
    path = request.url.path
    draft = Draft(path, _kept_fields(form), reason, request.cookies.get(ACTING_COOKIE) or "", owner)
    if (sealed := seal(draft)) is not None:
        set_cookie(response, request, DRAFT_COOKIE, sealed, path=path, max_age=DRAFT_MINUTES * 60)
    return response


def _stale_token(request: Request, form: FormData) -> bool:
    """A CSRF token this browser was given before, no longer its cookie's (the page is older than a sign-in).
    A cross-site post has no cookie at all (SameSite=Strict): that is refused as before, nothing kept."""
    cookie, sent = request.cookies.get(CSRF_COOKIE) or "", str(form.get("csrf") or "")
    return bool(cookie and sent) and not hmac.compare_digest(cookie, sent)


def keeps_form(fn: Callable[..., Response]) -> Callable[..., Response]:
    """For a form's POST handler, under `@page`: keep what was typed when the session ended or the page is stale."""

    @functools.wraps(fn)
    def run(**kwargs: Any) -> Response:
        request: Request = kwargs["request"]
        form: FormData = kwargs["form"]
        try:
            return fn(**kwargs)
        except Unauthorized:
            if request.headers.get("hx-request"):
                raise
            owner = _owner(request)
            # Signed out (the cookie is gone): nothing of theirs stays in this browser, and the sign-in page says
            # nothing was kept (`_keep` keeps nothing without an owner).
            query = {"next": request.url.path} | ({"kept": "1"} if owner else {})
            signin = RedirectResponse(f"/portal/signin?{urlencode(query)}", status_code=303)
            return _keep(signin, request, form, EXPIRED, owner)
        except Forbidden:
            if not _stale_token(request, form):
                raise
            page = render(request, "form_kept.html", 403, path=request.url.path)
            return _keep(page, request, form, STALE, _owner(request))

    return run


def restores_form(fn: Callable[..., Response]) -> Callable[..., Response]:
    """For a form's GET handler, under `@page`: a kept draft of this page fills the form once (`kept(request)`)."""

    @functools.wraps(fn)
    def run(**kwargs: Any) -> Response:
        request: Request = kwargs["request"]
        draft = unseal(request.cookies.get(DRAFT_COOKIE))
        if draft is None or draft.path != request.url.path:
            return fn(**kwargs)
        if signed_in(request, None).token_id != draft.owner:
            # Someone else signed in on this browser: the form is not theirs to see.
            response = fn(**kwargs)
            response.delete_cookie(DRAFT_COOKIE, path=draft.path)
            return response
        if draft.acting != (request.cookies.get(ACTING_COOKIE) or ""):
            # Back to the organisation the form was filled for (sign-in starts as the partner itself); the
            # portal's sign-in checks still decide whether that sub-partner may be acted for.
            again = RedirectResponse(request.url.path, status_code=303)
            if draft.acting:
                set_cookie(again, request, ACTING_COOKIE, draft.acting)
            else:
                again.delete_cookie(ACTING_COOKIE, path="/portal")
            return again
        request.state.kept_draft = draft
        response = fn(**kwargs)
        if response.status_code < 300:  # the form was shown with it: forget it
            response.delete_cookie(DRAFT_COOKIE, path=draft.path)
        return response

    return run


def kept(request: Request) -> Draft | None:
    """The draft `@restores_form` brings back on this request, if any."""
    draft = getattr(request.state, "kept_draft", None)
    return draft if isinstance(draft, Draft) else None
