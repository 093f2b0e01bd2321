-- The reminder sweep reads submitted cases by when they were routed (0006 is statistics').
CREATE INDEX cases_status_routed ON cases (status, routed_at);
