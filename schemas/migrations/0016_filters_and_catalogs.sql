-- Payload filters and the tenant option for event types outside the catalog (issue 16).
--
-- webhooks.filter: the webhook's condition on the event beyond its type, as the client
-- sent it (common/include/hl/filter.h describes the language). The gateway compiles it
-- before saving, so only filters that compile are stored; each dispatcher compiles it again
-- when it loads the webhook. NULL: every event of the subscribed types.
--
-- tenants.allow_unlisted_event_types: off by default. When on, the tenant's subscriptions
-- may name event types that are not in its catalog (a seed system's quick-start examples
-- then work before its catalog is imported). Ingest accepts events of any type either way.
--
-- Explicit retry schedules (retry_policy.schedule_ms) live inside the existing
-- retry_policy jsonb and need no column.

ALTER TABLE webhooks ADD COLUMN filter jsonb;
ALTER TABLE tenants ADD COLUMN allow_unlisted_event_types boolean NOT NULL DEFAULT false;
