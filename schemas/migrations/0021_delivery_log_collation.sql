-- The delivery log's text keys compare byte by byte (COLLATE "C"), whatever the database's
-- locale (docs/performance.md, 2026-12-07 late morning). Under a locale's collation (even
-- C.UTF-8) every comparison in their btrees went through strcoll: the primary keys
-- (delivery ids, msg_<32 hex>) and the (tenant, ...) indexes the attempt-log writer adds a
-- row to for every delivery. In scenario 10 PostgreSQL's CPU per delivery fell by about
-- 7 %, and deliveries/s rose by 4-8 %.
--
-- What this changes for readers: nothing but the order of these columns' values, which
-- nothing sorts by except the deliveries list's tie-break on id (the same order for
-- msg_<hex> ids under both). Both sides of the one join on these columns
-- (delivery_attempts.delivery_id = deliveries.id) change together.
--
-- On an existing installation the indexes on these columns are rebuilt (the tables are not
-- rewritten), under an exclusive lock: on a large log, run the migration in a quiet hour.

ALTER TABLE deliveries
    ALTER COLUMN id TYPE text COLLATE "C",
    ALTER COLUMN tenant_id TYPE text COLLATE "C",
    ALTER COLUMN event_type TYPE text COLLATE "C",
    ALTER COLUMN status TYPE text COLLATE "C";
ALTER TABLE delivery_attempts ALTER COLUMN delivery_id TYPE text COLLATE "C";
