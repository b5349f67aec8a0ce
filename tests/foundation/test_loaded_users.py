"""The users a provisioning batch loads at once (`identity.load_users`) answer `find_user` from memory, and the
answers stay true: a user created after the load is found, one its rolled-back savepoint took is not."""

import uuid

from wholesale.identity import service as identity


def test_find_user_answers_from_a_load_and_keeps_it_true(session, tenant):
    email = f"memo-{uuid.uuid4().hex[:8]}@example.com"
    identity.load_users(session, [email.upper()])
    assert identity.find_user(session, email) is None
    savepoint = session.begin_nested()
    made = identity.create_user(session, org_id=tenant.partner_org_id, email=email)
    assert identity.find_user(session, email) is made
    savepoint.rollback()
    assert identity.find_user(session, email) is None  # the database says so: the user went with its savepoint
    kept = identity.create_user(session, org_id=tenant.partner_org_id, email=email)
    assert identity.find_user(session, email.upper()) is kept


def test_what_a_transaction_loaded_ends_with_it(db):
    with db.session(write=False) as s:
        identity.load_users(s, ["nobody@example.com"])
        assert identity._LOADED.peek(s) == {"nobody@example.com": None}
        s.rollback()
        assert identity._LOADED.peek(s) is None
