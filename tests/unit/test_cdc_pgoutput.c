/* cdc/src/cdc_pgoutput.c: pgoutput v1 messages built byte by byte from the manual's
 * formats (Begin, Relation, Insert, Update with old key, Delete, Commit), the replication
 * wrappers, refused malformed input, standby status updates and LSN spelling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cdc_pgoutput.h"

struct msg {
    unsigned char b[512];
    size_t n;
};

static void u8(struct msg *m, unsigned v)
{
    m->b[m->n++] = (unsigned char)v;
}
static void u16(struct msg *m, unsigned v)
{
    u8(m, v >> 8);
    u8(m, v & 0xff);
}
static void u32(struct msg *m, uint32_t v)
{
    u16(m, v >> 16);
    u16(m, v & 0xffff);
}
static void u64(struct msg *m, uint64_t v)
{
    u32(m, (uint32_t)(v >> 32));
    u32(m, (uint32_t)v);
}
static void str(struct msg *m, const char *s)
{
    memcpy(m->b + m->n, s, strlen(s) + 1);
    m->n += strlen(s) + 1;
}
static void text(struct msg *m, const char *s)
{
    u8(m, 't');
    u32(m, (uint32_t)strlen(s));
    memcpy(m->b + m->n, s, strlen(s));
    m->n += strlen(s);
}

/* Relation 16384 public.orders (id int4 key, note text). */
static struct msg relation(void)
{
    struct msg m = {0};
    u8(&m, 'R');
    u32(&m, 16384);
    str(&m, "public");
    str(&m, "orders");
    u8(&m, 'd');
    u16(&m, 2);
    u8(&m, 1);
    str(&m, "id");
    u32(&m, 23);
    u32(&m, 0xffffffff);
    u8(&m, 0);
    str(&m, "note");
    u32(&m, 25);
    u32(&m, 0xffffffff);
    return m;
}

static void parse_ok(struct cdc_parser *p, struct msg *m, struct cdc_msg *out)
{
    char err[256] = "";
    int rc = cdc_pgoutput_parse(p, m->b, m->n, out, err, sizeof(err));
    if (rc)
        fail_msg("parse failed: %s", err);
}

static void begin_commit(void **state)
{
    (void)state;
    struct cdc_parser p;
    struct cdc_msg out;
    cdc_parser_init(&p);
    struct msg b = {0};
    u8(&b, 'B');
    u64(&b, 0x16B3748);
    u64(&b, 1000000); /* 1 s after 2000-01-01 */
    u32(&b, 771);
    parse_ok(&p, &b, &out);
    assert_int_equal(out.kind, CDC_MSG_BEGIN);
    assert_int_equal(out.final_lsn, 0x16B3748);
    assert_int_equal(out.xid, 771);
    assert_int_equal(out.commit_ts_us, CDC_PG_EPOCH_US + 1000000);
    struct msg c = {0};
    u8(&c, 'C');
    u8(&c, 0);
    u64(&c, 0x16B3748);
    u64(&c, 0x16B3780);
    u64(&c, 1000000);
    parse_ok(&p, &c, &out);
    assert_int_equal(out.kind, CDC_MSG_COMMIT);
    assert_int_equal(out.commit_lsn, 0x16B3748);
    assert_int_equal(out.end_lsn, 0x16B3780);
    cdc_parser_release(&p);
}

