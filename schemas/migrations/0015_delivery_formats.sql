-- Delivery formats (common/include/hl/format.h): how a webhook's requests look when they
-- are not Hookline's standard body. NULL is the standard format (today's body and headers,
-- unchanged). Otherwise {"name": "<built-in>"} or a custom format object {"body",
-- "headers", "user_agent", "signature"}, either with an optional plain shared "secret"
-- that keys the format's signature header, sealed like every other secret (its AAD field
-- is "format.secret"). The gateway stores only formats that compile; the dispatchers
-- compile them once per snapshot load.

ALTER TABLE webhooks ADD COLUMN format jsonb;

ALTER TABLE webhooks ADD CONSTRAINT webhooks_format_shape CHECK (
    format IS NULL OR jsonb_typeof(format) = 'object');
ALTER TABLE webhooks ADD CONSTRAINT webhooks_format_sealed CHECK (
    coalesce(format->>'secret', 'hlenc:v1:') LIKE 'hlenc:v1:%');
