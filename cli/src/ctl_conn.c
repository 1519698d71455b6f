/* Connection settings: flags, environment, profiles (see ctl_conn.h for the order). */
#include "ctl_conn.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "hl/banned.h"

static void set(char **dst, const char *v, size_t n)
{
    free(*dst);
    *dst = strndup(v, n);
    if (!*dst)
        abort();
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

static const char *trim_end(const char *start, const char *end)
{
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    return end;
}

int ctl_profile_parse(const char *text, const char *profile, struct ctl_conn *c, char *err,
                      size_t errlen)
{
    int found = 0, in_profile = 0, lineno = 0;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        const char *end = nl ? nl : line + strlen(line);
        lineno++;
        const char *p = skip_space(line, end);
        const char *e = trim_end(p, end);
        if (p == e || *p == '#' || *p == ';') {
            /* blank or comment */
        } else if (*p == '[') {
            if (e[-1] != ']' || e - p < 3) {
                snprintf(err, errlen, "line %d: a profile header is [name]", lineno);
                return -1;
            }
            const char *ns = skip_space(p + 1, e - 1), *ne = trim_end(ns, e - 1);
            in_profile = (size_t)(ne - ns) == strlen(profile) &&
                         strncmp(ns, profile, (size_t)(ne - ns)) == 0;
            found |= in_profile;
        } else {
            const char *eq = memchr(p, '=', (size_t)(e - p));
            if (!eq) {
                snprintf(err, errlen, "line %d: expected 'name = value'", lineno);
                return -1;
            }
            const char *ke = trim_end(p, eq), *vs = skip_space(eq + 1, e);
            size_t kn = (size_t)(ke - p);
            /* A value may be quoted, to keep spaces or a '#'. */
            if (e - vs >= 2 && (*vs == '"' || *vs == '\'') && e[-1] == *vs) {
                vs++;
                e--;
            } else {
                const char *hash = memchr(vs, '#', (size_t)(e - vs));
                if (hash && (hash == vs || isspace((unsigned char)hash[-1])))
                    e = trim_end(vs, hash);
            }
            char **dst = NULL;
            if (kn == 3 && strncmp(p, "url", 3) == 0)
                dst = &c->url;
            else if (kn == 7 && strncmp(p, "api_key", 7) == 0)
                dst = &c->api_key;
            else if (kn == 6 && strncmp(p, "tenant", 6) == 0)
                dst = &c->tenant;
            else {
                snprintf(err, errlen, "line %d: unknown setting '%.*s' (url, api_key, tenant)",
                         lineno, (int)kn, p);
                return -1;
            }
            if (in_profile)
                set(dst, vs, (size_t)(e - vs));
        }
        line = nl ? nl + 1 : end;
    }
    return found;
}

/* The config file's path (malloc'd), or NULL when no home is known. */
static char *config_path(void)
{
    const char *explicit = getenv("HOOKLINE_CONFIG");
    char *path = NULL;
    if (explicit && *explicit)
        return strdup(explicit);
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg) {
        if (asprintf(&path, "%s/hookline/config", xdg) < 0)
            abort();
    } else if (home && *home) {
        if (asprintf(&path, "%s/.config/hookline/config", home) < 0)
            abort();
    }
    return path;
}

/* Reads a whole file; NULL with errno set. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        abort();
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    int bad = ferror(f);
    fclose(f);
    fclose(m);
    if (bad) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    return buf;
}

/* Applies profile `name` from the config file. `must_exist`: a missing file or profile is
 * an error (an explicit --profile) rather than nothing to do. */
static int apply_profile(struct ctl_conn *c, const char *name, int must_exist, char *err,
                         size_t errlen)
{
    char *path = config_path();
    int rc = -1;
    char *text = path ? slurp(path) : NULL;
    if (!text) {
        if (!must_exist && (!path || errno == ENOENT)) {
            rc = 0;
        } else if (!path) {
            snprintf(err, errlen, "profile '%s': no config file (HOME is not set)", name);
        } else {
            snprintf(err, errlen, "profile '%s': cannot read '%s': %s", name, path,
                     strerror(errno));
        }
        goto out;
    }
    char why[200];
    char *key_before = c->api_key ? strdup(c->api_key) : NULL;
    int found = ctl_profile_parse(text, name, c, why, sizeof(why));
    if (found < 0) {
        free(key_before);
        snprintf(err, errlen, "%s: %s", path, why);
        goto out;
    }
    /* Like ssh with a private key: a key others can read is worth a warning (not an error:
     * the key may be a viewer's on a single-user machine). */
    struct stat st;
    bool key_from_file = c->api_key && (!key_before || strcmp(key_before, c->api_key) != 0);
    if (key_from_file && stat(path, &st) == 0 && (st.st_mode & 077))
        fprintf(stderr, "hooklinectl: warning: '%s' holds an API key and other users may read "
                        "it (chmod 600 '%s')\n",
                path, path);
    free(key_before);
    if (!found && must_exist) {
        snprintf(err, errlen, "profile '%s' is not in '%s'", name, path);
        goto out;
    }
    rc = 0;
out:
    free(text);
    free(path);
    return rc;
}

static void from_env(char **dst, const char *var)
{
    const char *v = getenv(var);
    if (v && *v)
        set(dst, v, strlen(v));
}

int ctl_conn_resolve(struct ctl_conn *c, const char *flag_url, const char *flag_key,
                     const char *flag_profile, const char *flag_tenant, char *err,
                     size_t errlen)
{
    memset(c, 0, sizeof(*c));
    const char *env_profile = getenv("HOOKLINE_PROFILE");
    if (!flag_profile) {
        /* The lowest layer: HOOKLINE_PROFILE's profile (must exist), else "default". */
        if (env_profile && *env_profile) {
            if (apply_profile(c, env_profile, 1, err, errlen))
                return -1;
        } else if (apply_profile(c, "default", 0, err, errlen)) {
            return -1;
        }
    }
    from_env(&c->url, "HOOKLINE_URL");
    from_env(&c->api_key, "HOOKLINE_API_KEY");
    from_env(&c->tenant, "HOOKLINE_TENANT");
    if (flag_profile && apply_profile(c, flag_profile, 1, err, errlen))
        return -1;
    if (flag_url)
        set(&c->url, flag_url, strlen(flag_url));
    if (flag_key)
        set(&c->api_key, flag_key, strlen(flag_key));
    if (flag_tenant)
        set(&c->tenant, flag_tenant, strlen(flag_tenant));

    if (!c->url || !*c->url) {
        snprintf(err, errlen, "no gateway URL: set HOOKLINE_URL, pass --url, or use a profile "
                              "(~/.config/hookline/config)");
        return -1;
    }
    if (strncmp(c->url, "http://", 7) != 0 && strncmp(c->url, "https://", 8) != 0) {
        snprintf(err, errlen, "the gateway URL must start with http:// or https://");
        return -1;
    }
    size_t n = strlen(c->url);
    while (n > 0 && c->url[n - 1] == '/')
        c->url[--n] = '\0';
    if (!c->api_key || !*c->api_key) {
        snprintf(err, errlen, "no API key: set HOOKLINE_API_KEY, pass --api-key, or use a "
                              "profile (~/.config/hookline/config)");
        return -1;
    }
    for (const char *p = c->api_key; *p; p++) {
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
            snprintf(err, errlen, "the API key holds a space or control character");
            return -1;
        }
    }
    return 0;
}

void ctl_conn_release(struct ctl_conn *c)
{
    free(c->url);
    free(c->api_key);
    free(c->tenant);
    c->url = c->api_key = c->tenant = NULL;
}
