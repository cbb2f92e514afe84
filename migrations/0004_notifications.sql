-- Notifications (SPEC §7): push subscriptions, the outbox that every staff and
-- participant notification goes through, and the bookkeeping that makes
-- escalations, digests and reminders happen exactly once.

-- A browser's Web Push subscription. Ended rows stay (ended_at, end_reason) so
-- staff can see that a phone went silent; only rows with ended_at NULL are live.
CREATE TABLE push_subscriptions (
    id INTEGER PRIMARY KEY,
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('staff', 'participant')),
    staff_id INTEGER REFERENCES staff (id),
    participant_id INTEGER REFERENCES participants (id),
    endpoint TEXT NOT NULL UNIQUE,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_success_at TEXT,
    ended_at TEXT,
    end_reason TEXT,
    CHECK ((owner_kind = 'staff') = (staff_id IS NOT NULL AND participant_id IS NULL)),
    CHECK ((owner_kind = 'participant') = (participant_id IS NOT NULL AND staff_id IS NULL))
) STRICT;
CREATE INDEX push_subscriptions_staff ON push_subscriptions (staff_id) WHERE ended_at IS NULL;
CREATE INDEX push_subscriptions_participant ON push_subscriptions (participant_id)
    WHERE ended_at IS NULL;

-- One row per message to one recipient on one channel. Written in the
-- transaction of the event that causes it; delivered by the deliver job.
-- status: pending (due at next_attempt_at) → sending (claimed by one runner)
--         → sent | pending again (transient error, backoff) | failed (refused
--         for good) | dead (gave up: too old, or expired before delivery).
-- channel 'log' means the e-mail went to the application log (no SMTP configured).
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('staff', 'participant')),
    recipient_id INTEGER NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'push', 'log')),
    push_subscription_id INTEGER REFERENCES push_subscriptions (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('flag_urgent', 'escalation', 'digest', 'reminder')),
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
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_flag ON outbox (flag_id) WHERE flag_id IS NOT NULL;
CREATE INDEX outbox_participant ON outbox (participant_id, purpose)
    WHERE participant_id IS NOT NULL;

-- The flags a digest listed, so each flag's notification history shows the
-- digests that carried it as well as its own urgent mail and escalation.
CREATE TABLE outbox_flags (
    outbox_id INTEGER NOT NULL REFERENCES outbox (id),
    flag_id INTEGER NOT NULL REFERENCES flags (id),
    PRIMARY KEY (outbox_id, flag_id)
) STRICT;
CREATE INDEX outbox_flags_flag ON outbox_flags (flag_id);

-- When a flag became urgent (opened urgent, or rose to urgent) and whether it
-- was escalated: the escalation clock starts at urgent_at, not at opened_at.
CREATE TABLE urgent_flags (
    flag_id INTEGER PRIMARY KEY REFERENCES flags (id),
    urgent_at TEXT NOT NULL,
    escalated_at TEXT
) STRICT;

-- Per staff member and site time zone: the instant up to which flags have been
-- covered by a digest, and the last local date a digest was due and handled
-- (sent, or nothing new), so a digest happens at most once per day.
CREATE TABLE digest_checkpoints (
    staff_id INTEGER NOT NULL REFERENCES staff (id),
    timezone TEXT NOT NULL,
    covered_until TEXT NOT NULL,
    last_local_date TEXT NOT NULL,
    PRIMARY KEY (staff_id, timezone)
) STRICT;

-- At most one reminder per participant and diary date, whatever the number of devices.
CREATE TABLE participant_reminders (
    participant_id INTEGER NOT NULL REFERENCES participants (id),
    date TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (participant_id, date)
) STRICT;
