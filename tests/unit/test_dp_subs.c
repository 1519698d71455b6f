/* The dispatcher's webhook loader with sealed secrets: values open with the ring into the
 * signing keys and auth header; a value under a key the ring lacks keeps the webhook but
 * marks it secret_unavailable (naming the field and key id, never the value); plain text
 * is not accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dp_subs.h"
#include "hl/format.h"
#include "hl/keyring.h"
#include "hl/match.h"
#include "hl/sign.h"

#define ID "01a204fe-7900-7952-a695-b4f0f6ab8352"
#define K1 "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define K2 "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SK "whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk="

struct row {
    char *secret, *auth, *signing_key;
    const char *col[DP_WEBHOOK_NCOLS];
};

static char *seal(const struct hl_keyring *kr, const char *field, const char *plain)
{
    char aad[HL_AAD_MAX];
    hl_aad_webhook(aad, field, ID);
    return hl_keyring_seal(kr, aad, plain, strlen(plain));
}

/* A row as the loader's SELECT returns it, sealed under kr's primary key. */
static void make_row(struct row *r, const struct hl_keyring *kr, bool v1a)
{
    char auth[512];
    char *token = seal(kr, "auth.token", "tok-123");
    snprintf(auth, sizeof(auth), "{\"type\": \"bearer\", \"token\": \"%s\"}", token);
    free(token);
    r->secret = seal(kr, "secret", SECRET);
    r->auth = strdup(auth);
    r->signing_key = v1a ? seal(kr, "signing_key", SK) : NULL;
    const char *col[DP_WEBHOOK_NCOLS] = {
        ID, "t", "http://127.0.0.1/x", "[\"*\"]", r->secret, "active", "POST", "{}", r->auth,
        v1a ? "{\"standard\": true, \"v1a\": true}" : "{\"standard\": true}", NULL, NULL,
        "{}", "30000", NULL, NULL, "0", r->signing_key, NULL};
    memcpy(r->col, col, sizeof(col));
}

static void free_row(struct row *r)
{
    free(r->secret);
    free(r->auth);
    free(r->signing_key);
}

static void test_sealed_values_open_into_keys_and_headers(void **state)
{
    struct hl_keyring kr;
    struct row r;
    struct dp_webhook w;
    struct hl_secret want;
    char err[256], sig[HL_SIG_V1A_LEN];
    assert_int_equal(hl_keyring_parse(&kr, K1, err, sizeof(err)), HL_OK);
    make_row(&r, &kr, true);
    assert_true(dp_webhook_from_columns(r.col, &kr, &w, err, sizeof(err)));
    assert_null(w.secret_error);
    assert_int_equal(hl_whsec_decode(SECRET, &want, err, sizeof(err)), HL_OK);
    assert_int_equal(w.secret.len, want.len);
    assert_memory_equal(w.secret.key, want.key, want.len);
    assert_int_equal(w.nheader_lines, 1);
    assert_string_equal(w.header_lines[0], "Authorization: Bearer tok-123");
    assert_true(w.sig_v1a && w.has_signing_key);
    hl_sign_v1a(&w.signing_key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                "{\"test\": 2432232314}", 20, sig);
    assert_string_equal(sig, "v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHe"
                             "YGb7KaaBRdM5WqyeFiL8Ag==");
    dp_webhook_release(&w);
    free_row(&r);
    hl_keyring_release(&kr);
}

