/* Secrets at rest (gw_secrets.c): sealing webhook and source credentials with the master
 * key ring, and the re-sealing walk of `migrate` and `rotate-master-key`. Fields and AADs
 * as hl_aad_webhook names them. */
#ifndef GW_SECRETS_H
#define GW_SECRETS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "hl/buf.h"
#include "hl/err.h"
#include "hl/keyring.h"

/* A source's credential is sealed with AAD gw_source_aad(id). */
#define GW_SOURCE_AAD_LEN 64
void gw_source_aad(const char *id, char out[GW_SOURCE_AAD_LEN]);

/* Seals plain under the ring's primary key for (field, webhook_id); malloc'd. */
char *gw_seal(const struct hl_keyring *kr, const char *field, const char *webhook_id,
              const char *plain);
/* Opens a sealed field into out (the caller wipes it); the error names the field, webhook
 * and key id, never the value. */
hl_err gw_unseal(const struct hl_keyring *kr, const char *field, const char *webhook_id,
                 const char *sealed, struct hl_buf *out, char *errbuf, size_t errlen);
/* Replaces the credential fields of a validated `auth` object by their sealed forms. */
void gw_seal_auth(const struct hl_keyring *kr, json_t *auth, const char *webhook_id);
struct gw_reseal_counts {
    size_t rows_scanned, rows_updated;
    size_t resealed;         /* values moved from an older key to the primary */
    size_t sealed_plaintext; /* values stored before secrets were sealed */
    size_t unopenable;       /* sealed under a key id the ring lacks */
};
/* Walks every webhook, then every source, in batches (one transaction each, rows locked
 * FOR UPDATE) and seals plain-text values; unless plaintext_only, re-seals values under
 * older keys under the primary. Idempotent; safe while gateways and dispatchers serve.
 * Validates the NOT VALID sealing constraints of migration 0008 once everything is sealed.
 * HL_EINVAL when some values could not be opened (counted in c->unopenable). */
hl_err gw_reseal_all(PGconn *conn, const struct hl_keyring *kr, bool plaintext_only,
                     struct gw_reseal_counts *c, char *errbuf, size_t errlen);
/* Whether any webhook value is stored in plain text. False (errbuf set) on a failed query. */
bool gw_plaintext_present(PGconn *conn, bool *present, char *errbuf, size_t errlen);

#endif
