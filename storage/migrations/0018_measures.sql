-- A major hazard's interim control measures (临时管控措施), sent by its enterprise soon after
-- the order, as its rectification plan (治理方案) is in cases.plan.
ALTER TABLE cases ADD COLUMN measures TEXT;

-- The reminder ladders grew (reminders while overdue under supervision, a major hazard's
-- measures and plan, escalations told in the sending window): every open case is looked at
-- again by the next sweep, instead of when it next changes.
UPDATE cases SET next_check_at = '' WHERE status IN ('submitted', 'assigned');
