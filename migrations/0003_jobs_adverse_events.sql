-- Adverse events (SPEC §6), and the scheduler's state: database locks, runs,
-- per-job checkpoints and the diary dates each participant has had closed (SPEC §7).

-- A confirmed adverse event: from a resolved flag (source 'flag', flag_id set)
-- or recorded by staff without one (interview, clinical exam, diary review).
CREATE TABLE adverse_events (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    flag_id INTEGER UNIQUE REFERENCES flags (id),
    source TEXT NOT NULL CHECK (source IN ('flag', 'interview', 'clinical_exam', 'diary')),
    term TEXT NOT NULL CHECK (length(term) BETWEEN 1 AND 200),
    onset_date TEXT NOT NULL,
    ctcae_grade INTEGER NOT NULL CHECK (ctcae_grade BETWEEN 1 AND 5),
    serious INTEGER NOT NULL CHECK (serious IN (0, 1)),
    related TEXT NOT NULL
        CHECK (related IN ('not_related', 'unlikely', 'possible', 'probable', 'definite')),
    note TEXT,
    recorded_by INTEGER NOT NULL REFERENCES staff (id),
    recorded_at TEXT NOT NULL,
    CHECK ((source = 'flag') = (flag_id IS NOT NULL))
) STRICT;
CREATE INDEX adverse_events_participant ON adverse_events (participant_id);

-- One row per job while some process runs it. Taken with a conditional upsert
-- inside BEGIN IMMEDIATE, so two scheduler processes never both hold it; an
-- expired lease (a crashed holder) may be taken over.
CREATE TABLE scheduler_locks (
    job_id TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

-- Every job run: when, by which process, as of which `now`, and what it did.
CREATE TABLE job_runs (
    id INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL,
    holder TEXT NOT NULL,
    as_of TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'error')),
    summary TEXT,
    error TEXT
) STRICT;
CREATE INDEX job_runs_job ON job_runs (job_id, started_at);

-- The latest instant each job has completed a run as of.
CREATE TABLE job_checkpoints (
    job_id TEXT PRIMARY KEY,
    as_of TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '{}'
) STRICT;

-- Per job and participant: every diary date up to closed_through has been
-- closed and evaluated. Advancing it in the same transaction as the findings
-- makes each date processed exactly once, however runs are spaced.
CREATE TABLE job_progress (
    job_id TEXT NOT NULL,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    closed_through TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (job_id, participant_id)
) STRICT, WITHOUT ROWID;

-- Expected diary dates whose window closed with no entry (adherence, exports).
CREATE TABLE missed_dates (
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    date TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (participant_id, date)
) STRICT, WITHOUT ROWID;
