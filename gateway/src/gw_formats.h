/* Delivery formats at the gateway (gw_formats.c): GET /api/v1/formats[/{name}] lists the
 * built-ins, and webhook writes check, normalize and seal the `format` field (hl/format.h). */
#ifndef GW_FORMATS_H
#define GW_FORMATS_H

#include <jansson.h>

#include "gw_reply.h"
#include "hl/keyring.h"

struct gw_resource;
extern const struct gw_resource gw_res_formats;

/* Checks body's "format", when present, and replaces it by the form to store (JSON null for
 * the standard format). Problems go to e, with pointers under /format. */
void gw_format_prepare(json_t *body, struct gw_errors *e);
/* Seals the plain shared secret of a prepared "format" in body for webhook id. */
void gw_format_seal(const struct hl_keyring *kr, json_t *body, const char *webhook_id);

#endif
