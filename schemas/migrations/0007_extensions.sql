-- Extension registrations (seed 000's contract): an extension's identity and
-- capabilities, optionally linked to the webhook it receives events through.

CREATE TABLE extensions (
    id            uuid PRIMARY KEY,
    tenant_id     text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    extension_key text NOT NULL CHECK (length(extension_key) BETWEEN 1 AND 128),
    display_name  text NOT NULL,
    version       text NOT NULL,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'disabled')),
    capabilities  text[] NOT NULL DEFAULT '{}',
    webhook_id    uuid REFERENCES webhooks (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, extension_key)
);

CREATE INDEX extensions_tenant_id_idx ON extensions (tenant_id, id);
CREATE INDEX extensions_webhook_id_idx ON extensions (webhook_id);
