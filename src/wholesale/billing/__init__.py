"""Billing reports (R2): the four official operations, generated from the usage ledger only."""
