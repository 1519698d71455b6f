/* Table-driven configuration (see hl/config.h). */
#include "hl/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hl/kafka.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/ssrf.h"
#include "hl/banned.h"

#define ENV_PREFIX "HOOKLINE_"

static void *field(void *cfg, const struct hl_cfg_opt *o)
{
    return (char *)cfg + o->offset;
}

static const struct hl_cfg_opt *find_opt(const struct hl_cfg_opt *opts, size_t n, const char *name,
                                         size_t namelen)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == namelen && strncmp(opts[i].name, name, namelen) == 0)
            return &opts[i];
    return NULL;
}

static hl_err set_opt(const struct hl_cfg_opt *o, void *cfg, const char *value, char *errbuf,
                      size_t errlen)
{
    switch (o->type) {
    case HL_CFG_STR: {
        char **p = field(cfg, o);
        free(*p);
        *p = value ? hl_xstrdup(value) : NULL;
        return HL_OK;
    }
    case HL_CFG_INT: {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end != '\0') {
            snprintf(errbuf, errlen, "option '%s': '%s' is not an integer", o->name, value);
            return HL_EINVAL;
        }
        if (v < o->min || v > o->max) {
            snprintf(errbuf, errlen, "option '%s': %lld is outside [%" PRId64 ", %" PRId64 "]",
                     o->name, v, o->min, o->max);
            return HL_EINVAL;
        }
        *(int64_t *)field(cfg, o) = v;
        return HL_OK;
    }
    case HL_CFG_BOOL: {
        static const char *const yes[] = {"1", "true", "yes", "on"};
        static const char *const no[] = {"0", "false", "no", "off"};
        for (int i = 0; i < 4; i++) {
            if (strcasecmp(value, yes[i]) == 0) {
                *(bool *)field(cfg, o) = true;
                return HL_OK;
            }
            if (strcasecmp(value, no[i]) == 0) {
                *(bool *)field(cfg, o) = false;
                return HL_OK;
            }
        }
        snprintf(errbuf, errlen, "option '%s': '%s' is not a boolean", o->name, value);
        return HL_EINVAL;
    }
    }
    snprintf(errbuf, errlen, "option '%s': unknown type", o->name);
    return HL_EINVAL;
}

hl_err hl_cfg_set(const struct hl_cfg_opt *opts, size_t n, void *cfg, const char *name,
                  const char *value, char *errbuf, size_t errlen)
{
    const struct hl_cfg_opt *o = find_opt(opts, n, name, strlen(name));
    if (!o) {
        snprintf(errbuf, errlen, "unknown option '%s'", name);
        return HL_EINVAL;
    }
    return set_opt(o, cfg, value, errbuf, errlen);
}

hl_err hl_cfg_load(const struct hl_cfg_opt *opts, size_t n, void *cfg, int argc, char **argv,
                   char *errbuf, size_t errlen)
{
    hl_err err;
    for (size_t i = 0; i < n; i++) {
        if (opts[i].type == HL_CFG_STR)
            *(char **)field(cfg, &opts[i]) = NULL;
        if (opts[i].def && (err = set_opt(&opts[i], cfg, opts[i].def, errbuf, errlen)))
            return err;
    }

    for (size_t i = 0; i < n; i++) {
        char env[128];
        size_t k = 0;
        for (const char *p = ENV_PREFIX; *p && k < sizeof(env) - 1; p++)
            env[k++] = *p;
        for (const char *p = opts[i].name; *p && k < sizeof(env) - 1; p++)
            env[k++] = (char)toupper((unsigned char)*p);
        env[k] = '\0';
        const char *v = getenv(env);
        if (v && (err = set_opt(&opts[i], cfg, v, errbuf, errlen)))
            return err;
    }

    for (int a = 0; a < argc; a++) {
        const char *arg = argv[a];
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(errbuf, errlen, "unexpected argument '%s'", arg);
            return HL_EINVAL;
        }
        arg += 2;
        const char *eq = strchr(arg, '=');
        size_t namelen = eq ? (size_t)(eq - arg) : strlen(arg);
        char name[128];
        if (namelen >= sizeof(name)) {
            snprintf(errbuf, errlen, "unknown option '--%s'", arg);
            return HL_EINVAL;
        }
        for (size_t i = 0; i < namelen; i++)
            name[i] = arg[i] == '-' ? '_' : arg[i];
        name[namelen] = '\0';
        const struct hl_cfg_opt *o = find_opt(opts, n, name, namelen);
        if (!o) {
            snprintf(errbuf, errlen, "unknown option '--%.*s'", (int)namelen, arg);
            return HL_EINVAL;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (o->type == HL_CFG_BOOL)
                value = "true";
            else if (a + 1 < argc)
                value = argv[++a];
            else {
                snprintf(errbuf, errlen, "option '--%.*s' needs a value", (int)namelen, arg);
                return HL_EINVAL;
            }
        }
        if ((err = set_opt(o, cfg, value, errbuf, errlen)))
            return err;
    }
    return HL_OK;
}

