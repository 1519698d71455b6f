-- A key created is announced too, not only one updated (revoked) or deleted.
--
-- The gateways keep the last set of unrevoked keys, reloaded on 'hl_api_keys_changed', and
-- check keys against it while PostgreSQL cannot be reached (docs/operations.md, "PostgreSQL
-- outage"). Without a notification on INSERT a key created after a gateway's last reload
-- was missing from that set: during a failover or an outage it was answered 401 "not valid"
-- although it was. A creation now empties the gateways' key caches once as well, which
-- costs one lookup per key in use; keys are created rarely.

CREATE TRIGGER api_keys_inserted
    AFTER INSERT ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION hl_api_keys_notify();
