/* libFuzzer target: the incoming webhook header parsers and verifiers (hl/inverify.h) and
 * JSON pointer evaluation (hl/jsonptr.h), on arbitrary bytes.
 *
 * The first byte picks what the rest is fed to, so one corpus exercises every parser; the
 * input is copied into a NUL-terminated buffer because headers arrive as C strings. The
 * verifiers run with a fixed key and body: the fuzzer looks for crashes, overreads and
 * hangs, not for forgeries (a random input matching an HMAC would be news of another kind).
 *
 * Build (the fuzz scripts glob tests/fuzz/fuzz_*.c):
 *   clang -fsanitize=fuzzer,address -Icommon/include tests/fuzz/fuzz_incoming_sig.c \
 *     build/common/libhlcommon.a $(pkg-config --libs openssl jansson) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hl/inverify.h"
#include "hl/jsonptr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char KEY[] = "fuzz-secret";
static const char BODY[] = "{\"type\":\"a.b\",\"list\":[1,{\"x/y\":\"z\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t op = data[0];
    char *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    char err[256];
    unsigned char out[HL_HMAC_MAX];
    size_t n;

    switch (op % 8) {
    case 0:
        hl_sig_decode(s, (op & 0x80) ? "sha256=" : NULL,
                      (op & 0x40) ? HL_SIGENC_BASE64 : HL_SIGENC_HEX, out, sizeof(out), &n, err,
                      sizeof(err));
        break;
    case 1: {
        struct hl_stripe_sig sig;
        hl_stripe_parse(s, &sig, err, sizeof(err));
        hl_inverify_stripe(KEY, strlen(KEY), s, BODY, strlen(BODY), 1700000000, 300, err,
                           sizeof(err));
        break;
    }
    case 2:
        hl_inverify_hmac((hl_hmac_alg)(op >> 3) % 3, (op & 0x80) ? HL_SIGENC_BASE64 : HL_SIGENC_HEX,
                         (op & 0x40) ? "v1=" : "", KEY, strlen(KEY), s, BODY, strlen(BODY), err,
                         sizeof(err));
        break;
    case 3: {
        char user[64], pass[64];
        hl_basic_parse(s, user, sizeof(user), pass, sizeof(pass), err, sizeof(err));
        hl_inverify_basic(s, "user", "password", err, sizeof(err));
        break;
    }
    case 4: {
        /* "<id>\n<timestamp>\n<signature>" as the three Standard Webhooks headers. */
        char *ts = strchr(s, '\n');
        char *sig = ts ? strchr(ts + 1, '\n') : NULL;
        if (sig) {
            *ts++ = '\0';
            *sig++ = '\0';
            hl_inverify_standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", s, ts, sig, BODY,
                                 strlen(BODY), 1614265330, 300, err, sizeof(err));
        }
        break;
    }
    case 5:
        hl_inverify_standard(s, "msg_1", "1614265330", "v1,AAAA", BODY, strlen(BODY),
                             1614265330, 300, err, sizeof(err));
        break;
    case 6:
        hl_inverify_api_key(s, "key-123", err, sizeof(err));
        break;
    case 7: {
        json_t *doc = json_loads(BODY, 0, NULL);
        hl_jsonptr_valid(s);
        hl_jsonptr_get(doc, s);
        json_decref(doc);
        break;
    }
    }
    free(s);
    return 0;
}