void hl_cfg_release(const struct hl_cfg_opt *opts, size_t n, void *cfg)
{
    for (size_t i = 0; i < n; i++) {
        if (opts[i].type != HL_CFG_STR)
            continue;
        char **p = field(cfg, &opts[i]);
        free(*p);
        *p = NULL;
    }
}

static void flag_name(const char *name, char *out, size_t outlen)
{
    size_t k = 0;
    for (; name[k] && k < outlen - 1; k++)
        out[k] = name[k] == '_' ? '-' : name[k];
    out[k] = '\0';
}

static void env_name(const char *name, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, ENV_PREFIX "%s", name);
    for (int k = (int)strlen(ENV_PREFIX); k < n && (size_t)k < outlen; k++)
        out[k] = (char)toupper((unsigned char)out[k]);
}

static const char *type_name(const struct hl_cfg_opt *o)
{
    return o->type == HL_CFG_STR ? "string" : o->type == HL_CFG_INT ? "integer" : "boolean";
}

void hl_cfg_usage(FILE *out, const struct hl_cfg_opt *opts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char flag[128], env[128];
        flag_name(opts[i].name, flag, sizeof(flag));
        env_name(opts[i].name, env, sizeof(env));
        fprintf(out, "  --%s=%s  (env %s, default %s)\n      %s\n", flag,
                opts[i].type == HL_CFG_INT ? "N" : opts[i].type == HL_CFG_BOOL ? "BOOL" : "STR",
                env, opts[i].def ? opts[i].def : "unset", opts[i].help);
    }
}

void hl_cfg_markdown(FILE *out, const struct hl_cfg_opt *opts, size_t n)
{
    fprintf(out, "| flag | environment | type | default | description |\n");
    fprintf(out, "|---|---|---|---|---|\n");
    for (size_t i = 0; i < n; i++) {
        char flag[128], env[128];
        flag_name(opts[i].name, flag, sizeof(flag));
        env_name(opts[i].name, env, sizeof(env));
        fprintf(out, "| `--%s` | `%s` | %s", flag, env, type_name(&opts[i]));
        if (opts[i].type == HL_CFG_INT)
            fprintf(out, " (%" PRId64 "..%" PRId64 ")", opts[i].min, opts[i].max);
        fprintf(out, " | %s%s%s | %s |\n", opts[i].def ? "`" : "",
                opts[i].def ? opts[i].def : "unset", opts[i].def ? "`" : "", opts[i].help);
    }
}

hl_err hl_common_cfg_apply(const struct hl_common_cfg *c, char *errbuf, size_t errlen)
{
    int level = hl_log_level_parse(c->log_level);
    if (level < 0) {
        snprintf(errbuf, errlen, "option 'log_level': '%s' is not debug, info, warn or error",
                 c->log_level);
        return HL_EINVAL;
    }
    hl_log_threshold = (hl_log_level)level;
    if (!c->topic_prefix || !*c->topic_prefix) {
        snprintf(errbuf, errlen, "option 'topic_prefix' must not be empty");
        return HL_EINVAL;
    }
    if (hl_ssrf_allowlist_parse(c->ssrf_allowlist, &hl_ssrf_allow, errbuf, errlen) != HL_OK)
        return HL_EINVAL;
    /* An allow-list entry that spans everything switches SSRF protection off. */
    for (size_t i = 0; i < hl_ssrf_allow.n; i++)
        if (hl_ssrf_allow.cidr[i].prefix == 0)
            hl_log(HL_LOG_WARN, "config",
                   "ssrf_allowlist contains '%s': SSRF protection is off for every %s "
                   "address, including cloud metadata and internal services",
                   hl_ssrf_allow.cidr[i].family == AF_INET ? "0.0.0.0/0" : "::/0",
                   hl_ssrf_allow.cidr[i].family == AF_INET ? "IPv4" : "IPv6");
    if (hl_ssrf_allow.n)
        hl_log(HL_LOG_INFO, "config", "ssrf_allowlist: %s", c->ssrf_allowlist);
    if (hl_kafka_extra_set(c->kafka_properties, c->kafka_properties_file, errbuf, errlen))
        return HL_EINVAL;
    return HL_OK;
}

int hl_cfg_main_opening(const char *service, const char *prog, const struct hl_cfg_opt *opts,
                        size_t n, void *cfg, size_t cfg_size, hl_cfg_usage_fn usage, int argc,
                        char **argv)
{
    char err[512];
    hl_log_set_service(service);
    if (argc > 1 && strcmp(argv[1], "config-doc") == 0) {
        hl_cfg_markdown(stdout, opts, n);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    }
    memset(cfg, 0, cfg_size);
    if (hl_cfg_load(opts, n, cfg, argc - 1, argv + 1, err, sizeof(err)) ||
        hl_common_cfg_apply((const struct hl_common_cfg *)cfg, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        usage(stderr);
        hl_cfg_release(opts, n, cfg);
        return 1;
    }
    return -1;
}
