-- The name a staff member goes by in Telegram, kept when they join, so /members can name them
-- (it showed Telegram ids). Citizens' names are never stored.
ALTER TABLE memberships ADD COLUMN name TEXT;
ALTER TABLE memberships ADD COLUMN username TEXT;
