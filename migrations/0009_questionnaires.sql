-- Questionnaires (SPEC §13). An occurrence is one due questionnaire for one
-- participant: its due date and window come from the schedule in study.toml,
-- anchored to the first injection, to each injection or to enrollment. The
-- window's instants are computed in the participant's zone when the occurrence
-- is scheduled (and again while it is still pending, if the zone or an
-- injection date changes). An occurrence is identified by its place in the
-- schedule (instrument, anchor, series, offset), not by its dates: `series`
-- counts the injections for each_injection (0 for the first), so correcting an
-- injection's date moves a pending occurrence instead of asking again for one
-- already answered.
CREATE TABLE questionnaire_occurrences (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    instrument TEXT NOT NULL,
    anchor TEXT NOT NULL CHECK (anchor IN ('first_injection', 'each_injection', 'enrollment')),
    series INTEGER NOT NULL DEFAULT 0,
    anchor_date TEXT NOT NULL,
    offset_days INTEGER NOT NULL,
    due_date TEXT NOT NULL,
    window_opens TEXT NOT NULL,
    window_closes TEXT NOT NULL,
    timezone TEXT NOT NULL,
    -- pending: no response yet (upcoming or open, by the clock); missed: the window
    -- closed without one (set once, by the job).
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'missed')),
    missed_at TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (participant_id, instrument, anchor, series, offset_days)
) STRICT;

CREATE INDEX questionnaire_occurrences_closing
    ON questionnaire_occurrences (status, window_closes);

CREATE TABLE questionnaire_responses (
    id INTEGER PRIMARY KEY,
    occurrence_id INTEGER NOT NULL UNIQUE REFERENCES questionnaire_occurrences (id),
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    -- {linkId: value}: a choice is its option's code; answers hidden by enableWhen
    -- are not stored.
    answers TEXT NOT NULL,
    -- {score name: value or null (too many items missing)}, recomputed on correction.
    scores TEXT NOT NULL,
    device_time TEXT NOT NULL,
    received_at TEXT NOT NULL,
    -- Received after the window closed (made inside it on the phone, sent later).
    synced_late INTEGER NOT NULL DEFAULT 0 CHECK (synced_late IN (0, 1)),
    version INTEGER NOT NULL DEFAULT 1,
    entered_by TEXT,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE questionnaire_writes (
    client_id TEXT PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    occurrence_id INTEGER NOT NULL REFERENCES questionnaire_occurrences (id),
    request_hash TEXT NOT NULL,
    version INTEGER NOT NULL,
    received_at TEXT NOT NULL
) STRICT;
