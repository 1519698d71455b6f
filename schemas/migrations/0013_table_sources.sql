-- Table sources: change data capture from a tenant's own PostgreSQL database. hookline-cdc
-- reads each active source's tables through logical replication (pgoutput; a publication
-- and a replication slot named hookline_<id without dashes>, made and dropped by the
-- worker) and produces one event per inserted, updated or deleted row.
--
-- `connection` (the libpq connection string, which usually holds a password) is stored only
-- sealed with the master key ring (hl/keyring.h, AAD "table_source.connection:<id>");
-- `connection_info` keeps its non-secret parts (host, port, dbname, user) for the API.
-- `status` is what the tenant asked for; the worker holding the source (advisory lock
-- HL_CDC_LOCK_CLASS, hashtext(id) on this database) reports in the state_* columns.
-- DELETE through the API sets status 'deleting': the worker drops slot and publication on
-- the user's database, then deletes the row.

CREATE TABLE table_sources (
    id              uuid PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name            text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'paused', 'deleting')),
    connection      text NOT NULL CHECK (connection LIKE 'hlenc:v1:%'),
    connection_info jsonb NOT NULL DEFAULT '{}',
    -- [{"name": "schema.table", "operations": [...], "include_columns"|"exclude_columns": [...]}]
    tables          jsonb NOT NULL CHECK (jsonb_typeof(tables) = 'array'),
    event_name      text NOT NULL DEFAULT '{table}.{operation}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- reported by the worker holding the source
    state           text NOT NULL DEFAULT 'pending',
    state_detail    text NOT NULL DEFAULT '',
    confirmed_lsn   text,
    lag_bytes       bigint,
    worker          text,
    state_at        timestamptz
);

CREATE INDEX table_sources_tenant_id_idx ON table_sources (tenant_id, id);

-- Workers LISTEN here so that a create, pause, resume or delete applies at once (they also
-- rescan every few seconds).
CREATE OR REPLACE FUNCTION hl_table_sources_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hl_table_sources_changed', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER table_sources_changed
    AFTER INSERT OR DELETE OR UPDATE OF status, tables, event_name, connection
    ON table_sources FOR EACH STATEMENT EXECUTE FUNCTION hl_table_sources_notify();
