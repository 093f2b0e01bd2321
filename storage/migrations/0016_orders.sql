-- The rectification order in the department's words (#16, #20): the enterprise reads the order's
-- wording and sees the photos the officer chose for it, never the reporter's own description.
ALTER TABLE cases ADD COLUMN order_template TEXT;  -- the code of the city's template, if one
ALTER TABLE cases ADD COLUMN order_text TEXT;      -- the wording (a template's in the city's language)

-- The photos sent with the order are case_photos of kind 'order' (copies of report photos).
-- Orders issued before this migration went out with every report photo: their enterprises
-- keep seeing those.
INSERT OR IGNORE INTO case_photos (case_id, kind, position, sha256, added_by, created_at)
SELECT p.case_id, 'order', p.position, p.sha256, p.added_by, p.created_at
FROM case_photos p JOIN cases c ON c.id = p.case_id
WHERE p.kind = 'report' AND c.enterprise_id IS NOT NULL;
