/* Everything generated from the command table: `hooklinectl --help`, `<command> --help`,
 * the Markdown reference (`hooklinectl doc`, committed as the second half of docs/cli.md)
 * and the bash and zsh completion scripts (`hooklinectl completion bash|zsh`, committed in
 * cli/completion/). scripts/gen-cli-doc writes the committed copies; CTest's cli_doc_fresh
 * fails when they differ from what the binary prints. */
#include "ctl_cmds.h"

#include <stdio.h>
#include <string.h>

#include "hl/banned.h"

/* --- text help ------------------------------------------------------------------------ */

static void print_usage_line(FILE *f, const struct ctl_command *c)
{
    fprintf(f, "hooklinectl %s", c->name);
    if (c->arg)
        fprintf(f, c->arg_optional ? " %s" : " %s", c->arg);
    int optional = 0;
    for (const struct ctl_opt *o = c->opts; o && o->name; o++) {
        if (o->required)
            fprintf(f, " --%s %s", o->name, o->metavar);
        else
            optional = 1;
    }
    if (optional)
        fputs(" [options]", f);
}

static void print_opt(FILE *f, const struct ctl_opt *o)
{
    char left[64];
    snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
             o->metavar ? o->metavar : "");
    fprintf(f, "  %-30s %s", left, o->help);
    if (o->choices)
        fprintf(f, " (%s)", o->choices);
    if (o->required)
        fputs(" [required]", f);
    fputc('\n', f);
}

void ctl_print_usage(FILE *f)
{
    fprintf(f, "%s\n\nusage: hooklinectl [global options] <command> [arguments] [options]\n",
            ctl_program_summary);
    const char *group = NULL;
    for (const struct ctl_command *c = ctl_commands; c->name; c++) {
        if (!group || strcmp(group, c->group) != 0) {
            group = c->group;
            fprintf(f, "\n%s:\n", group);
        }
        fprintf(f, "  %-24s %s\n", c->name, c->summary);
    }
    fputs("\nglobal options (before or after the command):\n", f);
    for (const struct ctl_opt *o = ctl_global_opts; o->name; o++)
        print_opt(f, o);
    fprintf(f, "  %-30s %s\n  %-30s %s\n", "-h, --help", "help for hooklinectl or a command",
            "--version", "print the version");
    fputs("\nexit codes: 0 success, 1 API error, 2 usage error, 3 cannot connect\n"
          "`hooklinectl <command> --help` describes a command; docs/cli.md has them all.\n",
          f);
}

void ctl_print_command_help(FILE *f, const struct ctl_command *c)
{
    fputs("usage: ", f);
    print_usage_line(f, c);
    fprintf(f, "\n\n%s.\n", c->summary);
    if (c->help)
        fprintf(f, "\n%s\n", c->help);
    if (c->choices)
        fprintf(f, "\n%s is one of %s.\n", c->arg, c->choices);
    if (c->opts && c->opts->name) {
        fputs("\noptions:\n", f);
        for (const struct ctl_opt *o = c->opts; o->name; o++)
            print_opt(f, o);
    }
    if (c->needs_api) {
        fputs("\nglobal options: --url, --api-key, --profile, --tenant, --format "
              "(hooklinectl --help)\n",
              f);
        for (const struct ctl_opt *o = c->opts; o && o->name; o++)
            for (const struct ctl_opt *g = ctl_global_opts; g->name; g++)
                if (strcmp(o->name, g->name) == 0)
                    fprintf(f, "(--%s after the command is this command's; the global --%s "
                               "goes before it)\n",
                            o->name, g->name);
    }
}

int ctl_help(struct ctl_ctx *x)
{
    const char *name = x->args->arg;
    if (!name) {
        ctl_print_usage(stdout);
        return CTL_EXIT_OK;
    }
    const struct ctl_command *c = ctl_command_find(name);
    if (!c) {
        fprintf(stderr, "hooklinectl: unknown command '%s' (see hooklinectl --help)\n", name);
        return CTL_EXIT_USAGE;
    }
    ctl_print_command_help(stdout, c);
    return CTL_EXIT_OK;
}

