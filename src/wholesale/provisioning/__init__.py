"""The customer lifecycle across domains: the provision, update and delete workflows and the steps that reach
into customers, identity, subscribers (the full admin, R5) and dialin (the meetings site, R15-R18).

It sits above those domains, so none of them imports another to run a customer's provisioning.
"""
