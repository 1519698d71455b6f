/* pgoutput protocol version 1 and the replication CopyData wrappers (see cdc_pgoutput.h).
 * All integers are big-endian; strings are NUL-terminated. A reader struct walks a message
 * and remembers the first overrun, so each field read is one line and the check happens
 * once per message. */
#include "cdc_pgoutput.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/mem.h"
#include "hl/banned.h"

/* PostgreSQL's limit on columns of a table (MaxTupleAttributeNumber). */
#define MAX_COLUMNS 1664

struct reader {
    const unsigned char *p, *end;
    bool bad;
};

static bool take(struct reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return false;
    }
    return true;
}

static uint8_t u8(struct reader *r)
{
    if (!take(r, 1))
        return 0;
    return *r->p++;
}

static uint16_t u16(struct reader *r)
{
    if (!take(r, 2))
        return 0;
    uint16_t v = (uint16_t)((r->p[0] << 8) | r->p[1]);
    r->p += 2;
    return v;
}

static uint32_t u32(struct reader *r)
{
    if (!take(r, 4))
        return 0;
    uint32_t v = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) |
                 ((uint32_t)r->p[2] << 8) | r->p[3];
    r->p += 4;
    return v;
}

static uint64_t u64(struct reader *r)
{
    uint64_t hi = u32(r);
    return (hi << 32) | u32(r);
}

/* A NUL-terminated string in the message; NULL (and bad) when it has no terminator. */
static const char *str(struct reader *r)
{
    if (r->bad)
        return NULL;
    const unsigned char *nul = memchr(r->p, '\0', (size_t)(r->end - r->p));
    if (!nul) {
        r->bad = true;
        return NULL;
    }
    const char *s = (const char *)r->p;
    r->p = nul + 1;
    return s;
}

void cdc_parser_init(struct cdc_parser *p)
{
    memset(p, 0, sizeof(*p));
}

static void relation_release(struct cdc_relation *rel)
{
    for (int i = 0; i < rel->ncols; i++)
        free(rel->cols[i].name);
    free(rel->cols);
    free(rel->schema);
    free(rel->name);
    memset(rel, 0, sizeof(*rel));
}

void cdc_parser_release(struct cdc_parser *p)
{
    for (size_t i = 0; i < p->nrels; i++)
        relation_release(&p->rels[i]);
    free(p->rels);
    free(p->vals);
    memset(p, 0, sizeof(*p));
}

const struct cdc_relation *cdc_parser_relation(const struct cdc_parser *p, uint32_t id)
{
    for (size_t i = 0; i < p->nrels; i++)
        if (p->rels[i].id == id)
            return &p->rels[i];
    return NULL;
}

/* A PostgreSQL timestamp (microseconds since 2000) as Unix-epoch microseconds, saturating
 * rather than overflowing on a value no clock gives. */
static int64_t unix_us(uint64_t raw)
{
    int64_t v = (int64_t)raw;
    if (v > INT64_MAX - CDC_PG_EPOCH_US)
        return INT64_MAX;
    return v + CDC_PG_EPOCH_US;
}

static hl_err fail(char *errbuf, size_t errlen, const char *what, char kind)
{
    snprintf(errbuf, errlen, "malformed pgoutput %s message ('%c')", what,
             kind >= 0x20 && kind < 0x7f ? kind : '?');
    return HL_EINVAL;
}

static hl_err parse_relation(struct cdc_parser *p, struct reader *r, struct cdc_msg *m,
                             char *errbuf, size_t errlen)
{
    struct cdc_relation rel = {0};
    rel.id = u32(r);
    const char *schema = str(r), *name = str(r);
    rel.replident = (char)u8(r);
    int ncols = u16(r);
    if (r->bad || ncols > MAX_COLUMNS)
        return fail(errbuf, errlen, "Relation", 'R');
    rel.schema = hl_xstrdup(schema);
    rel.name = hl_xstrdup(name);
    rel.cols = hl_xcalloc(ncols ? (size_t)ncols : 1, sizeof(*rel.cols));
    for (int i = 0; i < ncols; i++) {
        struct cdc_column *c = &rel.cols[i];
        c->key = (u8(r) & 1) != 0;
        const char *cname = str(r);
        c->type = u32(r);
        c->typmod = (int32_t)u32(r);
        if (r->bad) {
            rel.ncols = i;
            relation_release(&rel);
            return fail(errbuf, errlen, "Relation", 'R');
        }
        c->name = hl_xstrdup(cname);
        rel.ncols = i + 1;
    }
    struct cdc_relation *slot = (struct cdc_relation *)cdc_parser_relation(p, rel.id);
    if (slot) {
        relation_release(slot);
    } else {
        if (p->nrels == p->caprels) {
            p->caprels = p->caprels ? 2 * p->caprels : 8;
            p->rels = hl_xrealloc(p->rels, p->caprels * sizeof(*p->rels));
        }
        slot = &p->rels[p->nrels++];
    }
    *slot = rel;
    m->rel = slot;
    return HL_OK;
}

