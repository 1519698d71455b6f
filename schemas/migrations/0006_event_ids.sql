-- Idempotent ingest: a client-given event id is remembered for 24 hours so that a repeat
-- returns the original answer instead of producing a second event. 'pending' rows belong
-- to a request still waiting for Kafka; a pending row older than the produce timeout is an
-- abandoned attempt that the next request with that id takes over.

CREATE TABLE event_ids (
    tenant_id   text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          text NOT NULL,
    event_type  text NOT NULL,
    state       text NOT NULL CHECK (state IN ('pending', 'accepted')),
    accepted_at text, -- the envelope timestamp the first 202 carried
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX event_ids_created_at_idx ON event_ids (created_at);

-- Payload schemas are cached by the gateways; tell them when the catalog changes.
CREATE FUNCTION hl_event_types_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hl_event_types_changed', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER event_types_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON event_types
    FOR EACH STATEMENT EXECUTE FUNCTION hl_event_types_notify();
