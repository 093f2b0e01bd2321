-- A claim skips the chats another worker is sending to (OutboxRepo.claim: the pending rows of
-- a chat claimed by someone else). The index for that test now holds exactly those rows, so the
-- test is one lookup in a small index on either database. Before, PostgreSQL planning a claim
-- without figures (a new outbox, or one a broadcast had just grown) paired it with the index of
-- every pending row, for each row it checked.
DROP INDEX outbox_claimed_chats;
CREATE INDEX outbox_claimed_chats ON outbox (chat_id) WHERE claimed_by IS NOT NULL AND status = 'pending';
