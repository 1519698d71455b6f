/* Webhook URL validation on top of libcurl's URL parser, so that what is accepted here is
 * exactly what the dispatcher's libcurl will later parse (libcurl also normalises numeric
 * IPv4 spellings such as 0x7f.1; hl_ssrf_host_blocked reads them too, in case it did not).
 *
 * Ports: 80, 443 and the unprivileged range. Ports below 1024 are where SSH, SMTP and
 * other internal services listen, and a webhook has no business there. */
#include "hl/url.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hl/banned.h"

hl_err hl_url_check(const char *url, const struct hl_ssrf_allowlist *allow, char *errbuf,
                    size_t errlen)
{
    hl_err err = HL_EINVAL;
    char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL, *port = NULL;
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
    if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf(errbuf, errlen, "has an invalid port");
        goto out;
    }
    char *end = NULL;
    long p = strtol(port, &end, 10);
    if (*end || p < 1 || p > 65535 || (p < 1024 && p != 80 && p != 443)) {
        snprintf(errbuf, errlen, "must use port 80, 443 or 1024-65535, not %s", port);
        goto out;
    }
    if (hl_ssrf_host_blocked(host, allow, errbuf, errlen))
        goto out;
    err = HL_OK;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(password);
    curl_free(port);
    curl_url_cleanup(u);
    return err;
}

hl_err hl_url_validate(const char *url, char *errbuf, size_t errlen)
{
    return hl_url_check(url, &hl_ssrf_allow, errbuf, errlen);
}
