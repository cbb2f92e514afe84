-- The study team's attempts to reach a participant about a flag (issue 19): when,
-- how, what came of it and a note, added by coordinators and investigators from
-- the flag's screen and audited (object_type 'contact_attempt'). The log is kept as
-- written: the application never changes or removes an attempt.
CREATE TABLE contact_attempts (
    id INTEGER PRIMARY KEY,
    flag_id INTEGER NOT NULL REFERENCES flags (id),
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    -- when the attempt was made (UTC instant), as the staff member states it
    attempted_at TEXT NOT NULL,
    method TEXT NOT NULL
        CHECK (method IN ('phone', 'sms', 'email', 'in_person', 'other')),
    outcome TEXT NOT NULL
        CHECK (outcome IN ('reached', 'left_message', 'no_answer', 'wrong_contact', 'other')),
    note TEXT CHECK (note IS NULL OR length(note) <= 2000),
    recorded_by INTEGER NOT NULL REFERENCES staff (id),
    recorded_at TEXT NOT NULL
) STRICT;
CREATE INDEX contact_attempts_flag ON contact_attempts (flag_id, attempted_at);
