-- The subscription version advances only for statements that change rows.
--
-- Until now the triggers on webhooks and tenants fired once per statement, rows or none: a
-- PATCH or DELETE of a webhook that does not exist (answered 404), or any UPDATE that
-- matched nothing, advanced the version and made every dispatcher load every webhook
-- again. A client repeating such a request kept every dispatcher reloading.
--
-- Each trigger now sees the statement's rows as a transition table (`changed`: the rows
-- inserted, the new rows of an update, the rows deleted) and does nothing when it is empty.
-- PostgreSQL allows a transition table only on a trigger for one event, hence one trigger
-- per event; TRUNCATE has no transition table and still always advances the version.
-- An UPDATE that matches rows but leaves them as they were still advances it.

CREATE OR REPLACE FUNCTION hl_webhooks_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v bigint;
BEGIN
    IF TG_OP <> 'TRUNCATE' THEN
        -- Planned only here: a TRUNCATE trigger has no table of that name.
        IF NOT EXISTS (SELECT 1 FROM changed) THEN
            RETURN NULL;
        END IF;
    END IF;
    UPDATE subscription_version SET version = version + 1 RETURNING version INTO v;
    PERFORM pg_notify('hl_webhooks_changed', v::text);
    RETURN NULL;
END
$$;

DROP TRIGGER webhooks_changed ON webhooks;
DROP TRIGGER tenants_changed ON tenants;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['webhooks', 'tenants'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_inserted AFTER INSERT ON %1$I '
                       'REFERENCING NEW TABLE AS changed '
                       'FOR EACH STATEMENT EXECUTE FUNCTION hl_webhooks_notify()', t);
        EXECUTE format('CREATE TRIGGER %1$s_updated AFTER UPDATE ON %1$I '
                       'REFERENCING NEW TABLE AS changed '
                       'FOR EACH STATEMENT EXECUTE FUNCTION hl_webhooks_notify()', t);
        EXECUTE format('CREATE TRIGGER %1$s_deleted AFTER DELETE ON %1$I '
                       'REFERENCING OLD TABLE AS changed '
                       'FOR EACH STATEMENT EXECUTE FUNCTION hl_webhooks_notify()', t);
        EXECUTE format('CREATE TRIGGER %1$s_truncated AFTER TRUNCATE ON %1$I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION hl_webhooks_notify()', t);
    END LOOP;
END
$$;
