/* Fuzzes webhook URL validation (every POST/PATCH of a webhook runs it on client text). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hl/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    memcpy(url, data, size);
    url[size] = '\0';
    char err[256];
    hl_err e = hl_url_validate(url, err, sizeof(err));
    if (e != HL_OK && e != HL_EINVAL)
        abort();
    /* an accepted URL is an http(s) URL of bounded length without credentials */
    if (e == HL_OK && (strlen(url) > HL_URL_MAX ||
                       (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)))
        abort();
    free(url);
    return 0;
}
