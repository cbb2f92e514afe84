-- Injections recorded by mistake (SPEC §2): a voided or corrected injection moves
-- here, so that `injections` stays the live injections and no query that reads it
-- has to change. Who, when and why are also in the audit trail.
CREATE TABLE voided_injections (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    date TEXT NOT NULL,
    -- when the injection had been recorded
    created_at TEXT NOT NULL,
    voided_at TEXT NOT NULL,
    -- NULL when voided from the command line
    voided_by_staff_id INTEGER REFERENCES staff (id),
    reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    -- the date recorded instead, when the injection was corrected rather than voided
    corrected_to TEXT
) STRICT;
CREATE INDEX voided_injections_participant ON voided_injections (participant_id);
