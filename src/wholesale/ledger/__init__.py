"""The usage ledger (R2): an append-only, hash-chained record of every change of what a customer or user holds,
written in the same transaction as the change. Billing reports read only this."""
