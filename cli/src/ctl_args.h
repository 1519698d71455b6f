/* hooklinectl's command table types and the parser that reads a command line against it.
 *
 * One table (ctl_table.c) says which commands exist, their positional argument, their
 * options with types and choices, and their help text. The parser, `--help`, docs/cli.md
 * and the bash and zsh completion scripts (ctl_gen.c) all read that table, so a command or
 * flag added there is parsed, documented and completed at once (the services' config
 * tables work the same way, see common/include/hl/config.h).
 *
 * Pure code: no I/O, no network; unit-tested in tests/unit/test_cli_args.c. */
#ifndef CTL_ARGS_H
#define CTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>

/* Exit codes (docs/cli.md): the same for every command. */
enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_API = 1,     /* the API answered with an error (problem+json on stderr) */
    CTL_EXIT_USAGE = 2,   /* the command line or the connection settings are wrong */
    CTL_EXIT_CONNECT = 3, /* the gateway could not be reached */
};

typedef enum {
    CTL_OPT_FLAG,   /* no value */
    CTL_OPT_STRING, /* any text */
    CTL_OPT_INT,    /* a non-negative decimal integer */
    CTL_OPT_JSON,   /* a JSON text (checked when parsed) */
    CTL_OPT_ENUM,   /* one of `choices` ("a|b|c") */
} ctl_opt_type;

struct ctl_opt {
    const char *name;    /* long name without the leading "--" */
    ctl_opt_type type;
    const char *metavar; /* shown in usage: "<id>", "'<json>'" */
    const char *choices; /* CTL_OPT_ENUM only: "a|b|c" */
    bool required;
    const char *help;
};

struct ctl_ctx;
/* A command's implementation: returns the process exit code (CTL_EXIT_*). */
typedef int (*ctl_run_fn)(struct ctl_ctx *ctx);

struct ctl_command {
    const char *name;     /* "webhooks:list" */
    const char *group;    /* heading in --help and docs/cli.md */
    const char *arg;      /* positional argument's metavar ("<webhook-id>") or NULL */
    bool arg_optional;    /* the positional argument may be left out */
    const char *choices;  /* the positional's choices ("bash|zsh") or NULL */
    const char *summary;  /* one line */
    const char *help;     /* paragraph(s) for --help and the docs, or NULL */
    const struct ctl_opt *opts; /* terminated by an entry with name NULL */
    ctl_run_fn run;
    bool needs_api;       /* talks to the gateway (connection settings required) */
};

/* The table: ctl_commands[] ends with a NULL name; ctl_global_opts[] are accepted before
 * and after any command. */
extern const struct ctl_command ctl_commands[];
extern const struct ctl_opt ctl_global_opts[];
extern const char ctl_program_summary[];

#define CTL_MAX_OPTS 40

/* A parsed command line. Values point into argv (or are "1" for flags). */
struct ctl_args {
    const struct ctl_command *cmd; /* NULL: no command given */
    const char *arg;               /* the positional argument, or NULL */
    const char *vals[CTL_MAX_OPTS];   /* by index in cmd->opts */
    const char *global[CTL_MAX_OPTS]; /* by index in ctl_global_opts */
    bool help;    /* -h / --help anywhere */
    bool version; /* --version */
};

/* Finds a command by name; NULL when there is none. */
const struct ctl_command *ctl_command_find(const char *name);

/* Parses argv[1..argc-1] into a. Returns 0, or -1 with a one-line message in err for a
 * usage error (unknown command or option, missing or invalid value, missing required
 * option or argument). With --help or --version nothing else is checked. */
int ctl_args_parse(struct ctl_args *a, int argc, char **argv, char *err, size_t errlen);

/* The value of option `name` of the parsed command, else of the global options; NULL when
 * it was not given. `name` must exist in the table (asserted: catches typos in handlers). */
const char *ctl_arg(const struct ctl_args *a, const char *name);
/* The value of global option `name` (--url, --format, ...), even when the command has an
 * option of the same name (webhooks:create --url is the endpoint: the gateway's --url then
 * goes before the command). */
const char *ctl_arg_global(const struct ctl_args *a, const char *name);
/* ctl_arg() as an integer (the parser has checked it); dflt when not given. */
long long ctl_arg_int(const struct ctl_args *a, const char *name, long long dflt);
/* True when the flag `name` was given. */
bool ctl_arg_flag(const struct ctl_args *a, const char *name);

/* Whether `value` is one of the "a|b|c" choices. */
bool ctl_choice_ok(const char *choices, const char *value);

#endif
