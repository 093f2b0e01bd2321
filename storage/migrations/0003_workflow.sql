-- The closed loop: triage, rectification orders, fixes, verification; the outbox; typed input
-- a user owes the bot; questions relayed between officer and reporter.

ALTER TABLE cases ADD COLUMN version INTEGER NOT NULL DEFAULT 0;  -- bumped by every change
ALTER TABLE cases ADD COLUMN colour TEXT;                         -- red, orange, yellow, blue
ALTER TABLE cases ADD COLUMN level TEXT;                          -- general (一般), major (重大)
ALTER TABLE cases ADD COLUMN enterprise_id INTEGER REFERENCES enterprises(id);
ALTER TABLE cases ADD COLUMN handled_by_department INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN deadline TEXT;
ALTER TABLE cases ADD COLUMN accepted_at TEXT;
ALTER TABLE cases ADD COLUMN assigned_at TEXT;
ALTER TABLE cases ADD COLUMN fix_submitted_at TEXT;
ALTER TABLE cases ADD COLUMN closed_at TEXT;
ALTER TABLE cases ADD COLUMN merged_into INTEGER REFERENCES cases(id);
ALTER TABLE cases ADD COLUMN self_reported INTEGER NOT NULL DEFAULT 0;  -- 隐患自查自报
ALTER TABLE cases ADD COLUMN proposed_deadline TEXT;                      -- the enterprise's own
ALTER TABLE cases ADD COLUMN plan TEXT;                                   -- 治理方案 of a major one
ALTER TABLE cases ADD COLUMN reopened INTEGER NOT NULL DEFAULT 0;  -- the reporter said "not fixed"
ALTER TABLE cases ADD COLUMN fix_flag TEXT;                        -- why the fix photos look wrong
ALTER TABLE cases ADD COLUMN fix_note TEXT;
ALTER TABLE cases ADD COLUMN extension_until TEXT;                 -- an extension asked, undecided
ALTER TABLE cases ADD COLUMN extension_reason TEXT;
ALTER TABLE cases ADD COLUMN verify_asked INTEGER NOT NULL DEFAULT 0;  -- "really fixed?" asked

CREATE INDEX cases_enterprise ON cases (enterprise_id, status);
CREATE INDEX cases_status_deadline ON cases (status, deadline);

CREATE INDEX enterprises_name ON enterprises (name);

-- Notifications to send: written in the transaction of the change that causes them.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    payload     TEXT NOT NULL,                 -- JSON: text, buttons, photos, location
    dedupe_key  TEXT NOT NULL UNIQUE,          -- the same notification is queued once
    not_before  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending',  -- pending, sent, failed, dropped
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    sent_at     TEXT
);
CREATE INDEX outbox_due ON outbox (status, not_before, id);

-- What a user is asked to type next outside the report flow (a reason, a question, a date …).
CREATE TABLE pending_inputs (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id),
    kind       TEXT NOT NULL,
    case_id    INTEGER REFERENCES cases(id),
    version    INTEGER,                        -- the case version the input was asked for
    data       TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);

-- Questions from an officer to a reporter, relayed by the bot both ways.
CREATE TABLE questions (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL REFERENCES cases(id),
    asked_by     INTEGER NOT NULL REFERENCES users(id),
    asked_to     INTEGER NOT NULL REFERENCES users(id),
    question     TEXT NOT NULL,
    asked_at     TEXT NOT NULL,
    answered_at  TEXT,
    answer_text  TEXT,
    answer_photo TEXT REFERENCES photos(sha256),
    answer_lat   REAL,
    answer_lon   REAL
);
CREATE INDEX questions_case ON questions (case_id);
