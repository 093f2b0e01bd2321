-- Nothing on SQLite: /stats reads cases_stats (0006) in GROUP BY order and subtracts julianday()s
-- as it goes. PostgreSQL's twin (0023_stats_days.postgresql.sql) gives it what it needs instead.
SELECT 1;
