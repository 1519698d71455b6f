/* A parser of pgoutput, PostgreSQL's built-in logical decoding output plugin, protocol
 * version 1 ("Logical Replication Message Formats" in the PostgreSQL manual), and of the
 * replication stream's CopyData wrappers around it (XLogData 'w', keepalive 'k').
 *
 * Pure: no I/O, no libpq. Input comes from the network of a user's database, so every
 * length is checked against the message's end, and a message that breaks the format is
 * refused with a reason (the stream then reconnects, it never guesses). Fuzzed by
 * tests/fuzz/fuzz_pgoutput.c, unit-tested in tests/unit/test_cdc_pgoutput.c.
 *
 * Relation messages are kept in the parser's cache (the server sends one before the first
 * change of a relation in a session, and again when it changes); Insert, Update and Delete
 * messages are resolved against it. One parser per replication connection.
 * @locality the stream thread that owns it. */
#ifndef CDC_PGOUTPUT_H
#define CDC_PGOUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hl/err.h"

/* Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
#define CDC_PG_EPOCH_US INT64_C(946684800000000)

struct cdc_column {
    char *name;
    uint32_t type; /* pg_type OID */
    int32_t typmod;
    bool key; /* part of the replica identity */
};

struct cdc_relation {
    uint32_t id;
    char *schema;
    char *name;
    char replident; /* 'd' default (primary key), 'n' nothing, 'f' full, 'i' index */
    int ncols;
    struct cdc_column *cols;
};

typedef enum { CDC_VAL_NULL, CDC_VAL_UNCHANGED, CDC_VAL_TEXT } cdc_val_kind;

/* One column's value; data points into the message (not NUL-terminated). */
struct cdc_value {
    cdc_val_kind kind;
    const char *data;
    size_t len;
};

struct cdc_tuple {
    int ncols;
    struct cdc_value *vals; /* owned by the parser, valid until its next parse */
};

typedef enum {
    CDC_MSG_BEGIN,
    CDC_MSG_COMMIT,
    CDC_MSG_RELATION,
    CDC_MSG_INSERT,
    CDC_MSG_UPDATE,
    CDC_MSG_DELETE,
    CDC_MSG_TRUNCATE,
    CDC_MSG_OTHER, /* Origin, Type, logical Message: nothing to publish */
} cdc_msg_kind;

struct cdc_msg {
    cdc_msg_kind kind;
    /* Begin: final_lsn (the commit's LSN), commit_ts, xid. Commit: commit_lsn, end_lsn,
     * commit_ts. Timestamps are microseconds since the Unix epoch. */
    uint64_t final_lsn, commit_lsn, end_lsn;
    int64_t commit_ts_us;
    uint32_t xid;
    /* Relation, Insert, Update, Delete: the relation (in the parser's cache). */
    const struct cdc_relation *rel;
    /* Update, Delete: 'K' (old key columns), 'O' (the whole old row: REPLICA IDENTITY FULL)
     * or 0 (an Update that changed no key column, without FULL). */
    char old_kind;
    struct cdc_tuple old_tuple;
    struct cdc_tuple new_tuple; /* Insert, Update */
};

struct cdc_parser {
    struct cdc_relation *rels;
    size_t nrels, caprels;
    struct cdc_value *vals; /* storage for old_tuple and new_tuple */
    size_t capvals;
};

void cdc_parser_init(struct cdc_parser *p);
void cdc_parser_release(struct cdc_parser *p);
/* Parses one pgoutput message (the payload of an XLogData). m's pointers are valid until
 * the next call. HL_EINVAL with a reason for a malformed message or a change of a relation
 * never described. */
hl_err cdc_pgoutput_parse(struct cdc_parser *p, const unsigned char *buf, size_t len,
                          struct cdc_msg *m, char *errbuf, size_t errlen);
/* The relation with that id, or NULL. */
const struct cdc_relation *cdc_parser_relation(const struct cdc_parser *p, uint32_t id);

/* CopyData messages of the replication stream. */
struct cdc_copy {
    char kind;          /* 'w' XLogData, 'k' primary keepalive */
    uint64_t wal_start; /* 'w': the LSN of the data */
    uint64_t wal_end;   /* the server's current end of WAL */
    bool reply_requested; /* 'k' */
    const unsigned char *data; /* 'w': the pgoutput message */
    size_t len;
};
hl_err cdc_copy_parse(const unsigned char *buf, size_t len, struct cdc_copy *c, char *errbuf,
                      size_t errlen);
/* Writes a standby status update ('r', 34 bytes) confirming flush_lsn as written, flushed
 * and applied; now_us is the Unix-epoch clock. */
#define CDC_STATUS_LEN 34
void cdc_status_update(unsigned char out[CDC_STATUS_LEN], uint64_t flush_lsn, int64_t now_us,
                       bool reply_requested);

/* "16/B374D848" (PostgreSQL's spelling of an LSN); out needs CDC_LSN_LEN bytes. */
#define CDC_LSN_LEN 24
void cdc_lsn_format(uint64_t lsn, char out[CDC_LSN_LEN]);
/* Parses that spelling; false when s is not one. */
bool cdc_lsn_parse(const char *s, uint64_t *lsn);

#endif
