-- Secrets at rest and asymmetric (v1a) signatures.
--
-- Every secret a webhook row holds is sealed by the gateway with AES-256-GCM under the
-- master key ring (common/include/hl/keyring.h): "hlenc:v1:<key id>:<base64>". That is the
-- signing secret and the one kept for a rotation's overlap, the ed25519 private keys of
-- v1a signing, and the credentials inside `auth` (password, token, value, secret). SQL
-- cannot encrypt, so the constraints below are added NOT VALID: they hold for every row
-- written from now on, and `hookline-gateway migrate` (or `rotate-master-key`) seals the
-- rows written before, then validates them (see docs/operations.md).

ALTER TABLE webhooks
    -- "whsk_<base64 seed>" sealed; NULL until v1a is first enabled
    ADD COLUMN signing_key          text,
    ADD COLUMN previous_signing_key text,
    -- "whpk_<base64>": public, returned by the API
    ADD COLUMN public_key           text,
    ADD COLUMN previous_public_key  text;

ALTER TABLE webhooks ALTER COLUMN signature SET DEFAULT
    '{"standard": true, "legacy": true, "legacy_header": "X-Webhook-Signature", "v1a": false}';
UPDATE webhooks SET signature = signature || '{"v1a": false}' WHERE NOT signature ? 'v1a';

-- A webhook that signs nothing could not be verified by anyone; v1a counts now.
ALTER TABLE webhooks DROP CONSTRAINT webhooks_signature_any;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_signature_any CHECK (
    coalesce((signature->>'standard')::boolean, false) OR
    coalesce((signature->>'legacy')::boolean, false) OR
    coalesce((signature->>'v1a')::boolean, false));
ALTER TABLE webhooks ADD CONSTRAINT webhooks_v1a_key CHECK (
    NOT coalesce((signature->>'v1a')::boolean, false) OR
    (signing_key IS NOT NULL AND public_key IS NOT NULL));

ALTER TABLE webhooks ADD CONSTRAINT webhooks_secrets_sealed CHECK (
    secret LIKE 'hlenc:v1:%' AND
    coalesce(previous_secret, 'hlenc:v1:') LIKE 'hlenc:v1:%' AND
    coalesce(signing_key, 'hlenc:v1:') LIKE 'hlenc:v1:%' AND
    coalesce(previous_signing_key, 'hlenc:v1:') LIKE 'hlenc:v1:%') NOT VALID;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_auth_sealed CHECK (
    coalesce(auth->>'password', 'hlenc:v1:') LIKE 'hlenc:v1:%' AND
    coalesce(auth->>'token', 'hlenc:v1:') LIKE 'hlenc:v1:%' AND
    coalesce(auth->>'value', 'hlenc:v1:') LIKE 'hlenc:v1:%' AND
    coalesce(auth->>'secret', 'hlenc:v1:') LIKE 'hlenc:v1:%') NOT VALID;
