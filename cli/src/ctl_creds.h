/* Seed 002's outbound credentials (`--auth-type basic|bearer|api-key|hmac` with
 * `--auth-credentials '<json>'`) mapped onto the API's `auth` object, so that a seed 002
 * user's create commands keep working unchanged.
 *
 *   seed --auth-type / credentials                 API webhook fields
 *   basic   {"username","password"}                auth {"type":"basic","username","password"}
 *   bearer  {"token"}                              auth {"type":"bearer","token"}
 *   api-key {"api_key","header_name"?}             auth {"type":"api_key","header","value"}
 *                                                   (header defaults to X-API-Key)
 *   hmac    {"secret"}                             auth {"type":"hmac","secret",
 *                                                         "header":"X-Webhook-Signature"}
 *                                                   signature {"legacy_header":
 *                                                              "X-Hookline-Signature"}
 *   none                                           auth {"type":"none"}
 *
 * Seed 002 sends its HMAC as `X-Webhook-Signature: sha256=<hex HMAC-SHA256(secret, body)>`
 * with the plain shared secret as the key: exactly the API's `hmac` auth under that header.
 * Hookline's own legacy signature (keyed with the webhook's whsec_ secret) would use the
 * same header name, so the mapping moves it to X-Hookline-Signature; X-Webhook-Event, -Id
 * and -Timestamp stay, as seed 002's receivers expect.
 *
 * Pure code (jansson only): unit-tested in tests/unit/test_cli_creds.c. */
#ifndef CTL_CREDS_H
#define CTL_CREDS_H

#include <jansson.h>
#include <stddef.h>

/* The header seed 002's HMAC travels in, and where Hookline's legacy signature moves. */
#define CTL_SEED_HMAC_HEADER "X-Webhook-Signature"
#define CTL_SEED_LEGACY_MOVED_TO "X-Hookline-Signature"

/* Maps `type` ("none", "basic", "bearer", "api-key" or "api_key", "hmac") and the
 * credentials JSON text (may be NULL for "none") onto *auth (a new reference), and, when
 * the mapping needs one, *signature (a new reference, else NULL). Returns 0, or -1 with a
 * message in err naming the missing or unexpected field (never a credential's value). */
int ctl_creds_map(const char *type, const char *credentials, json_t **auth, json_t **signature,
                  char *err, size_t errlen);

#endif
