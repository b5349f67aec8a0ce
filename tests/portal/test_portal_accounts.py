"""Portal accounts (issue 14): email + password (argon2), server-side sessions (revocable at once, idle and absolute
timeouts), lockout after ten wrong passwords, the way back to the page you came from, and token sign-in that
never puts the token in the cookie."""

import re
import uuid

import pytest
import sqlalchemy as sa

from helpers import CSRF

SESSION = "wholesale_portal"


@pytest.fixture
def account(db, partner):
    """A partner admin's portal account: (email, password)."""
    from wholesale.identity import accounts
    from wholesale.identity.roles import Role

    email = f"Admin-{uuid.uuid4().hex[:8]}@Partner.example"
    with db.transaction() as s:
        password = accounts.create_user(s, org_id=partner.org_id, email=email, role=Role.PARTNER_ADMIN)
    return email.lower(), password


def _csrf(web) -> str:
    return CSRF.search(web.get("/portal/signin").text).group(1)


def _sign_in(web, email: str, password: str, next_page: str | None = None):
    data = {"csrf": _csrf(web), "email": email, "password": password}
    if next_page is not None:
        data["next"] = next_page
    return web.post("/portal/signin", data=data)


def test_an_account_signs_in_with_its_password_and_the_database_keeps_only_hashes(web, db, account):
    from wholesale.identity.models import PortalSession, PortalUser

    email, password = account
    response = _sign_in(web, email.upper(), password)  # the email in any case
    assert response.status_code == 303 and response.headers["location"] == "/portal"
    secret = web.cookies[SESSION]
    assert web.get("/portal/customers").status_code == 200
    with db.session(write=False) as s:
        user = s.scalars(sa.select(PortalUser).where(PortalUser.email == email)).one()
        assert user.password_hash.startswith("$argon2id$") and password not in user.password_hash
        assert user.last_signed_in is not None
        stored = s.scalars(sa.select(PortalSession).where(PortalSession.portal_user_id == user.id)).all()
        assert len(stored) == 1 and secret not in stored[0].secret_hash and len(stored[0].secret_hash) == 64


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(web, account):
    email, _ = account
    wrong = _sign_in(web, email, "not the password at all")
    unknown = _sign_in(web, f"nobody-{uuid.uuid4().hex[:6]}@partner.example", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert "The email or the password is wrong." in wrong.text and "The email or the password is wrong." in unknown.text
    assert SESSION not in web.cookies


def test_ten_wrong_passwords_lock_the_account_for_a_while(web, account, fixed_clock):
    email, password = account
    for _ in range(10):
        assert _sign_in(web, email, "wrong password!!").status_code == 401
    locked = _sign_in(web, email, password)  # the right password, too soon
    assert locked.status_code == 401 and "locked for 15 more minute(s)" in locked.text
    fixed_clock.advance(14 * 60)
    assert _sign_in(web, email, password).status_code == 401
    fixed_clock.advance(61)
    assert _sign_in(web, email, password).status_code == 303


def test_a_right_password_resets_the_count(web, account):
    email, password = account
    for _ in range(9):
        assert _sign_in(web, email, "wrong password!!").status_code == 401
    assert _sign_in(web, email, password).status_code == 303
    for _ in range(9):
        assert _sign_in(web, email, "wrong password!!").status_code == 401
    assert _sign_in(web, email, password).status_code == 303  # nine again, not eighteen


def test_a_signed_out_session_is_refused_at_once_wherever_its_cookie_went(web, app, account):
    from fastapi.testclient import TestClient

    email, password = account
    assert _sign_in(web, email, password).status_code == 303
    thief = TestClient(app, follow_redirects=False)
    thief.cookies.set(SESSION, web.cookies[SESSION], path="/portal")
    assert thief.get("/portal/customers").status_code == 200
    assert web.post("/portal/signout", data={"csrf": _csrf(web)}).status_code == 303
    assert thief.get("/portal/customers").status_code == 303  # back to sign-in, the very next request


def test_disabling_an_account_ends_its_sessions_at_once(web, db, account):
    from wholesale.identity import accounts

    email, password = account
    assert _sign_in(web, email, password).status_code == 303
    with db.transaction() as s:
        accounts.disable_user(s, email)
    assert web.get("/portal/customers").status_code == 303
    assert _sign_in(web, email, password).status_code == 401


def test_sessions_end_after_idle_and_absolute_timeouts(web, account, fixed_clock):
    email, password = account
    assert _sign_in(web, email, password).status_code == 303
    fixed_clock.advance(29 * 60)
    assert web.get("/portal/customers").status_code == 200  # activity keeps it alive
    fixed_clock.advance(30 * 60 + 1)
    assert web.get("/portal/customers").status_code == 303  # 30 idle minutes end it
    assert _sign_in(web, email, password).status_code == 303
    for _ in range(12 * 3 - 1):  # busy all day: a page every 20 minutes
        fixed_clock.advance(20 * 60)
        assert web.get("/portal/customers").status_code == 200
    fixed_clock.advance(20 * 60)
    assert web.get("/portal/customers").status_code == 303  # 12 hours after sign-in, whatever happens


def test_sign_in_returns_to_the_page_you_came_from_and_only_to_the_portal(web, account):
    email, password = account
    bounced = web.get("/portal/templates?sort=name")
    assert bounced.headers["location"] == "/portal/signin?next=%2Fportal%2Ftemplates%3Fsort%3Dname"
    form = web.get(bounced.headers["location"]).text
    assert 'name="next" value="/portal/templates?sort=name"' in form
    assert (
        _sign_in(web, email, password, "/portal/templates?sort=name").headers["location"]
        == "/portal/templates?sort=name"
    )
    for evil in ("//evil.example/portal", "https://evil.example/portal", "/\\evil.example", "javascript:alert(1)"):
        assert _sign_in(web, email, password, evil).headers["location"] == "/portal"


def test_token_sign_in_keeps_the_token_out_of_the_cookie_and_ends_with_the_token(web, db, partner):
    from wholesale.identity import service as identity

    csrf = _csrf(web)
    response = web.post("/portal/signin", data={"csrf": csrf, "token": partner.token})
    assert response.status_code == 303
    assert partner.token not in response.headers.get("set-cookie", "")
    assert web.cookies[SESSION] != partner.token
    assert web.get("/portal/customers").status_code == 200
    with db.transaction() as s:
        identity.revoke_token(s, partner.token)
    assert web.get("/portal/customers").status_code == 303  # no cache between a revocation and the portal


def test_accounts_need_a_long_password_and_a_role_that_fits_the_org(db, partner):
    from wholesale.identity import accounts
    from wholesale.identity.roles import Role
    from wholesale.kit.errors import BadRequest, Conflict

    with db.transaction() as s:
        with pytest.raises(BadRequest, match="at least 12"):
            accounts.create_user(
                s, org_id=partner.org_id, email="short@p.example", role=Role.PARTNER_ADMIN, password="short"
            )
        with pytest.raises(BadRequest, match="needs a platform org"):
            accounts.create_user(s, org_id=partner.org_id, email="rev@p.example", role=Role.REVIEWER)
        accounts.create_user(s, org_id=partner.org_id, email="twice@p.example", role=Role.PARTNER_ADMIN)
        with pytest.raises(Conflict):
            accounts.create_user(s, org_id=partner.org_id, email="TWICE@p.example", role=Role.PARTNER_ADMIN)
        s.rollback()


def test_a_partner_admin_manages_its_team_in_the_portal(web, app, db, account, make_partner):
    """Add a colleague (password shown once), who can sign in; disable them after a confirmation page, which ends
    their session at once; another partner's account cannot be reached by URL."""
    from fastapi.testclient import TestClient

    from wholesale.identity import accounts
    from wholesale.identity.roles import Role

    email, password = account
    assert _sign_in(web, email, password).status_code == 303
    page = web.get("/portal/team")
    assert page.status_code == 200 and email in page.text and 'href="/portal/team"' in page.text
    missing = web.post("/portal/team", data={"csrf": _csrf(web), "email": ""})
    assert missing.status_code == 400 and "Enter the person" in missing.text
    taken = web.post("/portal/team", data={"csrf": _csrf(web), "email": email})
    assert taken.status_code == 409 and "already exists" in taken.text
    colleague = f"colleague-{uuid.uuid4().hex[:6]}@partner.example"
    added = web.post("/portal/team", data={"csrf": _csrf(web), "email": colleague})
    assert added.status_code == 200
    new_password = re.search(r'data-testid="new-password">([^<]+)<', added.text).group(1)
    other = TestClient(app, follow_redirects=False)
    assert _sign_in(other, colleague, new_password).status_code == 303
    assert other.get("/portal/customers").status_code == 200
    with db.session(write=False) as s:
        colleague_id = accounts.find_user(s, colleague).id
    confirm = web.get(f"/portal/team/{colleague_id}/disable")
    assert confirm.status_code == 200 and f"Disable {colleague}?" in confirm.text
    assert web.post(f"/portal/team/{colleague_id}/disable", data={"csrf": _csrf(web)}).status_code == 303
    assert other.get("/portal/customers").status_code == 303  # signed out at once
    stranger = make_partner()
    with db.transaction() as s:
        accounts.create_user(
            s, org_id=stranger.org_id, email=f"x-{uuid.uuid4().hex[:6]}@other.example", role=Role.PARTNER_ADMIN
        )
        foreign_id = accounts.list_users(s, stranger.org_id)[0].id
    assert web.get(f"/portal/team/{foreign_id}/disable").status_code == 404
    assert web.post(f"/portal/team/{foreign_id}/disable", data={"csrf": _csrf(web)}).status_code == 404
    assert web.post(f"/portal/team/{colleague_id}/disable", data={}).status_code == 403  # no CSRF token
