/* Fuzzes delivery-format compilation (hl/format.h, hl/template.h): tenants send formats
 * with their webhooks, so the checker and the template compiler see hostile documents
 * (odd placeholders, deep nesting, huge objects). A format that passes the check is
 * compiled again, as a dispatcher does, and rendered against a fixed envelope. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "hl/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *given = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!given)
        return 0;
    static json_t *env;
    if (!env)
        env = json_loads("{\"id\":\"e1\",\"event\":\"a.b\",\"tenant\":\"t\","
                         "\"timestamp\":\"2026-02-25T15:00:00.000Z\",\"actor_id\":1,"
                         "\"data\":{\"a\":[1,{\"b\":\"x\\ny\"}],\"c\":null},\"metadata\":{}}",
                         0, NULL);
    json_t *stored = NULL;
    struct hl_template_error e;
    if (hl_format_check(given, &stored, &e) == HL_OK) {
        struct hl_format *f = NULL;
        if (hl_format_compile(stored, &f, &e) != HL_OK)
            abort(); /* what the check stored must compile */
        if (f) {
            struct hl_template_ctx c = {.envelope = env, .delivery_id = "d", .webhook_id = "w"};
            struct hl_buf b = HL_BUF_INIT;
            if (f->body) {
                hl_template_render(f->body, &c, &b);
                json_t *back = json_loadb(b.ptr, b.len, JSON_DECODE_ANY, NULL);
                if (!back)
                    abort(); /* a rendered body is always JSON */
                json_decref(back);
            }
            hl_buf_clear(&b);
            hl_format_render_headers(f, &c, &b);
            hl_format_sign(f, "key", 3, "body", 4, &b);
            hl_buf_release(&b);
            hl_format_free(f);
        }
        json_decref(stored);
    } else if (stored) {
        abort(); /* failure must leave *stored NULL */
    }
    json_decref(given);
    return 0;
}
