/* hooklinectl's argument parser against the real command table: seed 002's spellings,
 * option forms, types, required options and arguments, and global options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_args.h"

#define ARGV(...) ((char *[]){"hooklinectl", __VA_ARGS__, NULL})
#define ARGC(argv) ((int)(sizeof(argv) / sizeof(char *) - 1))

static struct ctl_args a;
static char err[256];

static int parse(int argc, char **argv)
{
    err[0] = '\0';
    return ctl_args_parse(&a, argc, argv, err, sizeof(err));
}
#define PARSE(...) parse(ARGC(ARGV(__VA_ARGS__)), ARGV(__VA_ARGS__))

static void test_seed_create_line(void **state)
{
    /* The seed README's create command, verbatim. */
    assert_int_equal(PARSE("webhooks:create", "--name", "My Webhook", "--url",
                           "https://example.com/webhook", "--events", "agent.started,agent.failed",
                           "--method", "POST", "--headers", "{\"X-Custom\":\"value\"}",
                           "--auth-type", "bearer", "--auth-credentials",
                           "{\"token\":\"secret123\"}"),
                     0);
    assert_string_equal(a.cmd->name, "webhooks:create");
    assert_string_equal(ctl_arg(&a, "name"), "My Webhook");
    assert_string_equal(ctl_arg(&a, "url"), "https://example.com/webhook");
    assert_string_equal(ctl_arg(&a, "events"), "agent.started,agent.failed");
    assert_string_equal(ctl_arg(&a, "auth-type"), "bearer");
    /* The command's --url is the endpoint, not the gateway. */
    assert_null(ctl_arg_global(&a, "url"));
}

static void test_seed_lines_parse(void **state)
{
    assert_int_equal(PARSE("webhooks:list", "--status", "inactive", "--event", "agent.started",
                           "--format", "json"),
                     0);
    assert_string_equal(ctl_arg(&a, "status"), "inactive");
    assert_string_equal(ctl_arg_global(&a, "format"), "json");
    assert_int_equal(PARSE("webhooks:info", "wh_1", "--format", "json"), 0);
    assert_string_equal(a.arg, "wh_1");
    assert_int_equal(PARSE("webhooks:update", "wh_1", "--name", "New Name", "--status",
                           "inactive"),
                     0);
    assert_int_equal(PARSE("webhooks:delete", "wh_1", "--force"), 0);
    assert_true(ctl_arg_flag(&a, "force"));
    assert_int_equal(PARSE("webhooks:test", "wh_1"), 0);
    assert_int_equal(PARSE("webhooks:deliveries", "wh_1", "--limit", "50", "--format", "json"), 0);
    assert_int_equal(ctl_arg_int(&a, "limit", 0), 50);
    assert_int_equal(PARSE("webhooks:stats", "wh_1", "--format", "json"), 0);
    assert_int_equal(PARSE("webhooks:trigger", "--event", "custom", "--data",
                           "{\"message\":\"test\"}", "--metadata", "{\"source\":\"cli\"}"),
                     0);
    assert_int_equal(PARSE("webhooks:retry", "--webhook", "wh_1", "--delivery", "msg_2"), 0);
    assert_string_equal(ctl_arg(&a, "delivery"), "msg_2");
    assert_int_equal(PARSE("webhooks:pause", "wh_1"), 0);
    assert_int_equal(PARSE("webhooks:resume", "wh_1"), 0);
}

static void test_equals_form_and_order(void **state)
{
    assert_int_equal(PARSE("--format=json", "webhooks:info", "--url=http://x", "id1"), 0);
    /* webhooks:info has no --url of its own: this one is the gateway's. */
    assert_string_equal(ctl_arg_global(&a, "url"), "http://x");
    assert_string_equal(a.arg, "id1");
    assert_int_equal(PARSE("--url", "http://gw", "webhooks:create", "--url", "http://ep",
                           "--events", "*"),
                     0);
    assert_string_equal(ctl_arg_global(&a, "url"), "http://gw");
    assert_string_equal(ctl_arg(&a, "url"), "http://ep");
    /* The last of a repeated option wins. */
    assert_int_equal(PARSE("webhooks:list", "--limit", "5", "--limit", "7"), 0);
    assert_int_equal(ctl_arg_int(&a, "limit", 0), 7);
    /* After --, a dash-led word is the argument. */
    assert_int_equal(PARSE("webhooks:info", "--", "-odd-id"), 0);
    assert_string_equal(a.arg, "-odd-id");
}

