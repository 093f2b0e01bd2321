-- A department's group chat, bound by an admin in that group (/setgroup CODE); it takes the
-- place of group_chat_id in the city file, which cannot know a group's id before it exists.
CREATE TABLE department_groups (
    department TEXT PRIMARY KEY,
    chat_id    INTEGER NOT NULL,
    bound_by   INTEGER REFERENCES users(id),
    bound_at   TEXT NOT NULL
);
