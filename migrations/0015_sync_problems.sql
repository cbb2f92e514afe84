-- What a participant's phone could not send (SPEC §11): an entry or questionnaire
-- answer the server refused for good (a 4xx) stays parked on the phone; one that keeps
-- meeting server errors keeps being retried. Either way the phone reports it here,
-- so that the study team sees a phone that is not syncing. One row per item and
-- answer code; a repeat report counts up.
CREATE TABLE sync_problems (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    client_id TEXT NOT NULL CHECK (length(client_id) BETWEEN 1 AND 64),
    kind TEXT NOT NULL CHECK (kind IN ('entry', 'questionnaire')),
    date TEXT,
    occurrence_id INTEGER,
    http_status INTEGER NOT NULL CHECK (http_status BETWEEN 400 AND 599),
    code TEXT NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
    first_reported_at TEXT NOT NULL,
    last_reported_at TEXT NOT NULL,
    reports INTEGER NOT NULL DEFAULT 1,
    UNIQUE (participant_id, client_id, code)
) STRICT;
CREATE INDEX sync_problems_participant ON sync_problems (participant_id, last_reported_at);
