"""Staff accounts, roles, sign-in and the audit log."""