static void test_usage_errors(void **state)
{
    assert_int_equal(PARSE("webhooks:frobnicate"), -1);
    assert_non_null(strstr(err, "unknown command 'webhooks:frobnicate'"));
    assert_int_equal(PARSE("webhooks:list", "--bogus"), -1);
    assert_non_null(strstr(err, "unknown option '--bogus'"));
    assert_int_equal(PARSE("webhooks:list", "--status", "sleeping"), -1);
    assert_non_null(strstr(err, "active|inactive|paused|disabled"));
    assert_int_equal(PARSE("webhooks:list", "--limit", "ten"), -1);
    assert_int_equal(PARSE("webhooks:list", "--limit", "-1"), -1);
    assert_int_equal(PARSE("webhooks:list", "--limit"), -1);
    assert_non_null(strstr(err, "needs a value"));
    assert_int_equal(PARSE("webhooks:info"), -1);
    assert_non_null(strstr(err, "missing <webhook-id>"));
    assert_int_equal(PARSE("webhooks:info", "a", "b"), -1);
    assert_int_equal(PARSE("webhooks:list", "extra"), -1);
    assert_int_equal(PARSE("webhooks:create", "--url", "http://x"), -1);
    assert_non_null(strstr(err, "--events is required"));
    assert_int_equal(PARSE("webhooks:retry", "--webhook", "w"), -1);
    assert_non_null(strstr(err, "--delivery is required"));
    assert_int_equal(PARSE("webhooks:delete", "w", "--force=yes"), -1);
    assert_int_equal(PARSE("webhooks:list", "-x"), -1);
    assert_int_equal(PARSE("completion", "fish"), -1);
    assert_int_equal(PARSE("--format", "yaml", "webhooks:list"), -1);
    assert_int_equal(parse(1, ARGV(NULL)), -1);
    assert_non_null(strstr(err, "no command"));
}

static void test_json_values_are_checked_without_echoing_them(void **state)
{
    assert_int_equal(PARSE("webhooks:create", "--url", "http://x", "--events", "*",
                           "--auth-credentials", "{\"token\":\"s3cr3t-value\""),
                     -1);
    assert_non_null(strstr(err, "--auth-credentials is not valid JSON"));
    assert_null(strstr(err, "s3cr3t-value"));
    assert_int_equal(PARSE("webhooks:create", "--url", "http://x", "--events", "*", "--headers",
                           "{\"a\":\"1\",\"a\":\"2\"}"),
                     -1);
}

static void test_help_and_version_skip_checks(void **state)
{
    assert_int_equal(PARSE("webhooks:create", "--help"), 0);
    assert_true(a.help);
    assert_string_equal(a.cmd->name, "webhooks:create");
    assert_int_equal(PARSE("-h"), 0);
    assert_true(a.help);
    assert_null(a.cmd);
    assert_int_equal(PARSE("--version"), 0);
    assert_true(a.version);
    assert_int_equal(PARSE("help", "webhooks:list"), 0);
    assert_string_equal(a.arg, "webhooks:list");
    assert_int_equal(PARSE("help"), 0);
    assert_null(a.arg);
}

static void test_table_is_consistent(void **state)
{
    /* Every command has a handler, a group and a summary; names are unique; enum options
     * have choices; no command option takes the name of the help flags. */
    for (const struct ctl_command *c = ctl_commands; c->name; c++) {
        assert_non_null(c->run);
        assert_non_null(c->group);
        assert_non_null(c->summary);
        assert_ptr_equal(ctl_command_find(c->name), c);
        int n = 0;
        for (const struct ctl_opt *o = c->opts; o && o->name; o++, n++) {
            assert_true(o->type != CTL_OPT_ENUM || o->choices);
            assert_true(o->type == CTL_OPT_FLAG || o->metavar);
            assert_non_null(o->help);
            assert_true(strcmp(o->name, "help") != 0 && strcmp(o->name, "version") != 0);
            for (const struct ctl_opt *p = o + 1; p->name; p++)
                assert_string_not_equal(o->name, p->name);
        }
        assert_true(n < CTL_MAX_OPTS);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_create_line),
        cmocka_unit_test(test_seed_lines_parse),
        cmocka_unit_test(test_equals_form_and_order),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_json_values_are_checked_without_echoing_them),
        cmocka_unit_test(test_help_and_version_skip_checks),
        cmocka_unit_test(test_table_is_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
