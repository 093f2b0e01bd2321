-- How many parts of a notification (its photos, its map point, its text) Telegram has accepted
-- or refused for good: a retry goes on from the first part not yet settled, so the photos of a
-- row whose text was postponed are not sent again.
ALTER TABLE outbox ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0;
