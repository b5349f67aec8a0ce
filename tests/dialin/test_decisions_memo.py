"""R17/R18: a transaction decides a country's call-in number once (a batch of runs asks for a few countries many
times), and decides again when the numbers or overrides change in it, or in a later transaction."""

from wholesale.dialin import service


def test_a_transaction_decides_a_country_once_and_again_after_its_numbers_change(session):
    first = service.decide(session, "DE", True)
    assert service.decide(session, " de", True) is first  # asked again: the same decision, no second read
    service.replace_numbers(session, [])  # the domain emptied in this transaction (rolled back after the test)
    after = service.decide(session, "DE", True)
    assert after is not first and after.number is None


def test_what_a_transaction_decided_ends_with_it(db):
    with db.session(write=False) as s:
        service.decide(s, "DE", True)
        assert service._DECISIONS.peek(s)
        s.commit()
        assert service._DECISIONS.peek(s) is None
