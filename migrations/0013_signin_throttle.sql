-- Staff sign-in throttling (SPEC §15): every password check is one row, reserved as
-- 'pending' inside a write transaction before the password is checked, so that
-- parallel guesses never get past the limits; counted per client address, per
-- account at an address, and per account. The key is the e-mail as typed
-- (lower-cased), whether or not such an account exists, so the answers reveal
-- nothing. The account-wide lock of 0001 (staff.failed_logins, locked_until) is
-- no longer used: it let anyone lock any known account out.
CREATE TABLE signin_attempts (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    client_key TEXT NOT NULL,
    account_key TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('sign_in', 'signature')),
    outcome TEXT NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending', 'failed', 'success'))
) STRICT;
CREATE INDEX signin_attempts_client ON signin_attempts (client_key, at);
CREATE INDEX signin_attempts_account ON signin_attempts (account_key, at);
CREATE INDEX signin_attempts_at ON signin_attempts (at);
UPDATE staff SET failed_logins = 0, locked_until = NULL;
