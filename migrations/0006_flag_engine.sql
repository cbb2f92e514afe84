-- pragma: foreign_keys=off
-- The flag engine (SPEC §6, §7): flags record the rule that raised them, can be
-- reopened when an acknowledged episode gains a finding, and a missed-entries
-- flag whose dates were all entered later resolves itself. Participants record
-- when they stopped (withdrawal, completion) and the opioids they took at
-- baseline; a job's failure on one participant is kept against that participant.
--
-- flags is rebuilt (SQLite cannot change a CHECK): the runner turns foreign-key
-- enforcement off for this file and checks every reference before it commits.

CREATE TABLE flags_new (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    kind TEXT NOT NULL CHECK (kind IN ('red_flag_symptom', 'pain_flare', 'opioid_threshold',
                                       'opioid_increase', 'opioid_unconvertible',
                                       'missed_entries')),
    severity TEXT NOT NULL CHECK (severity IN ('low', 'high', 'urgent')),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    -- Identifies the episode: a continuing episode updates its flag instead of opening another.
    episode_key TEXT NOT NULL,
    first_date TEXT NOT NULL,
    last_date TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    -- The rule that raised it: {"id", "version", "evaluated", "thresholds"}.
    rule TEXT NOT NULL DEFAULT '{}',
    entry_id INTEGER REFERENCES entries (id),
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by INTEGER REFERENCES staff (id),
    -- Set when an acknowledged flag gained a finding and went back to open.
    reopened_at TEXT,
    reopen_count INTEGER NOT NULL DEFAULT 0,
    -- Urgent notices queued for it (the first, then one per finding it gained).
    notices INTEGER NOT NULL DEFAULT 0,
    resolved_at TEXT,
    resolved_by INTEGER REFERENCES staff (id),
    -- auto_resolved: the data removed the finding (every missed date was entered later).
    outcome TEXT CHECK (outcome IN ('not_ae', 'adverse_event', 'auto_resolved')),
    resolution_note TEXT,
    CHECK ((outcome = 'auto_resolved') <= (resolved_by IS NULL))
) STRICT;

INSERT INTO flags_new (id, participant_id, kind, severity, status, episode_key, first_date,
                       last_date, detail, entry_id, opened_at, updated_at, acknowledged_at,
                       acknowledged_by, notices, resolved_at, resolved_by, outcome,
                       resolution_note)
SELECT f.id, f.participant_id, f.kind, f.severity, f.status, f.episode_key, f.first_date,
       f.last_date, f.detail, f.entry_id, f.opened_at, f.updated_at, f.acknowledged_at,
       f.acknowledged_by, (SELECT count(*) FROM urgent_flags u WHERE u.flag_id = f.id),
       f.resolved_at, f.resolved_by, f.outcome, f.resolution_note
FROM flags f;

DROP TABLE flags;
ALTER TABLE flags_new RENAME TO flags;
CREATE UNIQUE INDEX flags_one_open_episode ON flags (participant_id, kind, episode_key)
    WHERE status != 'resolved';
CREATE INDEX flags_status ON flags (status, severity);
CREATE INDEX flags_participant ON flags (participant_id, last_date);

ALTER TABLE participants ADD COLUMN ended_at TEXT;
-- Drug codes the participant took at baseline: an opioid with no MME factor that is
-- not among them is a change staff must review (opioid_unconvertible).
ALTER TABLE participants ADD COLUMN baseline_opioids TEXT NOT NULL DEFAULT '[]';

-- A participant whose data made a job fail: the job carried on with everyone else,
-- will retry this participant on its next run, and admins see it here until it succeeds.
CREATE TABLE job_failures (
    job_id TEXT NOT NULL,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    first_failed_at TEXT NOT NULL,
    last_failed_at TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 1,
    error TEXT NOT NULL,
    PRIMARY KEY (job_id, participant_id)
) STRICT;

-- Participants who stopped before this migration: when, from the audit trail.
UPDATE participants SET ended_at = (
    SELECT max(at) FROM audit_log a
    WHERE a.participant_id = participants.id AND a.action = 'participant.update'
      AND json_extract(a.after, '$.status') IS NOT NULL
) WHERE status != 'active';
