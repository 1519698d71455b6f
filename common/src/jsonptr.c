/* JSON Pointer evaluation (see hl/jsonptr.h). Pure and allocation-free: each reference
 * token is unescaped into a bounded stack buffer. */
#include "hl/jsonptr.h"

#include <string.h>

#include "hl/banned.h"

bool hl_jsonptr_valid(const char *ptr)
{
    size_t n = strnlen(ptr, HL_JSONPTR_MAX + 1);
    if (n > HL_JSONPTR_MAX || (n > 0 && ptr[0] != '/'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (ptr[i] == '~' && ptr[i + 1] != '0' && ptr[i + 1] != '1')
            return false;
    return true;
}

/* Unescapes the token ptr[0..n) into out (NUL-terminated). Returns its length. */
static size_t unescape(const char *ptr, size_t n, char out[HL_JSONPTR_MAX + 1])
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (ptr[i] == '~') {
            out[k++] = ptr[i + 1] == '1' ? '/' : '~';
            i++;
        } else {
            out[k++] = ptr[i];
        }
    }
    out[k] = '\0';
    return k;
}

static bool array_index(const char *tok, size_t n, size_t *out)
{
    size_t v = 0;
    if (n == 0 || n > 9 || (n > 1 && tok[0] == '0'))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return false;
        v = v * 10 + (size_t)(tok[i] - '0');
    }
    *out = v;
    return true;
}

json_t *hl_jsonptr_get(json_t *root, const char *ptr)
{
    char tok[HL_JSONPTR_MAX + 1];
    if (!hl_jsonptr_valid(ptr))
        return NULL;
    json_t *cur = root;
    const char *p = ptr;
    while (cur && *p == '/') {
        p++;
        size_t n = strcspn(p, "/");
        size_t tlen = unescape(p, n, tok);
        p += n;
        if (json_is_object(cur)) {
            cur = json_object_getn(cur, tok, tlen);
        } else if (json_is_array(cur)) {
            size_t idx;
            cur = array_index(tok, tlen, &idx) ? json_array_get(cur, idx) : NULL;
        } else {
            cur = NULL;
        }
    }
    return cur;
}
