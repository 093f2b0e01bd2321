-- Citizen reports: drafts that survive restarts, cases with numbers, photos, events, followers.

CREATE TABLE photos (
    sha256       TEXT PRIMARY KEY,                     -- of the stored, stripped JPEG
    thumb_sha256 TEXT NOT NULL,
    phash        INTEGER NOT NULL,                     -- 64-bit difference hash, stored signed
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    size         INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE drafts (
    user_id         INTEGER PRIMARY KEY REFERENCES users(id),
    key             TEXT NOT NULL UNIQUE,              -- names this draft in its buttons
    step            TEXT NOT NULL,
    data            TEXT NOT NULL,                     -- JSON: what the user entered so far
    last_message_id INTEGER NOT NULL DEFAULT 0,        -- a replayed message is recognised
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX drafts_updated ON drafts (updated_at);

CREATE TABLE case_counters (
    day  TEXT PRIMARY KEY,                             -- YYYYMMDD in the city's time zone
    last INTEGER NOT NULL
);

CREATE TABLE cases (
    id             INTEGER PRIMARY KEY,
    number         TEXT NOT NULL UNIQUE,               -- YH-20261122-0042
    draft_key      TEXT UNIQUE,                        -- one draft makes at most one case
    reporter_id    INTEGER NOT NULL REFERENCES users(id),
    category       TEXT NOT NULL,
    district       TEXT,
    latitude       REAL,
    longitude      REAL,
    address        TEXT,
    description    TEXT NOT NULL,
    anonymous      INTEGER NOT NULL,
    reporter_name  TEXT,                               -- only when the reporter chose real name
    reporter_phone TEXT,
    department     TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX cases_reporter ON cases (reporter_id, id);
CREATE INDEX cases_category ON cases (category, created_at);
CREATE INDEX cases_department ON cases (department, status);
CREATE INDEX cases_created ON cases (reporter_id, created_at);

CREATE TABLE case_photos (
    case_id    INTEGER NOT NULL REFERENCES cases(id),
    kind       TEXT NOT NULL DEFAULT 'report',         -- report, fix, answer, reopen
    position   INTEGER NOT NULL,
    sha256     TEXT NOT NULL REFERENCES photos(sha256),
    added_by   INTEGER REFERENCES users(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (case_id, kind, position)
);
CREATE INDEX case_photos_sha ON case_photos (sha256);

-- Append-only: every change of a case is one row, written in the same transaction.
CREATE TABLE case_events (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    at          TEXT NOT NULL,
    actor_id    INTEGER REFERENCES users(id),
    kind        TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    note        TEXT
);
CREATE INDEX case_events_case ON case_events (case_id, id);

-- Co-reporters: people who said "I see this too" and get the case's updates.
CREATE TABLE case_followers (
    case_id    INTEGER NOT NULL REFERENCES cases(id),
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_followers_user ON case_followers (user_id);
