-- The tables several workers use as queues (issue 18) rewrite their rows many times a second:
-- an outbox row is claimed, let go or sent, the send budget spent, updates kept and recorded
-- handled, conversations claimed and let go. Each rewrite leaves a dead row version behind, and
-- PostgreSQL's default autovacuum waits until a fifth of a table is dead: a broadcast to
-- 100,000 subscribers from three workers left ~400,000 dead versions in the outbox for every
-- claim and index to step over (bench/README.md, broadcast.py --workers). Vacuumed once a
-- hundredth is dead, at full speed, they stay small. (autovacuum_naptime, how often the
-- server looks, is the server's setting: README, "Several workers on one machine".)
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE send_budget SET (autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE inbox SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0);
ALTER TABLE conversation_claims SET (autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_cost_delay = 0);
ALTER TABLE leases SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 100,
    autovacuum_vacuum_cost_delay = 0);
