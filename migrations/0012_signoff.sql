-- pragma: foreign_keys=off
-- Investigator sign-off (SPEC §14): the adverse event record sponsors report
-- (ICH E2A / CTCAE v5), electronic signatures linked to the exact record version
-- signed (21 CFR 11.50, 11.70), participant locks and study freezes, the 24-hour
-- serious-adverse-event clock, and data change requests after the window closed.
-- adverse_events is rebuilt to widen its source CHECK, outbox to add the
-- 'sae_clock' purpose; the runner checks every reference before it commits.

CREATE TABLE adverse_events_new (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    flag_id INTEGER UNIQUE REFERENCES flags (id),
    source TEXT NOT NULL CHECK (source IN
        ('flag', 'participant_report', 'site_visit', 'interview', 'clinical_exam', 'diary')),
    term TEXT NOT NULL CHECK (length(term) BETWEEN 1 AND 200),
    onset_date TEXT NOT NULL,
    end_date TEXT CHECK (end_date IS NULL OR end_date >= onset_date),
    ctcae_grade INTEGER NOT NULL CHECK (ctcae_grade BETWEEN 1 AND 5),
    serious INTEGER NOT NULL CHECK (serious IN (0, 1)),
    -- JSON list of death | life_threatening | hospitalisation | disability |
    -- congenital_anomaly | other_important; empty exactly when not serious
    -- (events recorded before 0012 may be serious with the list still empty).
    seriousness_criteria TEXT NOT NULL DEFAULT '[]',
    related TEXT NOT NULL
        CHECK (related IN ('not_related', 'unlikely', 'possible', 'probable', 'definite')),
    expected TEXT CHECK (expected IN ('expected', 'unexpected')),
    action_taken TEXT CHECK (action_taken IN
        ('not_applicable', 'none', 'treatment_given', 'hospitalised', 'withdrawn_from_study',
         'unknown')),
    ae_outcome TEXT CHECK (ae_outcome IN
        ('recovered', 'recovering', 'not_recovered', 'recovered_with_sequelae', 'fatal',
         'unknown')),
    note TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    recorded_by INTEGER NOT NULL REFERENCES staff (id),
    recorded_at TEXT NOT NULL,
    updated_by INTEGER REFERENCES staff (id),
    updated_at TEXT,
    CHECK ((source = 'flag') = (flag_id IS NOT NULL))
) STRICT;
INSERT INTO adverse_events_new (id, participant_id, flag_id, source, term, onset_date,
    ctcae_grade, serious, related, note, recorded_by, recorded_at)
SELECT id, participant_id, flag_id, source, term, onset_date, ctcae_grade, serious, related,
    note, recorded_by, recorded_at FROM adverse_events;
DROP TABLE adverse_events;
ALTER TABLE adverse_events_new RENAME TO adverse_events;
CREATE INDEX adverse_events_participant ON adverse_events (participant_id);

CREATE TABLE outbox_new (
    id INTEGER PRIMARY KEY,
    recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('staff', 'participant')),
    recipient_id INTEGER NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'push', 'log')),
    push_subscription_id INTEGER REFERENCES push_subscriptions (id),
    purpose TEXT NOT NULL
        CHECK (purpose IN ('flag_urgent', 'escalation', 'digest', 'reminder', 'sae_clock')),
    flag_id INTEGER REFERENCES flags (id),
    participant_id INTEGER REFERENCES participants (id),
    subject TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    dedupe_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    expires_at TEXT,
    claim_token TEXT,
    claimed_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    CHECK (channel != 'push' OR push_subscription_id IS NOT NULL)
) STRICT;
INSERT INTO outbox_new SELECT * FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_flag ON outbox (flag_id) WHERE flag_id IS NOT NULL;
CREATE INDEX outbox_participant ON outbox (participant_id, purpose)
    WHERE participant_id IS NOT NULL;

