-- Every update is written here before Telegram is told it arrived (the next getUpdates offset,
-- or the webhook's answer), so a crash loses none: what is not yet handled is handled on start.
-- update_id makes a replay from Telegram recognisable; seq is the order of arrival. A handled
-- update keeps its id for a while (a late replay is still dropped) but not its content, which
-- may carry a reporter's words; the sweep deletes it after that.
CREATE TABLE inbox (
    seq INTEGER PRIMARY KEY,
    update_id INTEGER NOT NULL UNIQUE,
    payload TEXT,
    received_at TEXT NOT NULL,
    handled_at TEXT
);
CREATE INDEX inbox_waiting ON inbox (seq) WHERE handled_at IS NULL;
CREATE INDEX inbox_handled ON inbox (handled_at) WHERE handled_at IS NOT NULL;
