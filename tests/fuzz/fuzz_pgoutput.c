/* Fuzzes what hookline-cdc does with the replication stream of a user's database, which
 * whoever controls that database controls: the input is a sequence of messages, each a
 * 2-byte big-endian length and that many bytes, fed to one parser (so a Relation can
 * describe the table a later Insert changes). Each parsed change becomes an event
 * (cdc_event_build, every type conversion included) whose envelope must be a JSON object;
 * each message is also tried as a CopyData wrapper. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdc_event.h"
#include "cdc_pgoutput.h"
#include "cdc_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const tables =
        "[{\"name\":\"public.orders\",\"exclude_columns\":[\"secret\"]},"
        "{\"name\":\"public.t\",\"include_columns\":[\"id\",\"v\"]}]";
    struct cdc_source src;
    struct cdc_parser p;
    struct cdc_msg m;
    struct cdc_copy cp;
    struct hl_buf value = HL_BUF_INIT, key = HL_BUF_INIT;
    char err[256];
    cdc_source_init(&src, "0190a5b2-0000-7000-8000-000000000000", "t", tables,
                    "{schema}.{table}.{action}", err, sizeof(err));
    cdc_parser_init(&p);
    uint32_t seq = 0;
    while (size >= 2) {
        size_t n = (size_t)data[0] << 8 | data[1];
        data += 2;
        size -= 2;
        if (n > size)
            n = size;
        (void)cdc_copy_parse(data, n, &cp, err, sizeof(err));
        if (cdc_pgoutput_parse(&p, data, n, &m, err, sizeof(err)) == HL_OK &&
            (m.kind == CDC_MSG_INSERT || m.kind == CDC_MSG_UPDATE || m.kind == CDC_MSG_DELETE)) {
            const struct cdc_table_rule *rule = cdc_source_rule(&src, m.rel->schema, m.rel->name);
            if (!rule)
                rule = &src.rules[0]; /* build events of any table, to reach every type */
            struct cdc_change c = {
                .src = &src, .rule = rule, .msg = &m,
                .op = m.kind == CDC_MSG_INSERT ? CDC_OP_INSERT
                      : m.kind == CDC_MSG_UPDATE ? CDC_OP_UPDATE : CDC_OP_DELETE,
                .commit_lsn = 0x16B3748, .commit_ts_us = CDC_PG_EPOCH_US, .xid = 7,
                .seq = seq++, .now_ms = 1795000000000,
            };
            cdc_event_build(&c, &value, &key);
            json_t *back = json_loadb(value.ptr, value.len, 0, NULL);
            if (!back || !json_is_object(back) || !json_is_object(json_object_get(back, "data")))
                abort(); /* what we would produce is not an envelope */
            json_decref(back);
        }
        data += n;
        size -= n;
    }
    hl_buf_release(&value);
    hl_buf_release(&key);
    cdc_parser_release(&p);
    cdc_source_release(&src);
    return 0;
}
