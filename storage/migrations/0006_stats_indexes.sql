-- The supervisor's figures (/stats, storage/stats.py): every column they read, in the order they
-- are grouped by, so a year of a million cases is counted from this index alone, without a
-- sort. The created_at range is applied inside each group (a skip-scan once ANALYZE has run,
-- else a scan of this index, which is narrower than the table).
CREATE INDEX cases_stats ON cases (
    department, category, district, colour, self_reported, status,
    created_at, deadline, closed_at, accepted_at, assigned_at, escalated_at
);
