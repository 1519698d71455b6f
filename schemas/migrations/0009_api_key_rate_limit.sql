-- A per-key rate limit (requests per second) overriding the gateway's
-- api_key_rate_limit_per_s; NULL = the gateway's default, 0 = unlimited.

ALTER TABLE api_keys
    ADD COLUMN rate_limit_per_s integer CHECK (rate_limit_per_s BETWEEN 0 AND 1000000);
