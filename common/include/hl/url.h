/* Validation of webhook endpoint URLs at creation. The address actually connected is
 * checked again at delivery time (hl/ssrf.h): a host name is not resolved here, since its
 * answer may change before the first delivery. */
#ifndef HL_URL_H
#define HL_URL_H

#include <stddef.h>

#include "hl/err.h"
#include "hl/ssrf.h"

#define HL_URL_MAX 2048

/* Accepts absolute http:// and https:// URLs with a host, without credentials, on port 80,
 * 443 or 1024..65535, whose host, when it is a literal address or `localhost`, is not in a
 * range SSRF protection blocks (unless allow covers it; allow may be NULL).
 * Returns HL_OK or HL_EINVAL with the reason in errbuf. */
hl_err hl_url_check(const char *url, const struct hl_ssrf_allowlist *allow, char *errbuf,
                    size_t errlen);

/* hl_url_check against the process's allow-list (hl_ssrf_allow). */
hl_err hl_url_validate(const char *url, char *errbuf, size_t errlen);

#endif
