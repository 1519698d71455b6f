/* HTTP to the gateway (libcurl easy interface: one request at a time is all a CLI needs)
 * and problem+json reporting. See ctl_http.h. */
#include "ctl_http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_args.h"
#include "hl/banned.h"

void ctl_path_init(struct ctl_path *p, const char *literal)
{
    memset(p, 0, sizeof(*p));
    p->f = open_memstream(&p->ptr, &p->len);
    if (!p->f)
        abort();
    fputs(literal, p->f);
}

void ctl_path_lit(struct ctl_path *p, const char *literal)
{
    fputs(literal, p->f);
}

static void put_escaped(FILE *f, const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e)
        abort();
    fputs(e, f);
    curl_free(e);
}

void ctl_path_seg(struct ctl_path *p, const char *segment)
{
    fputc('/', p->f);
    put_escaped(p->f, segment);
}

void ctl_path_param(struct ctl_path *p, const char *name, const char *value)
{
    if (!value)
        return;
    fprintf(p->f, "%c%s=", p->has_query ? '&' : '?', name);
    put_escaped(p->f, value);
    p->has_query = true;
}

const char *ctl_path_str(struct ctl_path *p)
{
    fflush(p->f);
    return p->ptr;
}

void ctl_path_release(struct ctl_path *p)
{
    if (p->f)
        fclose(p->f);
    free(p->ptr);
    memset(p, 0, sizeof(*p));
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    return fwrite(data, size, n, userdata) * size;
}

int ctl_http(const struct ctl_conn *c, const char *method, const char *path, const char *body,
             struct ctl_resp *r)
{
    int rc = CTL_EXIT_CONNECT;
    memset(r, 0, sizeof(*r));
    char *url = NULL, *auth = NULL, *tenant = NULL;
    struct curl_slist *hdrs = NULL;
    FILE *sink = open_memstream(&r->body, &r->len);
    CURL *e = curl_easy_init();
    if (!sink || !e)
        abort();
    char errbuf[CURL_ERROR_SIZE] = "";

    if (asprintf(&url, "%s%s", c->url, path) < 0 ||
        asprintf(&auth, "Authorization: Bearer %s", c->api_key) < 0)
        abort();
    hdrs = curl_slist_append(hdrs, auth);
    hdrs = curl_slist_append(hdrs, "Accept: application/json, application/problem+json");
    if (c->tenant) {
        if (asprintf(&tenant, "X-Hookline-Tenant: %s", c->tenant) < 0)
            abort();
        hdrs = curl_slist_append(hdrs, tenant);
    }
    if (body)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");

    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "hooklinectl/" HL_VERSION);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    /* webhooks:test waits on the server side for up to 30 s. */
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 90000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, sink);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0) {
        /* POST with no body (pause, resume, test): an explicit empty body. */
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    }

    CURLcode cc = curl_easy_perform(e);
    fclose(sink);
    sink = NULL;
    if (cc != CURLE_OK) {
        /* The URL, never the key: it is only in the Authorization header. */
        fprintf(stderr, "hooklinectl: cannot connect to '%s': %s\n", c->url,
                *errbuf ? errbuf : curl_easy_strerror(cc));
        ctl_resp_release(r); /* nothing to give back */
        goto out;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->len)
        r->json = json_loadb(r->body, r->len, JSON_DECODE_ANY, NULL);
    rc = CTL_EXIT_OK;
out:
    if (sink)
        fclose(sink);
    curl_easy_cleanup(e);
    curl_slist_free_all(hdrs);
    /* The header held the key: clear it before freeing. */
    if (auth)
        explicit_bzero(auth, strlen(auth));
    free(auth);
    free(tenant);
    free(url);
    return rc;
}

void ctl_resp_release(struct ctl_resp *r)
{
    json_decref(r->json);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

int ctl_problem(const struct ctl_resp *r)
{
    const char *title = json_string_value(json_object_get(r->json, "title"));
    const char *detail = json_string_value(json_object_get(r->json, "detail"));
    if (title || detail) {
        fprintf(stderr, "hooklinectl: %s (HTTP %ld)%s%s\n", title ? title : "error", r->status,
                detail ? ": " : "", detail ? detail : "");
    } else {
        fprintf(stderr, "hooklinectl: the gateway answered HTTP %ld%s%.*s\n", r->status,
                r->len ? ": " : "", (int)(r->len > 200 ? 200 : r->len), r->body ? r->body : "");
    }
    size_t i;
    json_t *err;
    json_array_foreach(json_object_get(r->json, "errors"), i, err) {
        const char *ptr = json_string_value(json_object_get(err, "pointer"));
        const char *d = json_string_value(json_object_get(err, "detail"));
        fprintf(stderr, "  %s: %s\n", ptr && *ptr ? ptr : "(request)", d ? d : "invalid");
    }
    return CTL_EXIT_API;
}
