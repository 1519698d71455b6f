/* hooklinectl: the command-line client of Hookline's public REST API.
 *
 * main() wires the pieces: parse argv against the command table (ctl_args.c, ctl_table.c),
 * answer --help/--version, resolve the connection (ctl_conn.c) for commands that talk to
 * the gateway, and run the command's handler, whose return value is the exit code:
 * 0 success, 1 API error, 2 usage error, 3 cannot connect. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "ctl_args.h"
#include "ctl_cmds.h"
#include "ctl_conn.h"
#include "hl/banned.h"

int main(int argc, char **argv)
{
    struct ctl_args a;
    char err[512];
    if (ctl_args_parse(&a, argc, argv, err, sizeof(err))) {
        fprintf(stderr, "hooklinectl: %s\n", err);
        return CTL_EXIT_USAGE;
    }
    if (a.version) {
        printf("hooklinectl %s\n", HL_VERSION);
        return CTL_EXIT_OK;
    }
    if (a.help) {
        if (a.cmd)
            ctl_print_command_help(stdout, a.cmd);
        else
            ctl_print_usage(stdout);
        return CTL_EXIT_OK;
    }

    struct ctl_ctx x = {.args = &a};
    const char *format = ctl_arg_global(&a, "format");
    x.json = format && strcmp(format, "json") == 0;
    if (a.cmd->needs_api &&
        ctl_conn_resolve(&x.conn, ctl_arg_global(&a, "url"), ctl_arg_global(&a, "api-key"),
                         ctl_arg_global(&a, "profile"), ctl_arg_global(&a, "tenant"), err,
                         sizeof(err))) {
        fprintf(stderr, "hooklinectl: %s\n", err);
        ctl_conn_release(&x.conn);
        return CTL_EXIT_USAGE;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "hooklinectl: libcurl could not be initialised\n");
        return CTL_EXIT_CONNECT;
    }
    int rc = a.cmd->run(&x);
    fflush(stdout);
    if (ferror(stdout)) {
        fprintf(stderr, "hooklinectl: cannot write the output\n");
        if (rc == CTL_EXIT_OK)
            rc = CTL_EXIT_API;
    }
    ctl_conn_release(&x.conn);
    curl_global_cleanup();
    return rc;
}
