-- Whistleblower rewards (有奖举报): one row per closed case whose outcome the officer recorded.
-- A case closed again after "not fixed" keeps its first row (case_id is unique).

CREATE TABLE rewards (
    id              INTEGER PRIMARY KEY,
    case_id         INTEGER NOT NULL UNIQUE REFERENCES cases(id),
    reporter_id     INTEGER NOT NULL REFERENCES users(id),  -- the case's (first) reporter
    level           TEXT,                                   -- the case's level when closed
    genuine         INTEGER NOT NULL,                       -- the hazard was real
    fine            INTEGER,                                -- yuan imposed; NULL: no fine
    amount_proposed INTEGER,                                -- yuan, by the city's policy
    amount_approved INTEGER,                                -- yuan, as the supervisor decided
    status          TEXT NOT NULL
                    CHECK (status IN ('proposed', 'approved', 'paid', 'expired', 'none')),
    basis           TEXT NOT NULL,                          -- why the policy proposed it (a code)
    decision_note   TEXT,                                   -- a supervisor's reason: change, refusal
    proposed_by     INTEGER REFERENCES users(id),           -- the officer who closed the case
    proposed_at     TEXT NOT NULL,
    approved_by     INTEGER REFERENCES users(id),
    approved_at     TEXT,
    refused_by      INTEGER REFERENCES users(id),
    refused_at      TEXT,
    claim_code_hash TEXT UNIQUE,                            -- sha256 of the code; never the code
    code_issued_at  TEXT,
    expires_at      TEXT,                                   -- claim by then, else it lapses
    reminded_at     TEXT,                                   -- "claim soon" was queued
    paid_by         INTEGER REFERENCES users(id),
    paid_at         TEXT,
    expired_at      TEXT,
    updated_at      TEXT NOT NULL
);
CREATE INDEX rewards_status ON rewards (status, expires_at);
CREATE INDEX rewards_reporter ON rewards (reporter_id, proposed_at);
