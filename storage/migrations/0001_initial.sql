-- Users, roles, invites and the enterprises roles can point at.
-- Times are UTC text in ISO 8601 ("2026-11-22T02:00:00.000000Z"), so they sort as text.

CREATE TABLE users (
    id                 INTEGER PRIMARY KEY,            -- Telegram user id (= private chat id)
    language           TEXT,                           -- chosen with /language; NULL: follow Telegram
    telegram_language  TEXT,                           -- the client's language_code, last seen
    subscribed         INTEGER NOT NULL DEFAULT 0,     -- awareness-day and warning messages
    subscription_asked INTEGER NOT NULL DEFAULT 0,
    blocked_at         TEXT,                           -- the user blocked the bot
    created_at         TEXT NOT NULL,
    last_seen_at       TEXT NOT NULL
);

CREATE TABLE enterprises (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    credit_code TEXT UNIQUE,                           -- 统一社会信用代码
    district    TEXT,
    address     TEXT,
    created_at  TEXT NOT NULL
);

CREATE TABLE invites (
    id            INTEGER PRIMARY KEY,
    code_hash     TEXT NOT NULL UNIQUE,                -- sha256 of the normalised code
    role          TEXT NOT NULL CHECK (role IN ('officer', 'enterprise', 'supervisor', 'admin')),
    department    TEXT,
    enterprise_id INTEGER REFERENCES enterprises(id),
    created_by    INTEGER REFERENCES users(id),
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    used_by       INTEGER REFERENCES users(id),
    used_at       TEXT
);

CREATE TABLE memberships (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id),
    role          TEXT NOT NULL CHECK (role IN ('officer', 'enterprise', 'supervisor', 'admin')),
    department    TEXT,                                -- officer's, or a department supervisor's
    enterprise_id INTEGER REFERENCES enterprises(id),
    invite_id     INTEGER REFERENCES invites(id),
    created_at    TEXT NOT NULL
);

CREATE UNIQUE INDEX memberships_unique
    ON memberships (user_id, role, IFNULL(department, ''), IFNULL(enterprise_id, 0));
CREATE INDEX memberships_department ON memberships (role, department);
CREATE INDEX memberships_enterprise ON memberships (enterprise_id);
