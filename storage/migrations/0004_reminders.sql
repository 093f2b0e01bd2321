-- Reminders, escalation (挂牌督办), subscriptions by district, broadcasts.

ALTER TABLE cases ADD COLUMN escalated_at TEXT;   -- 挂牌督办: set once, shown everywhere
ALTER TABLE cases ADD COLUMN routed_at TEXT;      -- when its department got it (triage clock)
ALTER TABLE cases ADD COLUMN deadline_set_at TEXT; -- when the current deadline was given
UPDATE cases SET deadline_set_at = assigned_at WHERE deadline IS NOT NULL;
UPDATE cases SET routed_at = created_at;

-- Every reminder rung of a case queued (or skipped because a later one was due at the same
-- time, after downtime): the sweep's memory, and the record of what went out.
CREATE TABLE case_reminders (
    case_id    INTEGER NOT NULL REFERENCES cases(id),
    rung       TEXT NOT NULL,                     -- e.g. "deadline:<deadline>:-3", "triage:1"
    due_at     TEXT NOT NULL,
    queued_at  TEXT NOT NULL,
    superseded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (case_id, rung)
);

ALTER TABLE users ADD COLUMN district TEXT;       -- for warnings to one district (optional)

CREATE TABLE broadcasts (
    id          INTEGER PRIMARY KEY,
    created_by  INTEGER NOT NULL REFERENCES users(id),
    text        TEXT NOT NULL,
    photo       TEXT REFERENCES photos(sha256),
    district    TEXT,                             -- NULL: every subscriber
    created_at  TEXT NOT NULL,
    sent_at     TEXT,                             -- confirmed and queued
    total       INTEGER NOT NULL DEFAULT 0,
    reported_at TEXT                              -- the delivery report went to its author
);

ALTER TABLE outbox ADD COLUMN broadcast_id INTEGER REFERENCES broadcasts(id);
-- Not urgent: kept inside the sending window even when a long sending runs into the evening.
ALTER TABLE outbox ADD COLUMN quiet INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_broadcast ON outbox (broadcast_id, status);
CREATE INDEX users_subscribed ON users (subscribed, district);