static void relation_and_changes(void **state)
{
    (void)state;
    struct cdc_parser p;
    struct cdc_msg out;
    cdc_parser_init(&p);
    struct msg r = relation();
    parse_ok(&p, &r, &out);
    assert_int_equal(out.kind, CDC_MSG_RELATION);
    assert_string_equal(out.rel->schema, "public");
    assert_string_equal(out.rel->name, "orders");
    assert_int_equal(out.rel->ncols, 2);
    assert_true(out.rel->cols[0].key);
    assert_false(out.rel->cols[1].key);
    assert_int_equal(out.rel->cols[1].type, 25);

    struct msg ins = {0};
    u8(&ins, 'I');
    u32(&ins, 16384);
    u8(&ins, 'N');
    u16(&ins, 2);
    text(&ins, "42");
    u8(&ins, 'n');
    parse_ok(&p, &ins, &out);
    assert_int_equal(out.kind, CDC_MSG_INSERT);
    assert_int_equal(out.new_tuple.ncols, 2);
    assert_int_equal(out.new_tuple.vals[0].kind, CDC_VAL_TEXT);
    assert_memory_equal(out.new_tuple.vals[0].data, "42", 2);
    assert_int_equal(out.new_tuple.vals[1].kind, CDC_VAL_NULL);

    struct msg upd = {0};
    u8(&upd, 'U');
    u32(&upd, 16384);
    u8(&upd, 'K');
    u16(&upd, 2);
    text(&upd, "42");
    u8(&upd, 'n');
    u8(&upd, 'N');
    u16(&upd, 2);
    text(&upd, "43");
    u8(&upd, 'u'); /* unchanged TOAST */
    parse_ok(&p, &upd, &out);
    assert_int_equal(out.kind, CDC_MSG_UPDATE);
    assert_int_equal(out.old_kind, 'K');
    assert_memory_equal(out.old_tuple.vals[0].data, "42", 2);
    assert_memory_equal(out.new_tuple.vals[0].data, "43", 2);
    assert_int_equal(out.new_tuple.vals[1].kind, CDC_VAL_UNCHANGED);

    struct msg upd2 = {0}; /* no old tuple: the key did not change */
    u8(&upd2, 'U');
    u32(&upd2, 16384);
    u8(&upd2, 'N');
    u16(&upd2, 2);
    text(&upd2, "43");
    text(&upd2, "hello");
    parse_ok(&p, &upd2, &out);
    assert_int_equal(out.old_kind, 0);
    assert_memory_equal(out.new_tuple.vals[1].data, "hello", 5);

    struct msg del = {0};
    u8(&del, 'D');
    u32(&del, 16384);
    u8(&del, 'O');
    u16(&del, 2);
    text(&del, "43");
    text(&del, "hello");
    parse_ok(&p, &del, &out);
    assert_int_equal(out.kind, CDC_MSG_DELETE);
    assert_int_equal(out.old_kind, 'O');
    assert_int_equal(out.old_tuple.ncols, 2);

    /* A second Relation message for the same id replaces the first. */
    struct msg r2 = relation();
    r2.b[5 + 7 + 7 + 1 + 1] = 1; /* ncols 2 -> 1, and the message cut after column 0 */
    r2.n = 5 + 7 + 7 + 1 + 2 + 1 + 3 + 8;
    parse_ok(&p, &r2, &out);
    assert_int_equal(cdc_parser_relation(&p, 16384)->ncols, 1);
    assert_int_equal(p.nrels, 1);
    cdc_parser_release(&p);
}

static void malformed(void **state)
{
    (void)state;
    struct cdc_parser p;
    struct cdc_msg out;
    char err[256];
    cdc_parser_init(&p);
    /* a change of a relation never described */
    struct msg ins = {0};
    u8(&ins, 'I');
    u32(&ins, 99);
    u8(&ins, 'N');
    u16(&ins, 0);
    assert_int_equal(cdc_pgoutput_parse(&p, ins.b, ins.n, &out, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "never described"));

    struct msg r = relation();
    parse_ok(&p, &r, &out);
    /* every truncation of a Relation and an Insert is refused, never read past */
    for (size_t n = 0; n < r.n; n++) {
        struct cdc_parser q;
        cdc_parser_init(&q);
        assert_int_equal(cdc_pgoutput_parse(&q, r.b, n, &out, err, sizeof(err)), -1);
        cdc_parser_release(&q);
    }
    struct msg ok = {0};
    u8(&ok, 'I');
    u32(&ok, 16384);
    u8(&ok, 'N');
    u16(&ok, 2);
    text(&ok, "1");
    text(&ok, "x");
    for (size_t n = 0; n < ok.n; n++)
        assert_int_equal(cdc_pgoutput_parse(&p, ok.b, n, &out, err, sizeof(err)), -1);
    /* a column count other than the relation's */
    struct msg bad = {0};
    u8(&bad, 'I');
    u32(&bad, 16384);
    u8(&bad, 'N');
    u16(&bad, 1);
    text(&bad, "1");
    assert_int_equal(cdc_pgoutput_parse(&p, bad.b, bad.n, &out, err, sizeof(err)), -1);
    /* a text value longer than the message */
    struct msg longv = {0};
    u8(&longv, 'I');
    u32(&longv, 16384);
    u8(&longv, 'N');
    u16(&longv, 2);
    u8(&longv, 't');
    u32(&longv, 0x7fffffff);
    assert_int_equal(cdc_pgoutput_parse(&p, longv.b, longv.n, &out, err, sizeof(err)), -1);
    /* unknown kinds: of message, of value */
    unsigned char z = 'Z';
    assert_int_equal(cdc_pgoutput_parse(&p, &z, 1, &out, err, sizeof(err)), -1);
    assert_int_equal(cdc_pgoutput_parse(&p, &z, 0, &out, err, sizeof(err)), -1);
    ok.b[ok.n - 6] = 'b';
    assert_int_equal(cdc_pgoutput_parse(&p, ok.b, ok.n, &out, err, sizeof(err)), -1);
    /* a Delete without its old tuple */
    struct msg del = {0};
    u8(&del, 'D');
    u32(&del, 16384);
    u8(&del, 'N');
    u16(&del, 2);
    text(&del, "1");
    text(&del, "x");
    assert_int_equal(cdc_pgoutput_parse(&p, del.b, del.n, &out, err, sizeof(err)), -1);
    cdc_parser_release(&p);
}

