-- Telegram's file id for a stored photo once it has been uploaded: later sends name it instead
-- of uploading the same bytes again (a broadcast photo goes up once, not once per subscriber).
ALTER TABLE photos ADD COLUMN file_id TEXT;
