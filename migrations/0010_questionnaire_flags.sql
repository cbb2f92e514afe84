-- pragma: foreign_keys=off
-- Flags from questionnaires (SPEC §13): a questionnaire whose window closed without
-- an answer (questionnaire_missed), and an answer or score that crosses a rule of
-- study.toml (questionnaire_answer). flags is rebuilt to extend its kind CHECK, as
-- in 0006: the runner turns foreign keys off for this file and checks every
-- reference before it commits.

CREATE TABLE flags_new (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    kind TEXT NOT NULL CHECK (kind IN ('red_flag_symptom', 'pain_flare', 'opioid_threshold',
                                       'opioid_increase', 'opioid_unconvertible',
                                       'missed_entries', 'questionnaire_missed',
                                       'questionnaire_answer')),
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

INSERT INTO flags_new (id, participant_id, kind, severity, status, episode_key, first_date, last_date, detail, rule, entry_id, opened_at, updated_at, acknowledged_at, acknowledged_by, reopened_at, reopen_count, notices, resolved_at, resolved_by, outcome, resolution_note)
SELECT id, participant_id, kind, severity, status, episode_key, first_date, last_date, detail, rule, entry_id, opened_at, updated_at, acknowledged_at, acknowledged_by, reopened_at, reopen_count, notices, resolved_at, resolved_by, outcome, resolution_note FROM flags;

DROP TABLE flags;
ALTER TABLE flags_new RENAME TO flags;
CREATE UNIQUE INDEX flags_one_open_episode ON flags (participant_id, kind, episode_key)
    WHERE status != 'resolved';
CREATE INDEX flags_status ON flags (status, severity);
CREATE INDEX flags_participant ON flags (participant_id, last_date);
