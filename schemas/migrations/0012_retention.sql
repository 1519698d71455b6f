-- Delivery-log retention (common/src/retention.c): the cleanup walks deliveries by creation
-- time, oldest first, in batches. created_at never changes, so this index leaves the
-- attempt-log writer's upserts (which change updated_at) free to stay HOT updates.
CREATE INDEX deliveries_created_at_idx ON deliveries (created_at);