/* TupleData into tuple, its values stored at p->vals[first..]. */
static bool parse_tuple(struct cdc_parser *p, struct reader *r, size_t first,
                        struct cdc_tuple *t)
{
    int n = u16(r);
    if (r->bad || n > MAX_COLUMNS)
        return false;
    if (first + (size_t)n > p->capvals) {
        p->capvals = first + (size_t)n + 16;
        p->vals = hl_xrealloc(p->vals, p->capvals * sizeof(*p->vals));
    }
    t->ncols = n;
    t->vals = NULL; /* set by the caller once both tuples are in place (realloc) */
    for (int i = 0; i < n; i++) {
        struct cdc_value *v = &p->vals[first + (size_t)i];
        char kind = (char)u8(r);
        v->data = NULL;
        v->len = 0;
        if (kind == 'n') {
            v->kind = CDC_VAL_NULL;
        } else if (kind == 'u') {
            v->kind = CDC_VAL_UNCHANGED;
        } else if (kind == 't') {
            uint32_t len = u32(r);
            if (!take(r, len))
                return false;
            v->kind = CDC_VAL_TEXT;
            v->data = (const char *)r->p;
            v->len = len;
            r->p += len;
        } else {
            return false; /* 'b' (binary) is never asked for; anything else is garbage */
        }
    }
    return !r->bad;
}

/* Insert, Update, Delete. */
static hl_err parse_change(struct cdc_parser *p, struct reader *r, char kind,
                           struct cdc_msg *m, char *errbuf, size_t errlen)
{
    const char *what = kind == 'I' ? "Insert" : kind == 'U' ? "Update" : "Delete";
    uint32_t relid = u32(r);
    if (r->bad)
        return fail(errbuf, errlen, what, kind);
    m->rel = cdc_parser_relation(p, relid);
    if (!m->rel) {
        snprintf(errbuf, errlen, "pgoutput %s of relation %" PRIu32 " that was never described",
                 what, relid);
        return HL_EINVAL;
    }
    size_t nold = 0;
    char tag = (char)u8(r);
    if (kind != 'I' && (tag == 'K' || tag == 'O')) {
        m->old_kind = tag;
        if (!parse_tuple(p, r, 0, &m->old_tuple))
            return fail(errbuf, errlen, what, kind);
        nold = (size_t)m->old_tuple.ncols;
        if (kind == 'U')
            tag = (char)u8(r);
    } else if (kind == 'D') {
        return fail(errbuf, errlen, what, kind);
    }
    if (kind != 'D') {
        if (tag != 'N' || !parse_tuple(p, r, nold, &m->new_tuple))
            return fail(errbuf, errlen, what, kind);
    }
    if (r->p != r->end)
        return fail(errbuf, errlen, what, kind);
    /* Both tuples are in place; p->vals no longer moves for this message. */
    if (m->old_kind)
        m->old_tuple.vals = p->vals;
    if (kind != 'D') /* p->vals is NULL when no tuple has a column: no offset then */
        m->new_tuple.vals = nold ? p->vals + nold : p->vals;
    if ((m->old_kind && m->old_tuple.ncols != m->rel->ncols) ||
        (kind != 'D' && m->new_tuple.ncols != m->rel->ncols)) {
        snprintf(errbuf, errlen, "pgoutput %s of %s.%s has a column count other than its "
                 "Relation's", what, m->rel->schema, m->rel->name);
        return HL_EINVAL;
    }
    return HL_OK;
}

