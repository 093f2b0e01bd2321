-- SQLite needs nothing here: a deleted or rewritten row's space is reused in place. See the
-- PostgreSQL twin, 0024_queue_vacuum.postgresql.sql.
SELECT 1;
