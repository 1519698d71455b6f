/* Event type names and subscription patterns: exact, "*" and "prefix.*". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hl/match.h"

static void test_exact(void **state)
{
    assert_true(hl_event_pattern_matches("order.created", "order.created"));
    assert_false(hl_event_pattern_matches("order.created", "order.created.v2"));
    assert_false(hl_event_pattern_matches("order.created", "order.create"));
}

static void test_star_matches_everything(void **state)
{
    assert_true(hl_event_pattern_matches("*", "order.created"));
    assert_true(hl_event_pattern_matches("*", "x"));
}

static void test_prefix_wildcard(void **state)
{
    assert_true(hl_event_pattern_matches("order.*", "order.created"));
    assert_true(hl_event_pattern_matches("order.*", "order.line.added"));
    assert_false(hl_event_pattern_matches("order.*", "order"));
    assert_false(hl_event_pattern_matches("order.*", "orders.created"));
    assert_false(hl_event_pattern_matches("order.*", "invoice.paid"));
}

static void test_any_of_list(void **state)
{
    char *pats[] = {"invoice.paid", "order.*"};
    assert_true(hl_event_patterns_match(pats, 2, "order.created"));
    assert_true(hl_event_patterns_match(pats, 2, "invoice.paid"));
    assert_false(hl_event_patterns_match(pats, 2, "invoice.created"));
    assert_false(hl_event_patterns_match(pats, 0, "order.created"));
}

static void test_type_validity(void **state)
{
    assert_true(hl_event_type_valid("order.created"));
    assert_true(hl_event_type_valid("a"));
    assert_true(hl_event_type_valid("k12.checkout-created_v2"));
    assert_false(hl_event_type_valid(""));
    assert_false(hl_event_type_valid(".order"));
    assert_false(hl_event_type_valid("order."));
    assert_false(hl_event_type_valid("order..created"));
    assert_false(hl_event_type_valid("order created"));
    assert_false(hl_event_type_valid("order.*"));
    assert_false(hl_event_type_valid("*"));
}

static void test_pattern_validity(void **state)
{
    assert_true(hl_event_pattern_valid("*"));
    assert_true(hl_event_pattern_valid("order.*"));
    assert_true(hl_event_pattern_valid("order.created"));
    assert_false(hl_event_pattern_valid(".*"));
    assert_false(hl_event_pattern_valid("order*"));
    assert_false(hl_event_pattern_valid("*.created"));
    assert_false(hl_event_pattern_valid("order.*.x"));
    assert_false(hl_event_pattern_valid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),           cmocka_unit_test(test_star_matches_everything),
        cmocka_unit_test(test_prefix_wildcard), cmocka_unit_test(test_any_of_list),
        cmocka_unit_test(test_type_validity),   cmocka_unit_test(test_pattern_validity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
