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
    hl_delivery_id("default", "evt_1", "wh_a", 1, d1);
    hl_delivery_id("default", "evt_1", "wh_a", 1, d2);
    hl_delivery_id("default", "evt_1", "wh_b", 1, d3);
    hl_delivery_id("default", "evt_1w", "h_a", 1, d4);
    assert_string_equal(d1, d2);
    assert_string_not_equal(d1, d3);
    assert_string_not_equal(d1, d4);
    assert_int_equal(strncmp(d1, "msg_", 4), 0);
    assert_int_equal(strlen(d1), 36);
    /* the derivation itself: ids in Kafka, PostgreSQL and receivers' dedup stores must not
     * change between versions (sha256 of the NUL-terminated parts, first 16 bytes) */
    assert_string_equal(d1, "msg_3d0d90eada8f2417f4477b6a907fcc00");
}

/* Version 2 (the gateway's events): a UUIDv7 event id's time first, then 80 bits of the
 * same hash; any other id keeps version 1's. */
static void test_delivery_id_time_ordered(void **state)
{
    const char *eid = "0190a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b";
    char v1[HL_DELIVERY_ID_LEN], v2[HL_DELIVERY_ID_LEN], again[HL_DELIVERY_ID_LEN],
        other[HL_DELIVERY_ID_LEN];
    hl_delivery_id("default", eid, "wh_a", 1, v1);
    hl_delivery_id("default", eid, "wh_a", HL_ID_VERSION_TIME_ORDERED, v2);
    hl_delivery_id("default", eid, "wh_a", HL_ID_VERSION_TIME_ORDERED, again);
    hl_delivery_id("default", eid, "wh_b", HL_ID_VERSION_TIME_ORDERED, other);
    /* pinned, as version 1 is: receivers' dedup stores outlive any release */
    assert_string_equal(v1, "msg_84062d2ec0c4e7d78cd3340cf3a2dba0");
    assert_string_equal(v2, "msg_0190a1b2c3d484062d2ec0c4e7d78cd3");
    assert_string_equal(v2, again);
    assert_int_equal(strncmp(other, "msg_0190a1b2c3d4", 16), 0);
    assert_string_not_equal(other, v2);

    /* Ids of later events sort later, whatever the webhook. */
    char a[HL_UUID_LEN], b[HL_UUID_LEN], da[HL_DELIVERY_ID_LEN], db[HL_DELIVERY_ID_LEN];
    memcpy(a, "0190a1b2-c3d4-7fff-bfff-ffffffffffff", HL_UUID_LEN);
    memcpy(b, "0190a1b2-c3d5-7000-8000-000000000000", HL_UUID_LEN);
    hl_delivery_id("default", a, "wh_z", HL_ID_VERSION_TIME_ORDERED, da);
    hl_delivery_id("default", b, "wh_a", HL_ID_VERSION_TIME_ORDERED, db);
    assert_true(strcmp(da, db) < 0);

    /* An upper-case UUIDv7 from a client: its time in lower case, as every id is. */
    hl_delivery_id("default", "0190A1B2-C3D4-7E5F-8A6B-1C2D3E4F5A6B", "wh_a",
                   HL_ID_VERSION_TIME_ORDERED, da);
    assert_int_equal(strncmp(da, "msg_0190a1b2c3d4", 16), 0);
    assert_true(hl_delivery_id_like(da, strlen(da)));

    /* Not a UUIDv7 (a client id, a UUIDv4, a wrong variant): version 1's id. */
    const char *not_v7[] = {"evt_1", "0190a1b2-c3d4-4e5f-8a6b-1c2d3e4f5a6b",
                            "0190a1b2-c3d4-7e5f-ca6b-1c2d3e4f5a6b",
                            "0190a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b-x"};
    for (size_t i = 0; i < sizeof(not_v7) / sizeof(not_v7[0]); i++) {
        hl_delivery_id("default", not_v7[i], "wh_a", 1, v1);
        hl_delivery_id("default", not_v7[i], "wh_a", HL_ID_VERSION_TIME_ORDERED, v2);
        assert_string_equal(v1, v2);
    }
}

static void test_uuid_like(void **state)
{
    const char *yes[] = {"0190a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b",
                         "0190A1B2-C3D4-7E5F-8A6B-1C2D3E4F5A6B", "00000000-0000-0000-0000-000000000000"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(hl_uuid_like(yes[i], strlen(yes[i])));
    /* a non-hex letter on either side of the ranges, a misplaced dash, a short one, and
     * bytes that OR 0x20 into a hex digit's range ('@' -> '`', 'G' -> 'g') */
    const char *no[] = {"0190a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6g", "0190a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6G",
                        "0190a1b2c-3d4-7e5f-8a6b-1c2d3e4f5a6b", "0190a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6",
                        "0190a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6@", "0190a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6/",
                        "0190a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6:", "0190a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6\xc1"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(hl_uuid_like(no[i], strlen(no[i])));
}

static void test_id_version_header(void **state)
{
    assert_int_equal(hl_id_version_parse("2", 1), HL_ID_VERSION_TIME_ORDERED);
    assert_int_equal(hl_id_version_parse("1", 1), 1);
    assert_int_equal(hl_id_version_parse("22", 2), 1);
    assert_int_equal(hl_id_version_parse("2", 0), 1);
    assert_int_equal(hl_id_version_parse("x", 1), 1);
    assert_int_equal(hl_id_version_parse(NULL, 0), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_v7_shape_and_order),
        cmocka_unit_test(test_uuid_v7_unique_across_random_block_refills),
        cmocka_unit_test(test_delivery_id_is_stable_and_distinct),
        cmocka_unit_test(test_delivery_id_time_ordered),
        cmocka_unit_test(test_uuid_like),
        cmocka_unit_test(test_id_version_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