static void copy_wrappers(void **state)
{
    (void)state;
    struct cdc_copy c;
    char err[128];
    struct msg w = {0};
    u8(&w, 'w');
    u64(&w, 0x100);
    u64(&w, 0x200);
    u64(&w, 0);
    u8(&w, 'B');
    assert_int_equal(cdc_copy_parse(w.b, w.n, &c, err, sizeof(err)), 0);
    assert_int_equal(c.kind, 'w');
    assert_int_equal(c.wal_start, 0x100);
    assert_int_equal(c.wal_end, 0x200);
    assert_int_equal(c.len, 1);
    assert_int_equal(c.data[0], 'B');
    struct msg k = {0};
    u8(&k, 'k');
    u64(&k, 0x300);
    u64(&k, 0);
    u8(&k, 1);
    assert_int_equal(cdc_copy_parse(k.b, k.n, &c, err, sizeof(err)), 0);
    assert_true(c.reply_requested);
    assert_int_equal(c.wal_end, 0x300);
    assert_int_equal(cdc_copy_parse(k.b, k.n - 1, &c, err, sizeof(err)), -1);
    assert_int_equal(cdc_copy_parse(w.b, 10, &c, err, sizeof(err)), -1);
    k.b[0] = 'x';
    assert_int_equal(cdc_copy_parse(k.b, k.n, &c, err, sizeof(err)), -1);
}

static void status_and_lsn(void **state)
{
    (void)state;
    unsigned char s[CDC_STATUS_LEN];
    cdc_status_update(s, 0x0000001600000010ULL, CDC_PG_EPOCH_US + 5, true);
    assert_int_equal(s[0], 'r');
    static const unsigned char lsn[8] = {0, 0, 0, 0x16, 0, 0, 0, 0x10};
    assert_memory_equal(s + 1, lsn, 8);
    assert_memory_equal(s + 9, lsn, 8);
    assert_memory_equal(s + 17, lsn, 8);
    assert_int_equal(s[32], 5);
    assert_int_equal(s[33], 1);

    char out[CDC_LSN_LEN];
    uint64_t v;
    cdc_lsn_format(0x16B374D848ULL, out);
    assert_string_equal(out, "16/B374D848");
    assert_true(cdc_lsn_parse("16/B374D848", &v));
    assert_int_equal(v, 0x16B374D848ULL);
    assert_true(cdc_lsn_parse("0/0", &v));
    assert_int_equal(v, 0);
    assert_false(cdc_lsn_parse("16B374D848", &v));
    assert_false(cdc_lsn_parse("1/", &v));
    assert_false(cdc_lsn_parse("-1/2", &v));
    assert_false(cdc_lsn_parse("1/2x", &v));
    assert_false(cdc_lsn_parse("100000000/0", &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(begin_commit),
        cmocka_unit_test(relation_and_changes),
        cmocka_unit_test(malformed),
        cmocka_unit_test(copy_wrappers),
        cmocka_unit_test(status_and_lsn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