hl_err cdc_pgoutput_parse(struct cdc_parser *p, const unsigned char *buf, size_t len,
                          struct cdc_msg *m, char *errbuf, size_t errlen)
{
    struct reader r = {buf, buf + len, false};
    memset(m, 0, sizeof(*m));
    char kind = (char)u8(&r);
    switch (kind) {
    case 'B':
        m->kind = CDC_MSG_BEGIN;
        m->final_lsn = u64(&r);
        m->commit_ts_us = unix_us(u64(&r));
        m->xid = u32(&r);
        return r.bad ? fail(errbuf, errlen, "Begin", kind) : HL_OK;
    case 'C':
        m->kind = CDC_MSG_COMMIT;
        (void)u8(&r); /* flags, unused */
        m->commit_lsn = u64(&r);
        m->end_lsn = u64(&r);
        m->commit_ts_us = unix_us(u64(&r));
        return r.bad ? fail(errbuf, errlen, "Commit", kind) : HL_OK;
    case 'R':
        m->kind = CDC_MSG_RELATION;
        return parse_relation(p, &r, m, errbuf, errlen);
    case 'I':
        m->kind = CDC_MSG_INSERT;
        return parse_change(p, &r, kind, m, errbuf, errlen);
    case 'U':
        m->kind = CDC_MSG_UPDATE;
        return parse_change(p, &r, kind, m, errbuf, errlen);
    case 'D':
        m->kind = CDC_MSG_DELETE;
        return parse_change(p, &r, kind, m, errbuf, errlen);
    case 'T':
        m->kind = CDC_MSG_TRUNCATE;
        return HL_OK;
    case 'O':
    case 'Y':
    case 'M':
        m->kind = CDC_MSG_OTHER;
        return HL_OK;
    default:
        snprintf(errbuf, errlen, "unknown pgoutput message type 0x%02x", (unsigned char)kind);
        return HL_EINVAL;
    }
}

hl_err cdc_copy_parse(const unsigned char *buf, size_t len, struct cdc_copy *c, char *errbuf,
                      size_t errlen)
{
    struct reader r = {buf, buf + len, false};
    memset(c, 0, sizeof(*c));
    c->kind = (char)u8(&r);
    if (c->kind == 'w') {
        c->wal_start = u64(&r);
        c->wal_end = u64(&r);
        (void)u64(&r); /* the server's clock */
        c->data = r.p;
        c->len = r.bad ? 0 : (size_t)(r.end - r.p);
    } else if (c->kind == 'k') {
        c->wal_end = u64(&r);
        (void)u64(&r);
        c->reply_requested = u8(&r) != 0;
    } else {
        snprintf(errbuf, errlen, "unknown replication message type 0x%02x",
                 (unsigned char)c->kind);
        return HL_EINVAL;
    }
    if (r.bad) {
        snprintf(errbuf, errlen, "truncated replication message '%c'", c->kind);
        return HL_EINVAL;
    }
    return HL_OK;
}

static void put64(unsigned char *out, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(v >> (56 - 8 * i));
}

void cdc_status_update(unsigned char out[CDC_STATUS_LEN], uint64_t flush_lsn, int64_t now_us,
                       bool reply_requested)
{
    out[0] = 'r';
    put64(out + 1, flush_lsn);  /* written */
    put64(out + 9, flush_lsn);  /* flushed: what the slot may forget */
    put64(out + 17, flush_lsn); /* applied */
    put64(out + 25, (uint64_t)(now_us - CDC_PG_EPOCH_US));
    out[33] = reply_requested ? 1 : 0;
}

void cdc_lsn_format(uint64_t lsn, char out[CDC_LSN_LEN])
{
    snprintf(out, CDC_LSN_LEN, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
}

bool cdc_lsn_parse(const char *s, uint64_t *lsn)
{
    char *end;
    if (!s || !*s)
        return false;
    unsigned long long hi = strtoull(s, &end, 16);
    if (end == s || *end != '/' || hi > UINT32_MAX)
        return false;
    const char *lo_s = end + 1;
    unsigned long long lo = strtoull(lo_s, &end, 16);
    if (end == lo_s || *end || lo > UINT32_MAX || *s == '-' || *lo_s == '-')
        return false;
    *lsn = ((uint64_t)hi << 32) | lo;
    return true;
}
