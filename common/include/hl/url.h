/* Validation of webhook endpoint URLs (at creation; the address actually connected is
 * checked again at delivery time). */
#ifndef HL_URL_H
#define HL_URL_H

#include <stddef.h>

#include "hl/err.h"

#define HL_URL_MAX 2048

/* Accepts absolute http:// and https:// URLs with a host and without credentials.
 * Returns HL_OK or HL_EINVAL with the reason in errbuf. */
hl_err hl_url_validate(const char *url, char *errbuf, size_t errlen);

#endif
