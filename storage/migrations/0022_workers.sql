-- Several workers on one database (issue 18). Plain portable SQL: TEXT times as elsewhere.
--
-- A lease: one worker at a time holds it until expires_at, renewing it by compare-and-set;
-- "leader" runs the sweeps (and, in polling mode, the getUpdates loop).
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
-- The worker handling a conversation's updates now (none while the conversation is idle), so
-- two workers never hold the same one; a worker that dies loses its claims when they expire.
CREATE TABLE conversation_claims (
    conversation TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX conversation_claims_holder ON conversation_claims (holder);
-- The conversation an update belongs to ("chat:user", or "update:id" for an update of
-- nobody); rows waiting from before this migration each become their own.
ALTER TABLE inbox ADD COLUMN conversation TEXT;
UPDATE inbox SET conversation = 'update:' || update_id WHERE handled_at IS NULL;
CREATE INDEX inbox_conversation ON inbox (conversation, seq) WHERE handled_at IS NULL;
-- The worker sending an outbox row, until when: one worker sends each row, one chat's rows
-- go one at a time.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
CREATE INDEX outbox_claimed ON outbox (claimed_by) WHERE claimed_by IS NOT NULL;
CREATE INDEX outbox_claimed_chats ON outbox (chat_id) WHERE claimed_by IS NOT NULL;
-- Telegram's limits for the bot as a whole: what was sent in the current period (a second
-- overall and per private chat, a minute per group), taken by compare-and-set.
CREATE TABLE send_budget (
    scope TEXT PRIMARY KEY,
    period TEXT NOT NULL,
    spent INTEGER NOT NULL
);
CREATE INDEX send_budget_period ON send_budget (period);
