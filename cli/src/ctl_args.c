/* The command-line parser: reads argv against the command table (see ctl_args.h).
 *
 * Rules, the same for every command: `--name value` or `--name=value`; options and the
 * positional argument in any order; global options (--url, --format, ...) before or after
 * the command; `--` ends the options; an option given twice keeps the last value. Values
 * are checked by type here, so a handler never sees a malformed integer, choice or JSON. */
#include "ctl_args.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/banned.h"

const struct ctl_command *ctl_command_find(const char *name)
{
    for (const struct ctl_command *c = ctl_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

bool ctl_choice_ok(const char *choices, const char *value)
{
    size_t n = strlen(value);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, value, n) == 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

/* Index of option `name` (length n) in opts, or -1. */
static int opt_index(const struct ctl_opt *opts, const char *name, size_t n)
{
    for (int i = 0; opts && opts[i].name; i++)
        if (strlen(opts[i].name) == n && strncmp(opts[i].name, name, n) == 0)
            return i;
    return -1;
}

/* Checks a value against its option's type. */
static int check_value(const struct ctl_opt *o, const char *v, char *err, size_t errlen)
{
    switch (o->type) {
    case CTL_OPT_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || errno || x < 0) {
            snprintf(err, errlen, "--%s needs a non-negative integer, not '%s'", o->name, v);
            return -1;
        }
        return 0;
    }
    case CTL_OPT_ENUM:
        if (!ctl_choice_ok(o->choices, v)) {
            snprintf(err, errlen, "--%s must be one of %s, not '%s'", o->name, o->choices, v);
            return -1;
        }
        return 0;
    case CTL_OPT_JSON: {
        json_error_t je;
        json_t *j = json_loads(v, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
        if (!j) {
            /* The position, never the text: the value may be a credential. */
            snprintf(err, errlen, "--%s is not valid JSON (column %d: %s)", o->name, je.column,
                     je.text);
            return -1;
        }
        json_decref(j);
        return 0;
    }
    case CTL_OPT_FLAG:
    case CTL_OPT_STRING:
        return 0;
    }
    return 0;
}

/* Handles argv[*i], which starts with "--". Returns 0 or -1 (err set). */
static int take_option(struct ctl_args *a, int argc, char **argv, int *i, char *err,
                       size_t errlen)
{
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    const struct ctl_opt *o = NULL;
    const char **slot = NULL;
    int k;
    if (a->cmd && (k = opt_index(a->cmd->opts, name, n)) >= 0) {
        o = &a->cmd->opts[k];
        slot = &a->vals[k];
    } else if ((k = opt_index(ctl_global_opts, name, n)) >= 0) {
        o = &ctl_global_opts[k];
        slot = &a->global[k];
    } else {
        snprintf(err, errlen, "unknown option '--%.*s'%s%s", (int)n, name,
                 a->cmd ? " for " : "", a->cmd ? a->cmd->name : "");
        return -1;
    }
    if (o->type == CTL_OPT_FLAG) {
        if (eq) {
            snprintf(err, errlen, "--%s takes no value", o->name);
            return -1;
        }
        *slot = "1";
        return 0;
    }
    const char *v;
    if (eq) {
        v = eq + 1;
    } else if (*i + 1 < argc) {
        v = argv[++*i];
    } else {
        snprintf(err, errlen, "--%s needs a value (%s)", o->name, o->metavar);
        return -1;
    }
    if (check_value(o, v, err, errlen))
        return -1;
    *slot = v;
    return 0;
}

int ctl_args_parse(struct ctl_args *a, int argc, char **argv, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    const char *positional[2] = {NULL, NULL};
    int npos = 0;
    bool dashdash = false;
    const char *extra = NULL;

    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!dashdash && strcmp(s, "--") == 0) {
            dashdash = true;
        } else if (!dashdash && (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)) {
            a->help = true;
        } else if (!dashdash && strcmp(s, "--version") == 0) {
            a->version = true;
        } else if (!dashdash && s[0] == '-' && s[1] == '-' && s[2]) {
            if (take_option(a, argc, argv, &i, err, errlen))
                return -1;
        } else if (!dashdash && s[0] == '-' && s[1]) {
            snprintf(err, errlen, "unknown option '%s' (options are spelt --name)", s);
            return -1;
        } else if (!a->cmd) {
            a->cmd = ctl_command_find(s);
            if (!a->cmd) {
                if (a->help)
                    continue; /* `--help nonsense`: the general help */
                snprintf(err, errlen, "unknown command '%s' (see hooklinectl --help)", s);
                return -1;
            }
        } else if (npos < 1) {
            positional[npos++] = s;
        } else if (!extra) {
            extra = s;
        }
    }
    if (a->help || a->version)
        return 0;
    if (!a->cmd) {
        snprintf(err, errlen, "no command given (see hooklinectl --help)");
        return -1;
    }
    const struct ctl_command *c = a->cmd;
    if (extra || (npos && !c->arg)) {
        snprintf(err, errlen, "%s: unexpected argument '%s'", c->name, extra ? extra : positional[0]);
        return -1;
    }
    if (c->arg && !c->arg_optional && !npos) {
        snprintf(err, errlen, "%s: missing %s", c->name, c->arg);
        return -1;
    }
    if (npos && c->choices && !ctl_choice_ok(c->choices, positional[0])) {
        snprintf(err, errlen, "%s: %s must be one of %s, not '%s'", c->name, c->arg, c->choices,
                 positional[0]);
        return -1;
    }
    a->arg = positional[0];
    for (int k = 0; c->opts && c->opts[k].name; k++) {
        if (c->opts[k].required && !a->vals[k]) {
            snprintf(err, errlen, "%s: --%s is required", c->name, c->opts[k].name);
            return -1;
        }
    }
    return 0;
}

const char *ctl_arg(const struct ctl_args *a, const char *name)
{
    int k = a->cmd ? opt_index(a->cmd->opts, name, strlen(name)) : -1;
    if (k >= 0)
        return a->vals[k];
    k = opt_index(ctl_global_opts, name, strlen(name));
    assert(k >= 0 && "option missing from the command table");
    return k >= 0 ? a->global[k] : NULL;
}

const char *ctl_arg_global(const struct ctl_args *a, const char *name)
{
    int k = opt_index(ctl_global_opts, name, strlen(name));
    assert(k >= 0 && "option missing from the global table");
    return k >= 0 ? a->global[k] : NULL;
}

long long ctl_arg_int(const struct ctl_args *a, const char *name, long long dflt)
{
    const char *v = ctl_arg(a, name);
    return v ? strtoll(v, NULL, 10) : dflt;
}

bool ctl_arg_flag(const struct ctl_args *a, const char *name)
{
    return ctl_arg(a, name) != NULL;
}
