-- The full webhook model and the event-type catalog.
--
-- Nested settings (auth, signature, retry policy) are jsonb so that PATCH can merge them
-- (`retry_policy || patch`), with their shapes fixed by schemas/api/*.schema.json at the
-- API and by CHECK constraints here.

ALTER TABLE webhooks
    ADD COLUMN name              text NOT NULL DEFAULT '',
    ADD COLUMN disabled_reason   text,
    ADD COLUMN method            text NOT NULL DEFAULT 'POST'
        CHECK (method IN ('POST', 'PUT', 'PATCH')),
    ADD COLUMN headers           jsonb NOT NULL DEFAULT '{}',
    -- {"type":"none"|"basic"|"bearer"|"api_key"|"hmac", ...credentials}; never returned
    ADD COLUMN auth              jsonb NOT NULL DEFAULT '{"type": "none"}',
    ADD COLUMN signature         jsonb NOT NULL
        DEFAULT '{"standard": true, "legacy": true, "legacy_header": "X-Webhook-Signature"}',
    ADD COLUMN previous_secret   text,
    ADD COLUMN previous_secret_expires_at timestamptz,
    ADD COLUMN retry_policy      jsonb NOT NULL
        DEFAULT '{"strategy": "exponential", "max_attempts": 6, "initial_delay_ms": 5000, "max_delay_ms": 3600000}',
    ADD COLUMN timeout_ms        integer NOT NULL DEFAULT 30000
        CHECK (timeout_ms BETWEEN 100 AND 120000),
    ADD COLUMN rate_limit_per_s  integer CHECK (rate_limit_per_s BETWEEN 1 AND 100000),
    ADD COLUMN max_concurrency   integer CHECK (max_concurrency BETWEEN 1 AND 1000),
    ADD COLUMN metadata          jsonb NOT NULL DEFAULT '{}',
    ADD CONSTRAINT webhooks_retry_delays CHECK (
        (retry_policy->>'max_delay_ms')::bigint >= (retry_policy->>'initial_delay_ms')::bigint),
    ADD CONSTRAINT webhooks_disabled_reason CHECK ((status = 'disabled') = (disabled_reason IS NOT NULL));

-- Filtering the list by subscribed event uses the array.
CREATE INDEX webhooks_events_idx ON webhooks USING gin (events);

-- The catalog of event types a tenant's webhooks may subscribe to. Rows with a NULL tenant
-- are built in (system.*) and visible to every tenant.
CREATE TABLE event_types (
    tenant_id   text REFERENCES tenants (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    description text NOT NULL DEFAULT '',
    schema      jsonb,
    deprecated  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX event_types_tenant_name_idx ON event_types (coalesce(tenant_id, ''), name);

INSERT INTO event_types (tenant_id, name, description) VALUES
    (NULL, 'system.webhook.test', 'sent by POST /api/v1/webhooks/{id}/test'),
    (NULL, 'webhook.disabled', 'a webhook was disabled after failing continuously, or answered 410'),
    (NULL, 'webhook.recovered', 'a failing webhook succeeded again');

-- A webhook that signs nothing could not be verified by anyone.
ALTER TABLE webhooks ADD CONSTRAINT webhooks_signature_any CHECK (
    (signature->>'standard')::boolean OR (signature->>'legacy')::boolean);