static void test_value_under_missing_key_marks_the_webhook_unavailable(void **state)
{
    struct hl_keyring k1, k2;
    struct row r;
    struct dp_webhook w;
    char err[256];
    assert_int_equal(hl_keyring_parse(&k1, K1, err, sizeof(err)), HL_OK);
    assert_int_equal(hl_keyring_parse(&k2, K2, err, sizeof(err)), HL_OK);
    make_row(&r, &k1, true);
    assert_true(dp_webhook_from_columns(r.col, &k2, &w, err, sizeof(err)));
    assert_non_null(w.secret_error);
    assert_non_null(strstr(w.secret_error, "secret"));
    assert_non_null(strstr(w.secret_error, "'k1'"));
    assert_null(strstr(w.secret_error, "whsec_"));
    assert_int_equal(w.nheader_lines, 0); /* no credential without its plain text */
    dp_webhook_release(&w);

    /* both keys in the ring: opens */
    struct hl_keyring both;
    assert_int_equal(hl_keyring_parse(&both, K2 "," K1, err, sizeof(err)), HL_OK);
    assert_true(dp_webhook_from_columns(r.col, &both, &w, err, sizeof(err)));
    assert_null(w.secret_error);
    dp_webhook_release(&w);
    free_row(&r);
    hl_keyring_release(&k1);
    hl_keyring_release(&k2);
    hl_keyring_release(&both);
}

static void test_plain_text_and_moved_values_do_not_open(void **state)
{
    struct hl_keyring kr;
    struct row r;
    struct dp_webhook w;
    char err[256];
    assert_int_equal(hl_keyring_parse(&kr, K1, err, sizeof(err)), HL_OK);
    make_row(&r, &kr, false);
    r.col[4] = SECRET; /* plain text, as an old version stored it */
    assert_true(dp_webhook_from_columns(r.col, &kr, &w, err, sizeof(err)));
    assert_non_null(w.secret_error);
    assert_null(strstr(w.secret_error, "MfKQ9r8GKYq"));
    dp_webhook_release(&w);
    /* the sealed token copied into the secret column: the AAD does not match */
    char *token = seal(&kr, "auth.token", SECRET);
    r.col[4] = token;
    assert_true(dp_webhook_from_columns(r.col, &kr, &w, err, sizeof(err)));
    assert_non_null(w.secret_error);
    dp_webhook_release(&w);
    free(token);
    free_row(&r);
    hl_keyring_release(&kr);
}

/* Migration 0016's column and retry_policy.schedule_ms: a filter is compiled at load (one
 * that does not compile makes the webhook unusable, never unfiltered); a schedule sets the
 * attempts to one more than its length. */
static void test_filter_and_schedule_load(void **state)
{
    struct hl_keyring kr;
    struct row r;
    struct dp_webhook w;
    char err[256];
    assert_int_equal(hl_keyring_parse(&kr, K1, err, sizeof(err)), HL_OK);
    make_row(&r, &kr, false);
    r.col[12] = "{\"strategy\": \"fixed\", \"max_attempts\": 3, \"schedule_ms\": [60000, 7200000]}";
    r.col[19] = "{\"path\": \"/data/n\", \"op\": \"gt\", \"value\": 1}";
    assert_true(dp_webhook_from_columns(r.col, &kr, &w, err, sizeof(err)));
    assert_int_equal(w.retry.nschedule, 2);
    assert_int_equal(w.retry.max_attempts, 3);
    assert_int_equal(w.retry.schedule_ms[1], 7200000);
    assert_non_null(w.filter);
    json_t *ev = json_loads("{\"data\": {\"n\": 2}}", 0, NULL);
    assert_true(hl_filter_match(w.filter, ev));
    json_decref(ev);
    dp_webhook_release(&w);

    r.col[12] = "{\"schedule_ms\": null}";
    r.col[19] = NULL;
    assert_true(dp_webhook_from_columns(r.col, &kr, &w, err, sizeof(err)));
    assert_int_equal(w.retry.nschedule, 0);
    assert_int_equal(w.retry.max_attempts, 6);
    assert_null(w.filter);
    dp_webhook_release(&w);

    r.col[19] = "{\"path\": \"/data/n\", \"op\": \"like\", \"value\": 1}";
    assert_false(dp_webhook_from_columns(r.col, &kr, &w, err, sizeof(err)));
    assert_non_null(strstr(err, "filter"));
    free_row(&r);
    hl_keyring_release(&kr);
}

