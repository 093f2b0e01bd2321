-- The reporter's identity sits apart from the case (#16 item 4; DESIGN.md, "Confidentiality"):
-- who reported a case (their account, and for a real-name report their name and phone) is in
-- case_reporters, which only storage/reporters.py reads. A read of the name and phone for a
-- person to see writes its row in identity_reads in the same statement's transaction.
CREATE TABLE case_reporters (
    case_id     INTEGER PRIMARY KEY REFERENCES cases(id),
    channel     TEXT NOT NULL DEFAULT 'telegram',  -- how the report came: telegram, open311, …
    user_id     INTEGER REFERENCES users(id),     -- the reporter's account; NULL: none (a partner's)
    name        TEXT,                             -- a real-name report's, or a partner's contact
    phone       TEXT,
    email       TEXT,
    external_id TEXT,                             -- the partner's own id of the reporter, if any
    created_at  TEXT NOT NULL                     -- the case's: /my and the daily limit use it
);
-- /my (a user's cases) and the daily limit on reports (a user's cases since a time): these
-- replace cases_reporter and cases_created.
CREATE INDEX case_reporters_user ON case_reporters (user_id, case_id);
CREATE INDEX case_reporters_created ON case_reporters (user_id, created_at);
-- The daily limit of a partner channel's reporter, who has no account: by the email or phone
-- they gave.
CREATE INDEX case_reporters_email ON case_reporters (email, created_at);
CREATE INDEX case_reporters_phone ON case_reporters (phone, created_at);

INSERT INTO case_reporters (case_id, channel, user_id, name, phone, created_at)
SELECT id, 'telegram', reporter_id, reporter_name, reporter_phone, created_at FROM cases;

DROP INDEX cases_reporter;
DROP INDEX cases_created;
ALTER TABLE cases DROP COLUMN reporter_name;
ALTER TABLE cases DROP COLUMN reporter_phone;
ALTER TABLE cases DROP COLUMN reporter_id;

-- Every time a person was shown a reporter's name and phone: who, of which case, why, when.
CREATE TABLE identity_reads (
    id        INTEGER PRIMARY KEY,
    case_id   INTEGER NOT NULL REFERENCES cases(id),
    reader_id INTEGER NOT NULL REFERENCES users(id),
    purpose   TEXT NOT NULL CHECK (purpose IN ('case', 'payout')),
    at        TEXT NOT NULL
);
CREATE INDEX identity_reads_case ON identity_reads (case_id, id);
