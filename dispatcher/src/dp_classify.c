/* Error classes of delivery attempts (see dp_classify.h). */
#include "dp_classify.h"

#include "hl/banned.h"

const char *dp_classify(CURLcode rc, long status, bool capped, bool ssrf)
{
    if (ssrf)
        return "ssrf_blocked";
    if (rc == CURLE_OK || capped) {
        if (status >= 200 && status < 300)
            return NULL;
        if (status >= 300 && status < 400)
            return "redirect";
        if (status == 410)
            return "gone";
        return "http_status";
    }
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return "timeout";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return "dns";
    case CURLE_COULDNT_CONNECT:
        return "connect_failed";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION: /* = CURLE_SSL_CACERT: unknown CA, wrong host */
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
        return "tls";
    case CURLE_TOO_MANY_REDIRECTS:
        return "too_many_redirects";
    default:
        return "network";
    }
}
