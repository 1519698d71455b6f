-- The delivery log: one row per (event, webhook) delivery with its current status, and one
-- row per attempt. Written only by the dispatchers' attempt-log writer (consumer group
-- <group_id>-log on <prefix>.attempts, dispatcher/src/dp_log.c), in batches, idempotently:
-- deliveries are keyed by the stable delivery id (msg_..., the webhook-id header), attempts
-- by (delivery id, attempt number), so replaying the attempts topic changes nothing.
--
-- No foreign keys to webhooks or tenants: the log outlives a deleted webhook, and a
-- PostgreSQL that comes back after an outage must accept the backlog in any order.

CREATE TABLE deliveries (
    id               text PRIMARY KEY,                 -- msg_<32 hex>
    tenant_id        text NOT NULL,
    webhook_id       uuid NOT NULL,
    event_id         text NOT NULL,
    event_type       text NOT NULL,
    status           text NOT NULL
        CHECK (status IN ('pending', 'succeeded', 'failed', 'skipped', 'retrying')),
    attempts         integer NOT NULL DEFAULT 0,       -- attempts made, all re-drives included
    last_status_code integer,
    last_error       text,
    last_error_class text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz,
    -- the event envelope as consumed from <prefix>.events: what a re-drive sends again
    payload          jsonb NOT NULL
);

CREATE INDEX deliveries_tenant_webhook_created_idx ON deliveries (tenant_id, webhook_id, created_at);
CREATE INDEX deliveries_tenant_status_idx ON deliveries (tenant_id, status);
CREATE INDEX deliveries_tenant_event_type_idx ON deliveries (tenant_id, event_type);
CREATE INDEX deliveries_tenant_created_idx ON deliveries (tenant_id, created_at);

CREATE TABLE delivery_attempts (
    delivery_id      text NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt_no       integer NOT NULL CHECK (attempt_no >= 1),
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz NOT NULL,
    http_status      integer,                          -- NULL when no response
    duration_ms      integer NOT NULL,
    response_excerpt text,                             -- first 4 KB of the body
    -- NULL on success; connect_failed timeout http_status redirect gone tls dns network
    -- too_many_redirects ssrf_blocked
    error_class      text,
    error            text,
    PRIMARY KEY (delivery_id, attempt_no)
);
