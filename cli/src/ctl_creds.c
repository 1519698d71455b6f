/* Seed 002 credential shapes -> the API's auth model (see ctl_creds.h for the table). */
#include "ctl_creds.h"

#include <stdio.h>
#include <string.h>

#include "hl/banned.h"

/* One seed shape: its field names, which are required, and the API field each becomes. */
struct field_map {
    const char *seed;
    const char *api;
    int required;
};

struct shape {
    const char *seed_type;
    const char *api_type;
    struct field_map fields[3];
};

static const struct shape shapes[] = {
    {"basic", "basic", {{"username", "username", 1}, {"password", "password", 1}}},
    {"bearer", "bearer", {{"token", "token", 1}}},
    {"api-key", "api_key", {{"api_key", "value", 1}, {"header_name", "header", 0}}},
    {"api_key", "api_key", {{"api_key", "value", 1}, {"header_name", "header", 0}}},
    {"hmac", "hmac", {{"secret", "secret", 1}}},
};

static const struct shape *find_shape(const char *type)
{
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        if (strcmp(shapes[i].seed_type, type) == 0)
            return &shapes[i];
    return NULL;
}

static const struct field_map *find_field(const struct shape *s, const char *name)
{
    for (size_t i = 0; i < sizeof(s->fields) / sizeof(s->fields[0]) && s->fields[i].seed; i++)
        if (strcmp(s->fields[i].seed, name) == 0)
            return &s->fields[i];
    return NULL;
}

int ctl_creds_map(const char *type, const char *credentials, json_t **auth, json_t **signature,
                  char *err, size_t errlen)
{
    int rc = -1;
    json_t *creds = NULL, *out = NULL;
    *auth = NULL;
    *signature = NULL;

    if (strcmp(type, "none") == 0) {
        if (credentials) {
            snprintf(err, errlen, "--auth-type none takes no --auth-credentials");
            goto out;
        }
        *auth = json_pack("{s:s}", "type", "none");
        return 0;
    }
    const struct shape *s = find_shape(type);
    if (!s) {
        snprintf(err, errlen, "--auth-type must be none, basic, bearer, api-key or hmac, not '%s'",
                 type);
        goto out;
    }
    if (!credentials) {
        snprintf(err, errlen, "--auth-type %s needs --auth-credentials '<json>'", type);
        goto out;
    }
    creds = json_loads(credentials, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(creds)) {
        snprintf(err, errlen, "--auth-credentials must be a JSON object");
        goto out;
    }
    out = json_pack("{s:s}", "type", s->api_type);
    const char *name;
    json_t *v;
    json_object_foreach(creds, name, v) {
        const struct field_map *f = find_field(s, name);
        if (!f) {
            snprintf(err, errlen, "--auth-credentials: '%s' is not a field of %s credentials",
                     name, type);
            goto out;
        }
        if (!json_is_string(v)) {
            snprintf(err, errlen, "--auth-credentials: '%s' must be a string", name);
            goto out;
        }
        json_object_set(out, f->api, v);
    }
    for (size_t i = 0; i < sizeof(s->fields) / sizeof(s->fields[0]) && s->fields[i].seed; i++) {
        if (s->fields[i].required && !json_object_get(creds, s->fields[i].seed)) {
            snprintf(err, errlen, "--auth-credentials: %s credentials need '%s'", type,
                     s->fields[i].seed);
            goto out;
        }
    }
    if (strcmp(s->api_type, "api_key") == 0 && !json_object_get(out, "header"))
        json_object_set_new(out, "header", json_string("X-API-Key"));
    if (strcmp(s->api_type, "hmac") == 0) {
        json_object_set_new(out, "header", json_string(CTL_SEED_HMAC_HEADER));
        *signature = json_pack("{s:s}", "legacy_header", CTL_SEED_LEGACY_MOVED_TO);
    }
    *auth = out;
    out = NULL;
    rc = 0;
out:
    json_decref(creds);
    json_decref(out);
    return rc;
}
