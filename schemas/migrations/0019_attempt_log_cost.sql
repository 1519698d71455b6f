-- The attempt log's cost in PostgreSQL, which shares the machine with the dispatchers
-- (docs/performance.md, 2026-12-06 afternoon):
--
-- 1. deliveries.payload is json, not jsonb. The event's text is stored as the dispatcher
--    sent it, checked as JSON but not converted: the conversion to jsonb was about a
--    quarter of the writer's CPU in PostgreSQL. Nothing queries inside the payload; a
--    re-drive sends its text again, and the API shows it as an object.
-- 2. delivery_attempts has no foreign key to deliveries. Its per-row check cost about a
--    tenth of the writer's statement. The one writer inserts a delivery's attempts in the
--    statement that upserts the delivery, and retention (common/src/retention.c) deletes
--    both tables' rows together, so an attempt is never without its delivery.
--
-- On an existing installation the type change rewrites deliveries once (its indexes
-- too), under an exclusive lock: on a large log, run the migration in a quiet hour.

ALTER TABLE delivery_attempts DROP CONSTRAINT IF EXISTS delivery_attempts_delivery_id_fkey;
ALTER TABLE deliveries ALTER COLUMN payload TYPE json USING payload::json;
