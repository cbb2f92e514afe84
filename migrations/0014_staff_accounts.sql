-- Staff accounts a study runs itself (SPEC §15): invitations and password resets
-- by single-use links, two-factor sign-in (TOTP) with recovery codes, the phone
-- number participants of a site should call, and the access log of who signed in
-- and who looked at which record (HIPAA 164.312(b)).
-- signin_attempts is rebuilt to widen its CHECKs: a password change is throttled
-- like a sign-in, and a right password still waiting for its second factor is
-- 'partial' (neither a failure nor a success that would reset the counters).

ALTER TABLE sites ADD COLUMN phone TEXT CHECK (phone IS NULL OR length(phone) BETWEEN 3 AND 40);

-- An invited account has no password yet: password_hash is '!' (no hash matches it).
ALTER TABLE staff ADD COLUMN password_changed_at TEXT;
ALTER TABLE staff ADD COLUMN invited_at TEXT;
-- The TOTP secret, encrypted with a key derived from SECRET_KEY; totp_pending is a
-- secret being enrolled (shown once as a QR code, kept until confirmed with a code).
ALTER TABLE staff ADD COLUMN totp_secret TEXT;
ALTER TABLE staff ADD COLUMN totp_pending TEXT;
ALTER TABLE staff ADD COLUMN totp_enabled_at TEXT;
-- The last 30-second step a code was accepted for: a code is never accepted twice.
ALTER TABLE staff ADD COLUMN totp_last_step INTEGER;

CREATE TABLE staff_links (
    id INTEGER PRIMARY KEY,
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('invitation', 'reset')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    -- who asked for it: an admin's staff id, or NULL for a self-service reset
    created_by INTEGER REFERENCES staff (id),
    expires_at TEXT NOT NULL,
    used_at TEXT,
    -- a newer link, a deactivation or a used link ends the others
    voided_at TEXT
) STRICT;
CREATE INDEX staff_links_staff ON staff_links (staff_id, created_at);

CREATE TABLE staff_recovery_codes (
    id INTEGER PRIMARY KEY,
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at TEXT
) STRICT;
CREATE INDEX staff_recovery_codes_staff ON staff_recovery_codes (staff_id);

CREATE TABLE signin_attempts_new (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    client_key TEXT NOT NULL,
    account_key TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('sign_in', 'signature', 'password_change')),
    outcome TEXT NOT NULL DEFAULT 'pending'
        CHECK (outcome IN ('pending', 'failed', 'success', 'partial'))
) STRICT;
INSERT INTO signin_attempts_new SELECT * FROM signin_attempts;
DROP TABLE signin_attempts;
ALTER TABLE signin_attempts_new RENAME TO signin_attempts;
CREATE INDEX signin_attempts_client ON signin_attempts (client_key, at);
CREATE INDEX signin_attempts_account ON signin_attempts (account_key, at);
CREATE INDEX signin_attempts_at ON signin_attempts (at);

-- Who signed in (or tried to) and who read which participant's record or which
-- export. Never a password, a code or a note. Kept with the study's records.
CREATE TABLE access_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event IN (
        'sign_in', 'sign_in_failed', 'second_factor_failed', 'recovery_code_used',
        'sign_out', 'password_reset_requested', 'participant_read', 'export_read',
        'access_log_read')),
    -- the staff account when known; account is the e-mail as typed (unknown ones too)
    staff_id INTEGER REFERENCES staff (id),
    account TEXT,
    client TEXT,
    participant_id INTEGER REFERENCES participants (id),
    site_id INTEGER REFERENCES sites (id),
    -- what was read: the route or the export's name
    object TEXT
) STRICT;
CREATE INDEX access_log_at ON access_log (at);
CREATE INDEX access_log_staff ON access_log (staff_id, at);
CREATE INDEX access_log_participant ON access_log (participant_id, at);
