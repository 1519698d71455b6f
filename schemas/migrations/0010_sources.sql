-- Incoming webhook sources: endpoints at /api/v1/incoming/{id} through which other services
-- (GitHub, Stripe, anything signing with HMAC, Standard Webhooks, basic auth or an API key)
-- send webhooks that become Hookline events.
--
-- The one credential of a source (HMAC secret, basic-auth password or API key) lives only
-- in `secret`, sealed with the master key ring (hl/keyring.h, AAD "source.secret:<id>");
-- `verification` holds the scheme's other, non-secret settings and is returned by the API.
-- Shapes are fixed by schemas/api/source.schema.json; the CHECKs here are the backstop.
-- The gateway reads a source per incoming request (a primary-key lookup), so no cache and
-- no NOTIFY are needed: a change or a delete applies to the very next request.

CREATE TABLE sources (
    id               uuid PRIMARY KEY,
    tenant_id        text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name             text NOT NULL DEFAULT '',
    description      text NOT NULL DEFAULT '',
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    -- {"type": "hmac"|"github"|"stripe"|"standard_webhooks"|"basic"|"api_key", ...settings}
    verification     jsonb NOT NULL CHECK (verification ? 'type'),
    secret           text NOT NULL CHECK (secret LIKE 'hlenc:v1:%'),
    -- {"from": "fixed"|"header"|"json_pointer", ...}
    event_type       jsonb NOT NULL CHECK (event_type ? 'from'),
    -- optional JSON Schema (draft 2020-12) the payload must match; compiled before stored
    schema           jsonb,
    rate_limit_per_s integer CHECK (rate_limit_per_s BETWEEN 1 AND 100000),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sources_tenant_id_idx ON sources (tenant_id, id);
