-- Sites, staff, participants, activation, sessions, rate limits and the audit trail.
-- Instants are aware UTC ISO 8601 text; diary dates are YYYY-MM-DD local dates.

CREATE TABLE sites (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 40),
    name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('coordinator', 'investigator', 'admin')),
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL,
    last_login_at TEXT
) STRICT;

CREATE TABLE staff_sites (
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    site_id INTEGER NOT NULL REFERENCES sites (id),
    PRIMARY KEY (staff_id, site_id)
) STRICT;

-- No name, email, phone, address or treatment arm: blinding and privacy by design.
CREATE TABLE participants (
    id INTEGER PRIMARY KEY,
    study_id TEXT NOT NULL UNIQUE,
    site_id INTEGER NOT NULL REFERENCES sites (id),
    baseline_back_pain INTEGER NOT NULL CHECK (baseline_back_pain BETWEEN 0 AND 10),
    baseline_mme REAL NOT NULL CHECK (baseline_mme >= 0),
    reminder_time TEXT,
    notifications_enabled INTEGER NOT NULL DEFAULT 1 CHECK (notifications_enabled IN (0, 1)),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'withdrawn', 'completed')),
    enrolled_at TEXT NOT NULL,
    activated_at TEXT,
    last_seen_at TEXT
) STRICT;
CREATE INDEX participants_site ON participants (site_id);

-- Time zone history: each change is kept so entries stay in the zone they were made in.
CREATE TABLE participant_timezones (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    timezone TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    UNIQUE (participant_id, effective_from)
) STRICT;

-- Study days count from the first injection; watch windows from the latest.
CREATE TABLE injections (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    date TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (participant_id, date)
) STRICT;

CREATE TABLE activation_codes (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    code_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    revoked_at TEXT,
    created_by_staff_id INTEGER REFERENCES staff (id)
) STRICT;
CREATE INDEX activation_codes_participant ON activation_codes (participant_id);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('staff', 'participant')),
    staff_id INTEGER REFERENCES staff (id),
    participant_id INTEGER REFERENCES participants (id),
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT,
    CHECK ((kind = 'staff') = (staff_id IS NOT NULL AND participant_id IS NULL)),
    CHECK ((kind = 'participant') = (participant_id IS NOT NULL AND staff_id IS NULL))
) STRICT;
CREATE INDEX sessions_participant ON sessions (participant_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_staff ON sessions (staff_id) WHERE ended_at IS NULL;

-- Failed activation attempts, counted per client in the database (not per process).
CREATE TABLE activation_failures (
    id INTEGER PRIMARY KEY,
    client_key TEXT NOT NULL,
    failed_at TEXT NOT NULL
) STRICT;
CREATE INDEX activation_failures_client ON activation_failures (client_key, failed_at);

-- Append-only, hash-chained audit trail (SPEC §9).
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor_type TEXT NOT NULL CHECK (actor_type IN ('staff', 'participant', 'system', 'cli')),
    actor_id TEXT,
    actor_label TEXT,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT,
    site_id INTEGER,
    participant_id INTEGER,
    before TEXT,
    after TEXT,
    reason TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
) STRICT;
CREATE INDEX audit_log_object ON audit_log (object_type, object_id);
CREATE INDEX audit_log_actor ON audit_log (actor_type, actor_id);
CREATE INDEX audit_log_participant ON audit_log (participant_id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
END;