/* --- Markdown -------------------------------------------------------------------------- */

/* Markdown table cell: '|' escaped. */
static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', f);
        fputc(*s, f);
    }
}

static void md_opts(FILE *f, const struct ctl_opt *opts)
{
    fputs("| option | meaning |\n|---|---|\n", f);
    for (const struct ctl_opt *o = opts; o->name; o++) {
        fprintf(f, "| `--%s%s%s` | ", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
        md_cell(f, o->help);
        if (o->choices) {
            fputs(": `", f);
            md_cell(f, o->choices);
            fputc('`', f);
        }
        if (o->required)
            fputs(" (required)", f);
        fputs(" |\n", f);
    }
}

int ctl_doc(struct ctl_ctx *x)
{
    FILE *f = stdout;
    fputs("## Global options\n\nAccepted before or after the command. A command's own option of "
          "the same name (`webhooks:create --url`, the endpoint) wins after the command, so "
          "the gateway's `--url` then goes before it.\n\n",
          f);
    md_opts(f, ctl_global_opts);
    fputs("| `-h`, `--help` | help for hooklinectl or a command |\n"
          "| `--version` | print the version |\n",
          f);
    const char *group = NULL;
    for (const struct ctl_command *c = ctl_commands; c->name; c++) {
        if (!group || strcmp(group, c->group) != 0) {
            group = c->group;
            fprintf(f, "\n## %s\n", group);
        }
        fprintf(f, "\n### `%s`\n\n```\n", c->name);
        print_usage_line(f, c);
        fprintf(f, "\n```\n\n%s.", c->summary);
        if (c->help)
            fprintf(f, " %s", c->help);
        if (c->choices)
            fprintf(f, " `%s` is one of `%s`.", c->arg, c->choices);
        fputc('\n', f);
        if (c->opts && c->opts->name) {
            fputc('\n', f);
            md_opts(f, c->opts);
        }
    }
    (void)x;
    return CTL_EXIT_OK;
}

/* --- completion ------------------------------------------------------------------------- */

/* Prints the names of the options that take a value, "|"-separated, for a case pattern. */
static int value_opts(FILE *f, const struct ctl_opt *opts, int first, int with_enums)
{
    for (const struct ctl_opt *o = opts; o && o->name; o++) {
        if (o->type == CTL_OPT_FLAG || (o->type == CTL_OPT_ENUM && !with_enums))
            continue;
        fprintf(f, "%s--%s", first ? "" : "|", o->name);
        first = 0;
    }
    return first;
}

static void words_of_opts(FILE *f, const struct ctl_opt *opts)
{
    for (const struct ctl_opt *o = opts; o && o->name; o++)
        fprintf(f, " --%s", o->name);
}

/* "a|b|c" as "a b c". */
static void choice_words(FILE *f, const char *choices)
{
    for (; *choices; choices++)
        fputc(*choices == '|' ? ' ' : *choices, f);
}

/* The `case $prev in` arms both shells share: after an enum option its choices
 * (pre + "a b c" + post), after another option that takes a value nothing. The caller
 * prints the default arm and `esac`. */
static void prev_cases(FILE *f, const struct ctl_command *c, const char *pre, const char *post,
                       const char *indent)
{
    const struct ctl_opt *tables[2] = {c ? c->opts : NULL, ctl_global_opts};
    for (int t = 0; t < 2; t++) {
        for (const struct ctl_opt *o = tables[t]; o && o->name; o++) {
            if (o->type != CTL_OPT_ENUM)
                continue;
            /* A command option hides a global one of the same name. */
            int hidden = 0;
            for (const struct ctl_opt *p = c && t == 1 ? c->opts : NULL; p && p->name; p++)
                hidden |= strcmp(p->name, o->name) == 0;
            if (hidden)
                continue;
            fprintf(f, "%s--%s) %s", indent, o->name, pre);
            choice_words(f, o->choices);
            fprintf(f, "%s ;;\n", post);
        }
    }
    fputs(indent, f);
    int first = value_opts(f, c ? c->opts : NULL, 1, 0);
    value_opts(f, ctl_global_opts, first, 0);
    fputs(") ;;\n", f);
}

static void all_command_names(FILE *f)
{
    for (const struct ctl_command *c = ctl_commands; c->name; c++)
        fprintf(f, "%s%s", c == ctl_commands ? "" : " ", c->name);
}

/* What a positional argument can be: its choices, or (help) a command name. */
static void positional_words(FILE *f, const struct ctl_command *c)
{
    if (c->choices)
        choice_words(f, c->choices);
    else
        all_command_names(f);
}

static bool completes_positional(const struct ctl_command *c)
{
    return c->choices || strcmp(c->name, "help") == 0;
}

#define BASH_PRE "reply=($(compgen -W \""
#define BASH_POST "\" -- \"$cur\"))"

static void bash_completion(FILE *f)
{
    fputs("# Generated by `hooklinectl completion bash` from hooklinectl's command table "
          "(cli/src/ctl_table.c); do not edit.\n"
          "# bash completion for hooklinectl: source this file, or install it as\n"
          "# /usr/share/bash-completion/completions/hooklinectl.\n"
          "_hooklinectl() {\n"
          "    local line=${COMP_LINE:0:COMP_POINT} cur prev cmd= w i\n"
          "    local -a words reply=()\n"
          "    read -ra words <<<\"$line\"\n"
          "    [[ $line == *[[:space:]] || ${#words[@]} -eq 0 ]] && words+=(\"\")\n"
          "    cur=${words[-1]}\n"
          "    prev=\n"
          "    ((${#words[@]} > 1)) && prev=${words[-2]}\n"
          "    for ((i = 1; i < ${#words[@]} - 1; i++)); do\n"
          "        w=${words[i]}\n"
          "        case $w in\n"
          "        ",
          f);
    value_opts(f, ctl_global_opts, 1, 1);
    fputs(") ((i++)) ;;\n"
          "        -*) ;;\n"
          "        *) cmd=$w; break ;;\n"
          "        esac\n"
          "    done\n"
          "    case $cmd in\n"
          "    \"\")\n"
          "        case $prev in\n",
          f);
    prev_cases(f, NULL, BASH_PRE, BASH_POST, "        ");
    fputs("        *)\n"
          "            if [[ $cur == -* ]]; then\n"
          "                " BASH_PRE,
          f);
    words_of_opts(f, ctl_global_opts);
    fputs(" --help --version" BASH_POST "\n"
          "            else\n"
          "                " BASH_PRE,
          f);
    all_command_names(f);
    fputs(BASH_POST "\n"
          "            fi\n"
          "            ;;\n"
          "        esac\n"
          "        ;;\n",
          f);
    for (const struct ctl_command *c = ctl_commands; c->name; c++) {
        fprintf(f, "    %s)\n        case $prev in\n", c->name);
        prev_cases(f, c, BASH_PRE, BASH_POST, "        ");
        fputs("        *)\n", f);
        if (completes_positional(c)) {
            fputs("            if [[ $cur != -* ]]; then\n"
                  "                " BASH_PRE,
                  f);
            positional_words(f, c);
            fputs(BASH_POST "\n"
                  "            else\n    ",
                  f);
        }
        fputs("            " BASH_PRE, f);
        words_of_opts(f, c->opts);
        words_of_opts(f, ctl_global_opts);
        fputs(" --help" BASH_POST "\n", f);
        if (completes_positional(c))
            fputs("            fi\n", f);
        fputs("            ;;\n        esac\n        ;;\n", f);
    }
    fputs("    esac\n"
          "    # bash splits words at ':': keep only what follows the last ':' of the word.\n"
          "    if [[ $cur == *:* ]]; then\n"
          "        local pre=${cur%\"${cur##*:}\"} k\n"
          "        for k in \"${!reply[@]}\"; do reply[k]=${reply[k]#\"$pre\"}; done\n"
          "    fi\n"
          "    COMPREPLY=(\"${reply[@]}\")\n"
          "}\n"
          "complete -F _hooklinectl hooklinectl\n",
          f);
}

/* A zsh _describe entry: 'name:summary', the name's ':' escaped, quotes doubled up. */
static void zsh_entry(FILE *f, const struct ctl_command *c)
{
    fputs("                '", f);
    for (const char *p = c->name; *p; p++)
        fputs(*p == ':' ? "\\:" : (char[]){*p, 0}, f);
    fputc(':', f);
    for (const char *p = c->summary; *p; p++)
        fputs(*p == '\'' ? "'\\''" : (char[]){*p, 0}, f);
    fputs("'\n", f);
}

static void zsh_completion(FILE *f)
{
    fputs("#compdef hooklinectl\n"
          "# Generated by `hooklinectl completion zsh` from hooklinectl's command table "
          "(cli/src/ctl_table.c); do not edit.\n"
          "# zsh completion for hooklinectl: put this file in a directory of $fpath as "
          "_hooklinectl.\n"
          "_hooklinectl() {\n"
          "    local cmd= i w prev=${words[CURRENT-1]}\n"
          "    local -a commands\n"
          "    for ((i = 2; i < CURRENT; i++)); do\n"
          "        w=${words[i]}\n"
          "        case $w in\n"
          "        ",
          f);
    value_opts(f, ctl_global_opts, 1, 1);
    fputs(") ((i++)) ;;\n"
          "        -*) ;;\n"
          "        *) cmd=$w; break ;;\n"
          "        esac\n"
          "    done\n"
          "    case $cmd in\n"
          "    \"\")\n"
          "        case $prev in\n",
          f);
    prev_cases(f, NULL, "compadd -- ", "", "        ");
    fputs("        *)\n"
          "            if [[ $PREFIX == -* ]]; then\n"
          "                compadd --",
          f);
    words_of_opts(f, ctl_global_opts);
    fputs(" --help --version\n"
          "            else\n"
          "                commands=(\n",
          f);
    for (const struct ctl_command *c = ctl_commands; c->name; c++)
        zsh_entry(f, c);
    fputs("                )\n"
          "                _describe -t commands 'hooklinectl command' commands\n"
          "            fi\n"
          "            ;;\n"
          "        esac\n"
          "        ;;\n",
          f);
    for (const struct ctl_command *c = ctl_commands; c->name; c++) {
        fprintf(f, "    %s)\n        case $prev in\n", c->name);
        prev_cases(f, c, "compadd -- ", "", "        ");
        fputs("        *)\n", f);
        if (completes_positional(c)) {
            fputs("            if [[ $PREFIX != -* ]]; then\n"
                  "                compadd -- ",
                  f);
            positional_words(f, c);
            fputs("\n            else\n    ", f);
        }
        fputs("            compadd --", f);
        words_of_opts(f, c->opts);
        words_of_opts(f, ctl_global_opts);
        fputs(" --help\n", f);
        if (completes_positional(c))
            fputs("            fi\n", f);
        fputs("            ;;\n        esac\n        ;;\n", f);
    }
    fputs("    esac\n"
          "}\n"
          "_hooklinectl \"$@\"\n",
          f);
}

int ctl_completion(struct ctl_ctx *x)
{
    if (strcmp(x->args->arg, "bash") == 0)
        bash_completion(stdout);
    else
        zsh_completion(stdout);
    return CTL_EXIT_OK;
}
