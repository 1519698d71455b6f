-- The read-your-writes fence (docs/architecture.md, "Subscriptions and the fence").
--
-- Every statement that changes tenants or webhooks advances one counter, in the same
-- transaction, and NOTIFYs 'hl_webhooks_changed' with the new value. The counter's single
-- row is locked until commit, so versions are handed out in commit order: a reader that
-- sees version V in a snapshot also sees every change numbered V or lower.
--
-- The gateway stamps the highest version it has seen into each event it produces (Kafka
-- header 'hookline-subs-version'); a dispatcher whose snapshot is older reloads before it
-- fans that event out. The gateway learns versions from the notifications of its own
-- writes (a session receives its own NOTIFY before the commit's answer) and of everyone
-- else's (its listener).

CREATE TABLE subscription_version (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    version bigint NOT NULL
);
INSERT INTO subscription_version (version) VALUES (1);

CREATE OR REPLACE FUNCTION hl_webhooks_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v bigint;
BEGIN
    UPDATE subscription_version SET version = version + 1 RETURNING version INTO v;
    PERFORM pg_notify('hl_webhooks_changed', v::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION hl_webhooks_notify();
