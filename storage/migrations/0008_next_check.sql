-- When the reminder sweep must next look at a case: '' (sorts first) means now. Every change of
-- a case resets it; the sweep sets it to the case's next reminder rung, so a minute's sweep
-- reads only the cases with something due instead of every open case.
ALTER TABLE cases ADD COLUMN next_check_at TEXT NOT NULL DEFAULT '';
CREATE INDEX cases_next_check ON cases (status, next_check_at);
