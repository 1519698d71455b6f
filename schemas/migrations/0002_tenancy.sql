-- Tenants and API keys with roles.
--
-- A key is shown once at creation; only its SHA-256 is stored. Keys carry 192 random bits,
-- so a fast hash is as good as a slow one here (as for GitHub's and Stripe's tokens), and it
-- keeps authentication off the hot path's critical budget. The gateway LISTENs on
-- 'hl_api_keys_changed' to drop cached keys the moment one is revoked.

ALTER TABLE tenants
    ADD COLUMN metadata   jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    -- NULL only for admin keys, which are not bound to a tenant.
    tenant_id    text REFERENCES tenants (id) ON DELETE CASCADE,
    name         text NOT NULL DEFAULT '',
    role         text NOT NULL CHECK (role IN ('admin', 'tenant_admin', 'publisher', 'viewer')),
    key_prefix   text NOT NULL,
    key_hash     bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    CHECK ((role = 'admin') = (tenant_id IS NULL))
);

CREATE INDEX api_keys_tenant_id_idx ON api_keys (tenant_id, id);

CREATE FUNCTION hl_api_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hl_api_keys_changed', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_changed
    AFTER UPDATE OR DELETE OR TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION hl_api_keys_notify();

-- Deleting a tenant deletes its keys by cascade; the trigger above sees that too.
