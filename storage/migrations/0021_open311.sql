-- Open311 (#17): partner keys, the channel a case came from, and outbox rows that are webhook
-- POSTs instead of chat messages. (The contact an API reporter gave is in case_reporters, 0020.)

CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,                -- the partner's name; the cases' channel
    key_hash    TEXT NOT NULL UNIQUE,                -- sha256 of the key (256 bits)
    -- The key is HMAC(the server's partner secret, key_salt): the bot derives it again to sign
    -- webhooks, and the secret is not in the database (bot/partners.py).
    key_salt    TEXT NOT NULL,
    webhook_url TEXT,
    all_cases   INTEGER NOT NULL DEFAULT 0,          -- webhooks for every case, not only its own
    user_id     INTEGER NOT NULL REFERENCES users(id),  -- the account its reports are filed as
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

ALTER TABLE cases ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram';
-- servicerequestupdates: the status changes in a window. (GET requests scans the cases of its
-- window: an index on created_at alone would win the planner over cases_stats for /stats.)
CREATE INDEX case_events_changes ON case_events (at) WHERE to_status IS NOT NULL;

-- NULL: a chat message to chat_id; else a webhook POST to this partner (chat_id is 0).
ALTER TABLE outbox ADD COLUMN webhook_key INTEGER REFERENCES api_keys(id);
CREATE INDEX outbox_webhooks_due ON outbox (status, not_before, id) WHERE webhook_key IS NOT NULL;

-- The supervisor's figures split by channel too: the covering index of 0006 with it, in the
-- order storage/stats.py groups by.
DROP INDEX cases_stats;
CREATE INDEX cases_stats ON cases (
    department, category, district, colour, self_reported, status, channel,
    created_at, deadline, closed_at, accepted_at, assigned_at, escalated_at
);
