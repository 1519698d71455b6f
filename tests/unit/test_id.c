/* Identifiers: UUIDv7 shape and order, and delivery ids that are stable per
 * tenant x event x webhook (what lets receivers dedupe retries and redeliveries). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hl/id.h"

static void test_uuid_v7_shape_and_order(void **state)
{
    char a[HL_UUID_LEN], b[HL_UUID_LEN];
    hl_uuid_v7(a);
    hl_uuid_v7(b);
    assert_int_equal(strlen(a), 36);
    assert_int_equal(a[14], '7'); /* version nibble */
    assert_true(strchr("89ab", a[19]) != NULL); /* RFC 9562 variant */
    assert_string_not_equal(a, b);
    /* The first 48 bits are the millisecond clock, so later ids never sort earlier. */
    assert_true(strncmp(a, b, 8) <= 0);
}

/* Ids come from a per-thread block of CSPRNG bytes: across several refills every id is
 * well-formed and unique, and the random part is never the wiped (zero) block. */
static void test_uuid_v7_unique_across_random_block_refills(void **state)
{
    enum { N = 2000 }; /* 10 bytes each: ~5 refills of the 4 KB block */
    static char ids[N][HL_UUID_LEN];
    for (int i = 0; i < N; i++) {
        hl_uuid_v7(ids[i]);
        assert_int_equal(strlen(ids[i]), 36);
        assert_int_equal(ids[i][14], '7');
        assert_true(strchr("89ab", ids[i][19]) != NULL);
        /* the last 12 hex digits are purely random: 48 zero bits would mean a wiped slice */
        assert_string_not_equal(ids[i] + 24, "000000000000");
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            assert_string_not_equal(ids[i], ids[j]);
}

static void test_delivery_id_is_stable_and_distinct(void **state)
{
    char d1[HL_DELIVERY_ID_LEN], d2[HL_DELIVERY_ID_LEN], d3[HL_DELIVERY_ID_LEN],
        d4[HL_DELIVERY_ID_LEN];
    hl_delivery_id("default", "evt_1", "wh_a", d1);
    hl_delivery_id("default", "evt_1", "wh_a", d2);
    hl_delivery_id("default", "evt_1", "wh_b", d3);
    hl_delivery_id("default", "evt_1w", "h_a", d4);
    assert_string_equal(d1, d2);
    assert_string_not_equal(d1, d3);
    assert_string_not_equal(d1, d4);
    assert_int_equal(strncmp(d1, "msg_", 4), 0);
    assert_int_equal(strlen(d1), 36);
    /* the derivation itself: ids in Kafka, PostgreSQL and receivers' dedup stores must not
     * change between versions (sha256 of the NUL-terminated parts, first 16 bytes) */
    assert_string_equal(d1, "msg_3d0d90eada8f2417f4477b6a907fcc00");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_v7_shape_and_order),
        cmocka_unit_test(test_uuid_v7_unique_across_random_block_refills),
        cmocka_unit_test(test_delivery_id_is_stable_and_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
