-- Endpoint health that outlives a dispatcher (dispatcher/src/dp_healthstore.h): the
-- circuit breaker and the continuous-failure clock behind auto-disable, per webhook,
-- written by the dispatcher that holds the webhook's tasks when they change and read by
-- the one that gets them after a restart or a rebalance.

CREATE TABLE webhook_health (
    webhook_id         uuid PRIMARY KEY REFERENCES webhooks (id) ON DELETE CASCADE,
    breaker_open       boolean NOT NULL DEFAULT false,
    breaker_open_until timestamptz,
    tripped            boolean NOT NULL DEFAULT false,
    failing_since      timestamptz,
    updated_at         timestamptz NOT NULL
);

CREATE INDEX webhook_health_updated_at_idx ON webhook_health (updated_at);

-- A webhook made active again (resumed, or re-enabled) starts healthy: its old failures
-- must not close the auto-disable clock on it at once.
CREATE FUNCTION hl_webhook_health_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'active' AND OLD.status <> 'active' THEN
        DELETE FROM webhook_health WHERE webhook_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER webhook_health_reset
    AFTER UPDATE OF status ON webhooks
    FOR EACH ROW EXECUTE FUNCTION hl_webhook_health_reset();
