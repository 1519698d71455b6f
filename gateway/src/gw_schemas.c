/* Request-body schemas: every file schemas/api/<name>.schema.json is compiled once at
 * start-up and looked up by <name>. Handlers validate a body against its schema before any
 * other work, so the shapes documented in schemas/ are exactly the shapes accepted; the C
 * code after that checks only what a schema cannot say (URLs as libcurl parses them,
 * secrets, the event-type catalog). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_reply.h"
#include "gw_req.h"
#include "gw_schemas.h"
#include "hl/jsonschema.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/banned.h"

#define SUFFIX ".schema.json"
#define MAX_SCHEMAS 64

struct entry {
    char *name;
    struct hl_schema *schema;
};

static struct entry schemas[MAX_SCHEMAS];
static size_t nschemas;

hl_err gw_schemas_load(const char *dir, char *errbuf, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(errbuf, errlen, "cannot open schemas directory '%s'", dir);
        return HL_EIO;
    }
    hl_err err = HL_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name), sl = strlen(SUFFIX);
        if (n <= sl || strcmp(de->d_name + n - sl, SUFFIX) != 0)
            continue;
        if (nschemas == MAX_SCHEMAS) {
            snprintf(errbuf, errlen, "more than %d schemas in '%s'", MAX_SCHEMAS, dir);
            err = HL_EINVAL;
            break;
        }
        char path[4096], why[512];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        struct hl_schema *s = NULL;
        if (hl_schema_compile_file(path, &s, why, sizeof(why)) != HL_OK) {
            snprintf(errbuf, errlen, "schema '%s': %s", path, why);
            err = HL_EINVAL;
            break;
        }
        schemas[nschemas].name = hl_xstrndup(de->d_name, n - sl);
        schemas[nschemas].schema = s;
        nschemas++;
    }
    closedir(d);
    if (err == HL_OK)
        hl_log(HL_LOG_DEBUG, "schemas", "loaded %zu request schemas from '%s'", nschemas, dir);
    return err;
}

void gw_schemas_free(void)
{
    for (size_t i = 0; i < nschemas; i++) {
        free(schemas[i].name);
        hl_schema_free(schemas[i].schema);
    }
    nschemas = 0;
}

static const struct hl_schema *find(const char *name)
{
    for (size_t i = 0; i < nschemas; i++)
        if (strcmp(schemas[i].name, name) == 0)
            return schemas[i].schema;
    hl_log(HL_LOG_ERROR, "schemas", "no schema '%s' loaded", name);
    abort(); /* a handler naming a schema that schemas/api lacks is a bug */
}

bool gw_schema_check(const char *name, const json_t *instance, const char *pointer_prefix,
                     struct gw_errors *e)
{
    struct hl_schema_result res;
    hl_schema_result_init(&res, 0);
    bool ok = hl_schema_validate(find(name), instance, &res);
    hl_schema_errors_append(e->list, &res, pointer_prefix);
    hl_schema_result_release(&res);
    return ok;
}

/* 5.0 -> 5 throughout v (|v| <= 2^53, where doubles are exact). Replacing the value of an
 * existing key does not disturb json_object_foreach. */
static void integral_reals(json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, key, item) {
            if (json_is_real(item) && floor(json_real_value(item)) == json_real_value(item) &&
                fabs(json_real_value(item)) <= 9007199254740992.0)
                json_object_set_new(v, key, json_integer((json_int_t)json_real_value(item)));
            else
                integral_reals(item);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item) {
            if (json_is_real(item) && floor(json_real_value(item)) == json_real_value(item) &&
                fabs(json_real_value(item)) <= 9007199254740992.0)
                json_array_set_new(v, i, json_integer((json_int_t)json_real_value(item)));
            else
                integral_reals(item);
        }
    }
}

int gw_validate(struct gw_req *r, const char *name, json_t *body, const char *what)
{
    struct gw_errors e;
    gw_errors_init(&e);
    int status = 0;
    if (!gw_schema_check(name, body, "", &e))
        status = gw_reply_invalid(r, &e, what);
    else if (strcmp(name, "event") != 0 && strcmp(name, "event-batch") != 0)
        integral_reals(body); /* events carry their data verbatim */
    gw_errors_release(&e);
    return status;
}

int gw_check_payload_schema(struct gw_req *r, const json_t *body)
{
    json_t *schema = json_object_get(body, "schema");
    if (!schema || json_is_null(schema))
        return 0;
    char why[512];
    struct hl_schema *compiled = NULL;
    if (hl_schema_compile(schema, &compiled, why, sizeof(why)) == HL_OK) {
        hl_schema_free(compiled);
        return 0;
    }
    struct gw_errors e;
    gw_errors_init(&e);
    gw_errors_add(&e, "/schema", "%s", why);
    int st = gw_reply_unprocessable(r, &e, "the payload schema cannot be used");
    gw_errors_release(&e);
    return st;
}
