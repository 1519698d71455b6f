/* Webhook URL validation on top of libcurl's URL parser, so that what is accepted here is
 * exactly what the dispatcher's libcurl will later parse. */
#include "hl/url.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hl/banned.h"

hl_err hl_url_validate(const char *url, char *errbuf, size_t errlen)
{
    hl_err err = HL_EINVAL;
    char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL;
    size_t len = strlen(url);

    if (len == 0 || len > HL_URL_MAX) {
        snprintf(errbuf, errlen, "must be 1..%d characters", HL_URL_MAX);
        return HL_EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f) {
            snprintf(errbuf, errlen, "must not contain spaces or control characters");
            return HL_EINVAL;
        }
    }
    /* libcurl reads "https:///x" as host "x", and "https:/h/p?q=://x" as host "h"; a URL a
     * person meant has exactly "//host" right after the scheme's colon. */
    const char *sep = strstr(url, "://");
    if (!sep || sep != strchr(url, ':') || sep[3] == '/' || sep[3] == '\0') {
        snprintf(errbuf, errlen, "is not an absolute URL of the form scheme://host/path");
        return HL_EINVAL;
    }
    CURLU *u = curl_url();
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        snprintf(errbuf, errlen, "is not an absolute URL");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
        snprintf(errbuf, errlen, "must use the http or https scheme");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
        snprintf(errbuf, errlen, "must name a host");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
        snprintf(errbuf, errlen, "must not carry credentials; use the webhook's auth settings");
        goto out;
    }
    err = HL_OK;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(password);
    curl_url_cleanup(u);
    return err;
}
