"""What partners and operators read about what happened: the partner event feed and the audit log."""
