-- As 0016_orders.sql, in PostgreSQL's words (ON CONFLICT DO NOTHING for INSERT OR IGNORE).
ALTER TABLE cases ADD COLUMN order_template TEXT;
ALTER TABLE cases ADD COLUMN order_text TEXT;

INSERT INTO case_photos (case_id, kind, position, sha256, added_by, created_at)
SELECT p.case_id, 'order', p.position, p.sha256, p.added_by, p.created_at
FROM case_photos p JOIN cases c ON c.id = p.case_id
WHERE p.kind = 'report' AND c.enterprise_id IS NOT NULL
ON CONFLICT DO NOTHING;
