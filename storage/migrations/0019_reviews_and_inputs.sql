-- A reporter whose case was not accepted, or found not genuine at its closing, may ask once for
-- a review (复核, 应急〔2023〕106号); a supervisor upholds the decision or reopens the case.
CREATE TABLE reviews (
    id           INTEGER PRIMARY KEY,
    case_id      INTEGER NOT NULL UNIQUE REFERENCES cases(id),  -- once per case
    requested_by INTEGER NOT NULL REFERENCES users(id),         -- the case's reporter
    ground       TEXT NOT NULL CHECK (ground IN ('rejected', 'not_genuine')),
    reason       TEXT NOT NULL,                                  -- the reporter's words
    requested_at TEXT NOT NULL,
    decision     TEXT CHECK (decision IN ('upheld', 'reopened')),  -- NULL: waiting
    decided_by   INTEGER REFERENCES users(id),
    decided_at   TEXT
);

-- Reopened on review: the officers' card says so (``reopened`` alone is the reporter's "not
-- fixed").
ALTER TABLE cases ADD COLUMN reviewed INTEGER NOT NULL DEFAULT 0;

-- One user may owe several inputs: one for each party they act as (bot/pending.py), so a
-- contact who asked for more time can answer the department's question about their own report
-- in between. Within a party a new input replaces the old one. AUTOINCREMENT: the newest input
-- is the one with the highest id, and an id is never given to another input later.
CREATE TABLE pending_inputs_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    party      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    case_id    INTEGER REFERENCES cases(id),
    version    INTEGER,                        -- the case version the input was asked for
    data       TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    prompt_id  INTEGER,                        -- the bot's message that asked: a reply to it answers it
    UNIQUE (user_id, party)
);
INSERT INTO pending_inputs_new (user_id, party, kind, case_id, version, data, created_at)
SELECT user_id,
       CASE
           WHEN kind IN ('answer', 'not_fixed') THEN 'reporter'
           WHEN kind IN ('plan', 'fix', 'extension_date', 'extension_reason') THEN 'enterprise'
           WHEN kind IN ('reward_amount', 'reward_change_reason', 'reward_refusal')
               THEN 'supervisor'
           WHEN kind = 'broadcast' THEN 'admin'
           ELSE 'officer'
       END,
       kind, case_id, version, data, created_at
FROM pending_inputs;
DROP TABLE pending_inputs;
ALTER TABLE pending_inputs_new RENAME TO pending_inputs;
