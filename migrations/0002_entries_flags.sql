-- Diary entries, their opioid doses, the client-write log that makes PUTs
-- idempotent, and flags (SPEC §4, §5, §6).

CREATE TABLE entries (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    date TEXT NOT NULL,
    -- The zone the entry was made in: a participant who travels keeps it.
    timezone TEXT NOT NULL,
    back_pain INTEGER NOT NULL CHECK (back_pain BETWEEN 0 AND 10),
    leg_pain INTEGER NOT NULL CHECK (leg_pain BETWEEN 0 AND 10),
    symptoms TEXT NOT NULL DEFAULT '[]',
    temperature_c REAL,
    note TEXT,
    mme REAL,
    mme_unconverted TEXT NOT NULL DEFAULT '[]',
    device_time TEXT NOT NULL,
    received_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    late INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),
    version INTEGER NOT NULL DEFAULT 1,
    client_id TEXT NOT NULL,
    entered_by TEXT NOT NULL DEFAULT 'participant' CHECK (entered_by IN ('participant', 'staff')),
    UNIQUE (participant_id, date)
) STRICT;
CREATE INDEX entries_date ON entries (date);

CREATE TABLE doses (
    id INTEGER PRIMARY KEY,
    entry_id INTEGER NOT NULL REFERENCES entries (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    drug TEXT NOT NULL,
    strength REAL NOT NULL CHECK (strength > 0),
    units REAL NOT NULL CHECK (units > 0),
    UNIQUE (entry_id, position)
) STRICT;

-- Every accepted write by client_id: a replay returns the entry, never a second one;
-- the same client_id with other content is a conflict.
CREATE TABLE entry_writes (
    client_id TEXT PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    entry_id INTEGER NOT NULL REFERENCES entries (id),
    date TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    received_at TEXT NOT NULL
) STRICT;

CREATE TABLE flags (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    kind TEXT NOT NULL CHECK (kind IN ('red_flag_symptom', 'pain_flare', 'opioid_threshold',
                                       'opioid_increase', 'missed_entries')),
    severity TEXT NOT NULL CHECK (severity IN ('low', 'high', 'urgent')),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    -- Identifies the episode: a continuing episode updates its flag instead of opening another.
    episode_key TEXT NOT NULL,
    first_date TEXT NOT NULL,
    last_date TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    entry_id INTEGER REFERENCES entries (id),
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by INTEGER REFERENCES staff (id),
    resolved_at TEXT,
    resolved_by INTEGER REFERENCES staff (id),
    outcome TEXT CHECK (outcome IN ('not_ae', 'adverse_event')),
    resolution_note TEXT
) STRICT;
CREATE UNIQUE INDEX flags_one_open_episode ON flags (participant_id, kind, episode_key)
    WHERE status != 'resolved';
CREATE INDEX flags_status ON flags (status, severity);
CREATE INDEX flags_participant ON flags (participant_id);
