-- Tenants and webhooks (subscriptions). Applied by `hookline-gateway migrate`.
--
-- The dispatcher keeps every active webhook in memory; it LISTENs on the channel
-- 'hl_webhooks_changed' and reloads when the trigger below fires. NOTIFY is delivered at
-- commit, so the dispatcher never reads a change before it is visible.

CREATE TABLE tenants (
    id         text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The tenant every request belongs to until API keys bind requests to tenants.
INSERT INTO tenants (id, name) VALUES ('default', 'Default tenant');

CREATE TABLE webhooks (
    id          uuid PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url         text NOT NULL,
    events      text[] NOT NULL CHECK (cardinality(events) > 0),
    description text NOT NULL DEFAULT '',
    -- whsec_<base64>; encrypted at rest once the secrets work lands (see docs/architecture.md)
    secret      text NOT NULL,
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'disabled')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Listing is per tenant in id order (ids are UUIDv7, so id order is creation order).
CREATE INDEX webhooks_tenant_id_idx ON webhooks (tenant_id, id);
CREATE INDEX webhooks_status_idx ON webhooks (status);

CREATE FUNCTION hl_webhooks_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hl_webhooks_changed', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER webhooks_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON webhooks
    FOR EACH STATEMENT EXECUTE FUNCTION hl_webhooks_notify();
