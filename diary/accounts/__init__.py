"""Staff accounts a study runs itself (SPEC §15): an admin invites, edits and
deactivates accounts and keeps the sites; everyone changes their own password,
resets a forgotten one by a single-use link, and sets up their second factor.

Above notify (the invitation and reset mails go through its SMTP transport) and
auth (passwords, sessions, TOTP, the sign-in throttle)."""