/* A stored format compiles at load; its signature key is the sealed shared secret, or the
 * webhook's secret as text without one; a format that does not compile makes the row
 * unusable. */
static void test_format_compiles_at_load_with_its_key(void **state)
{
    struct hl_keyring kr;
    struct row r;
    struct dp_webhook w;
    char err[256], fmt[512];
    assert_int_equal(hl_keyring_parse(&kr, K1, err, sizeof(err)), HL_OK);
    make_row(&r, &kr, false);
    char *shared = seal(&kr, "format.secret", "plain-shared-secret");
    snprintf(fmt, sizeof(fmt), "{\"name\": \"stacksos\", \"secret\": \"%s\"}", shared);
    r.col[20] = fmt;
    assert_true(dp_webhook_from_columns(r.col, &kr, &w, err, sizeof(err)));
    assert_null(w.secret_error);
    assert_non_null(w.format);
    assert_string_equal(w.format->sig_header, "x-stacksos-signature");
    assert_int_equal(w.format_key.len, 19);
    assert_memory_equal(w.format_key.ptr, "plain-shared-secret", 19);
    dp_webhook_release(&w);

    r.col[20] = "{\"name\": \"epic81\"}";
    assert_true(dp_webhook_from_columns(r.col, &kr, &w, err, sizeof(err)));
    assert_int_equal(w.format_key.len, strlen(SECRET));
    assert_memory_equal(w.format_key.ptr, SECRET, strlen(SECRET));
    dp_webhook_release(&w);

    r.col[20] = NULL;
    assert_true(dp_webhook_from_columns(r.col, &kr, &w, err, sizeof(err)));
    assert_null(w.format); /* the standard path */
    dp_webhook_release(&w);

    r.col[20] = "{\"body\": \"{{nope}}\"}";
    assert_false(dp_webhook_from_columns(r.col, &kr, &w, err, sizeof(err)));
    assert_non_null(strstr(err, "unknown placeholder"));
    free(shared);
    free_row(&r);
    hl_keyring_release(&kr);
}

/* A tenant's webhooks are a range of the sorted snapshot, found by bisection at both ends;
 * a webhook is found in its tenant's range only. */