-- One electronic signature: who (name and e-mail as printed at signing), when,
-- what it means, and the SHA-256 of the exact record version signed. record_id is
-- the adverse event's id, the participant's id (a casebook up to up_to), or the
-- audit row of a data clarification. A later change to the record turns the
-- signature invalidated, naming the audit row of that change; nothing else about
-- a signature may change, and none is ever deleted.
CREATE TABLE signatures (
    id INTEGER PRIMARY KEY,
    record_type TEXT NOT NULL CHECK (record_type IN ('adverse_event', 'participant', 'clarification')),
    record_id INTEGER NOT NULL,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    up_to TEXT CHECK ((record_type = 'participant') = (up_to IS NOT NULL)),
    meaning TEXT NOT NULL CHECK (meaning IN ('reviewed', 'approved', 'author')),
    signer_id INTEGER NOT NULL REFERENCES staff (id),
    signer_name TEXT NOT NULL,
    signer_email TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    record_hash TEXT NOT NULL CHECK (length(record_hash) = 64),
    status TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'invalidated')),
    invalidated_at TEXT,
    invalidated_by_audit_id INTEGER,
    CHECK ((status = 'invalidated') = (invalidated_at IS NOT NULL))
) STRICT;
CREATE INDEX signatures_record ON signatures (record_type, record_id);
CREATE INDEX signatures_valid ON signatures (participant_id) WHERE status = 'valid';

CREATE TRIGGER signatures_no_delete BEFORE DELETE ON signatures
BEGIN
    SELECT RAISE(ABORT, 'signatures are permanent: DELETE refused');
END;

CREATE TRIGGER signatures_only_invalidate BEFORE UPDATE ON signatures
WHEN NOT (OLD.status = 'valid' AND NEW.status = 'invalidated'
    AND NEW.id = OLD.id AND NEW.record_type = OLD.record_type AND NEW.record_id = OLD.record_id
    AND NEW.participant_id = OLD.participant_id AND NEW.up_to IS OLD.up_to
    AND NEW.meaning = OLD.meaning AND NEW.signer_id = OLD.signer_id
    AND NEW.signer_name = OLD.signer_name AND NEW.signer_email = OLD.signer_email
    AND NEW.signed_at = OLD.signed_at AND NEW.record_hash = OLD.record_hash)
BEGIN
    SELECT RAISE(ABORT, 'a signature can only be invalidated');
END;

-- A participant's data locked (after sign-off, at withdrawal or completion).
ALTER TABLE participants ADD COLUMN locked_at TEXT;
ALTER TABLE participants ADD COLUMN locked_by TEXT;
ALTER TABLE participants ADD COLUMN lock_reason TEXT;

-- The whole study frozen for a data cut; at most one freeze is in force.
CREATE TABLE study_freezes (
    id INTEGER PRIMARY KEY,
    frozen_at TEXT NOT NULL,
    frozen_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    lifted_at TEXT,
    lifted_by TEXT,
    lift_reason TEXT
) STRICT;
CREATE UNIQUE INDEX study_freezes_in_force ON study_freezes ((1)) WHERE lifted_at IS NULL;

-- The 24-hour serious-adverse-event clock: started by a hospital_or_er_visit
-- report (flag_id) or an adverse event marked serious (adverse_event_id; a
-- flag's clock moves to the event the flag was resolved as). warned_at and
-- overdue_at mark the 12-hour and 24-hour notices, each sent once.
CREATE TABLE sae_clocks (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    flag_id INTEGER UNIQUE REFERENCES flags (id),
    adverse_event_id INTEGER UNIQUE REFERENCES adverse_events (id),
    trigger TEXT NOT NULL CHECK (trigger IN ('hospital_or_er_visit', 'serious_adverse_event')),
    started_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'reported', 'stopped')),
    reported_at TEXT,
    reported_by INTEGER REFERENCES staff (id),
    reference TEXT,
    stopped_at TEXT,
    stop_reason TEXT,
    warned_at TEXT,
    overdue_at TEXT,
    CHECK (flag_id IS NOT NULL OR adverse_event_id IS NOT NULL)
) STRICT;
CREATE INDEX sae_clocks_running ON sae_clocks (due_at) WHERE status = 'running';

-- A participant's correction after the entry window closed goes through staff:
-- recorded (what, why, source), then applied with a reason (a data clarification)
-- or declined; clarification_audit_id is the audit row of the applied change.
CREATE TABLE change_requests (
    id INTEGER PRIMARY KEY,
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    date TEXT NOT NULL,
    changes TEXT NOT NULL,
    why TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN
        ('participant_call', 'participant_visit', 'participant_message', 'source_document')),
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'applied', 'declined')),
    requested_by INTEGER NOT NULL REFERENCES staff (id),
    requested_at TEXT NOT NULL,
    decided_by INTEGER REFERENCES staff (id),
    decided_at TEXT,
    decision_reason TEXT,
    clarification_audit_id INTEGER
) STRICT;
CREATE INDEX change_requests_participant ON change_requests (participant_id, date);
