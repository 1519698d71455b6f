/* Secrets at rest: AES-256-GCM under a master key ring.
 *
 * Webhook and source secrets and outbound credentials are stored sealed:
 *
 *     hlenc:v1:<key id>:<base64 of 12-byte nonce | ciphertext | 16-byte tag>
 *
 * The key id travels with every value, so the master key can be rotated: put a new key
 * first in the ring (it seals from then on), keep the old ones after it (they still open),
 * re-seal the stored values (`hookline-gateway rotate-master-key`), then drop the old key.
 *
 * A ring is written "id:base64key[,id:base64key...]" (newlines work as separators too, and
 * lines starting with '#' are comments, so a key file can be annotated). Ids are 1-32 of
 * [A-Za-z0-9_-]; keys are 32 bytes. The first entry is the primary.
 *
 * Every seal binds an AAD, the value's context (for example "webhook.secret:<id>"), so a
 * sealed value copied into another row or column does not open there.
 *
 * A loaded ring is read-only and may be shared by any number of threads. */
#ifndef HL_KEYRING_H
#define HL_KEYRING_H

#include <stdbool.h>
#include <stddef.h>

#include "hl/buf.h"
#include "hl/err.h"

#define HL_KEYRING_KEY_BYTES 32
#define HL_KEYRING_ID_MAX 32
#define HL_KEYRING_MAX_KEYS 16
#define HL_SEALED_PREFIX "hlenc:v1:"
/* "<id>:<base64 of 32 bytes>" + NUL */
#define HL_KEYRING_ENTRY_MAX (HL_KEYRING_ID_MAX + 1 + 44 + 1)

struct hl_keyring {
    struct {
        char id[HL_KEYRING_ID_MAX + 1];
        unsigned char key[HL_KEYRING_KEY_BYTES];
    } keys[HL_KEYRING_MAX_KEYS];
    size_t n; /* keys[0] is the primary */
};

/* Parses a ring from its text form. The error never contains key material. */
hl_err hl_keyring_parse(struct hl_keyring *kr, const char *text, char *errbuf, size_t errlen);
/* Loads the ring from `spec` (the master_key option) or, when that is NULL or empty, from
 * the file `path` (the master_key_file option). Neither set is an error: secrets are never
 * stored in plain text. */
hl_err hl_keyring_load(struct hl_keyring *kr, const char *spec, const char *path,
                       char *errbuf, size_t errlen);
/* Wipes the key material. */
void hl_keyring_release(struct hl_keyring *kr);

/* Writes a fresh ring entry "<id>:<base64 of 32 random bytes>". */
void hl_keyring_generate_entry(const char *id, char out[HL_KEYRING_ENTRY_MAX]);

/* Seals n bytes under the primary key with the given AAD context. Returns a malloc'd,
 * NUL-terminated "hlenc:v1:..." string the caller frees. */
char *hl_keyring_seal(const struct hl_keyring *kr, const char *aad, const void *plain,
                      size_t n);
/* Opens a sealed value into out (cleared first; NUL-terminated as every hl_buf). Fails with
 * HL_EINVAL when the value is not sealed, names an unknown key id, or fails authentication
 * (wrong AAD, tampered). The caller should wipe out after use. */
hl_err hl_keyring_open(const struct hl_keyring *kr, const char *aad, const char *sealed,
                       struct hl_buf *out, char *errbuf, size_t errlen);

/* The AAD context of a sealed webhook field, shared by the gateway (which seals) and the
 * dispatcher (which opens): "webhook.<field>:<webhook id>", field one of secret,
 * previous_secret, signing_key, previous_signing_key, auth.password, auth.token,
 * auth.value, auth.secret. */
#define HL_AAD_MAX 128
void hl_aad_webhook(char out[HL_AAD_MAX], const char *field, const char *webhook_id);
/* The AAD of a table source's connection string, shared by the gateway (which seals it and
 * re-seals it in rotate-master-key) and hookline-cdc (which opens it):
 * "table_source.connection:<id>". */
void hl_aad_table_source(char out[HL_AAD_MAX], const char *table_source_id);

/* The credential members of a webhook's `auth` object, each sealed on its own as field
 * "auth.<name>" and never shown by the API (the other members, such as a user or header
 * name, are). HL_AUTH_SHOWN_SQL(col) is the jsonb `col` without them, for PostgreSQL to
 * render; it names the same four. */
#define HL_AUTH_SECRET_NFIELDS 4
extern const char *const hl_auth_secret_fields[HL_AUTH_SECRET_NFIELDS];
#define HL_AUTH_SHOWN_SQL(col) col " - 'password' - 'token' - 'value' - 'secret'"
/* The key id a sealed value names, copied into id; false when s is not sealed. */
bool hl_sealed_key_id(const char *s, char id[HL_KEYRING_ID_MAX + 1]);

/* True when s has the sealed-value prefix. */
bool hl_sealed_is(const char *s);
/* True when s is sealed under a key other than the primary (a rotation candidate). */
bool hl_sealed_needs_reseal(const struct hl_keyring *kr, const char *s);

#endif