static void test_tenant_range_and_find(void **state)
{
    (void)state;
    static const char *const rows[][2] = {
        {"a", "1"}, {"b", "1"}, {"b", "2"}, {"b", "3"}, {"b", "4"}, {"b", "5"},
        {"c", "1"}, {"c", "2"}, {"c", "3"},
    };
    struct dp_webhook hooks[9];
    memset(hooks, 0, sizeof(hooks));
    for (size_t i = 0; i < 9; i++) {
        hooks[i].tenant = (char *)rows[i][0];
        hooks[i].id = (char *)rows[i][1];
    }
    struct dp_snapshot snap = {.n = 9, .hooks = hooks};
    size_t count;
    assert_int_equal(dp_snapshot_tenant(&snap, "a", &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(dp_snapshot_tenant(&snap, "b", &count), 1);
    assert_int_equal(count, 5);
    assert_int_equal(dp_snapshot_tenant(&snap, "c", &count), 6);
    assert_int_equal(count, 3);
    dp_snapshot_tenant(&snap, "bb", &count);
    assert_int_equal(count, 0);
    dp_snapshot_tenant(&snap, "z", &count);
    assert_int_equal(count, 0);
    for (size_t i = 0; i < 9; i++)
        assert_ptr_equal(dp_snapshot_find(&snap, rows[i][0], rows[i][1]), &hooks[i]);
    assert_null(dp_snapshot_find(&snap, "a", "2"));
    assert_null(dp_snapshot_find(&snap, "c", "4"));
    assert_null(dp_snapshot_find(&snap, "0", "1"));
    struct dp_snapshot empty = {0};
    assert_null(dp_snapshot_find(&empty, "a", "1"));
}

/* dp_snapshot_matching gives what checking every webhook of the tenant would, in the same
 * order, whether it scans (a small tenant) or looks the event type up in the pattern index
 * (a large one): wildcards, prefixes at every depth, a prefix that needs more after its
 * dot, near misses ("x.yy" against "x.y"), and webhooks matched by two of their patterns
 * listed once. */
static void test_matching_by_index_is_matching_by_scan(void **state)
{
    (void)state;
    static const char *const pats[] = {"*",   "x.*",   "x.y.*", "x.y.z", "x.y",    "y.*", "y.x",
                                       "x",   "x.yy",  "xx.*",  "x.y.z.*", "z.q", "y"};
    static const char *const types[] = {"x",     "x.y",  "x.y.z", "x.y.z.w", "y.x", "xx.a",
                                        "x.yy",  "y",    "z.q",   "q",       "x.yy.z", "xx"};
    static const char *const tenants[] = {"a", "b", "c"};
    const size_t per_tenant[] = {3, 200, 40};
    enum { NHOOKS = 243 };
    static struct dp_webhook hooks[NHOOKS];
    static char ids[NHOOKS][24];
    static char *events[NHOOKS][3];
    memset(hooks, 0, sizeof(hooks));
    unsigned seed = 7;
    size_t h = 0;
    for (size_t t = 0; t < 3; t++) {
        for (size_t i = 0; i < per_tenant[t]; i++, h++) {
            snprintf(ids[h], sizeof(ids[h]), "%04zu", i); /* sorted within the tenant */
            hooks[h].tenant = (char *)tenants[t];
            hooks[h].id = ids[h];
            hooks[h].events = events[h];
            seed = seed * 1103515245u + 12345u;
            hooks[h].nevents = (seed >> 16) % 4; /* none to three patterns */
            for (size_t k = 0; k < hooks[h].nevents; k++) {
                seed = seed * 1103515245u + 12345u;
                events[h][k] = (char *)pats[(seed >> 16) % (sizeof(pats) / sizeof(pats[0]))];
            }
        }
    }
    struct dp_snapshot snap = {.n = NHOOKS, .hooks = hooks};
    dp_snapshot_index(&snap);
    assert_non_null(snap.patterns);
    struct dp_matches m;
    dp_matches_init(&m);
    size_t matched = 0;
    for (size_t t = 0; t < 3; t++) {
        for (size_t y = 0; y < sizeof(types) / sizeof(types[0]); y++) {
            dp_snapshot_matching(&snap, tenants[t], types[y], &m);
            size_t count, first = dp_snapshot_tenant(&snap, tenants[t], &count), k = 0;
            for (size_t i = first; i < first + count; i++) {
                if (!hl_event_patterns_match(hooks[i].events, hooks[i].nevents, types[y]))
                    continue;
                if (k >= m.n || m.idx[k] != i)
                    fail_msg("tenant %s, type %s: webhook %zu missing or out of order",
                             tenants[t], types[y], i);
                k++;
            }
            if (k != m.n)
                fail_msg("tenant %s, type %s: %zu matches, the scan finds %zu", tenants[t],
                         types[y], m.n, k);
            matched += m.n;
        }
    }
    assert_true(matched > 200); /* the patterns above do match, many times */
    dp_snapshot_matching(&snap, "none", "x.y", &m);
    assert_int_equal(m.n, 0);
    dp_matches_release(&m);
    free(snap.patterns);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sealed_values_open_into_keys_and_headers),
        cmocka_unit_test(test_filter_and_schedule_load),
        cmocka_unit_test(test_value_under_missing_key_marks_the_webhook_unavailable),
        cmocka_unit_test(test_plain_text_and_moved_values_do_not_open),
        cmocka_unit_test(test_format_compiles_at_load_with_its_key),
        cmocka_unit_test(test_tenant_range_and_find),
        cmocka_unit_test(test_matching_by_index_is_matching_by_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
