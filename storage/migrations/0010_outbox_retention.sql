-- Sent notifications keep their key (so nothing is sent twice) but not their text for long:
-- officers' cards name real-name reporters. The partial index finds the texts still kept.
CREATE INDEX outbox_kept_payloads ON outbox (created_at) WHERE payload != '{}';
