/* Verifies a Hookline delivery with libhlcommon's hl_verify_v1 (docs/receiving.md).
 *
 *     verify-example <whsec_secret> <webhook-id> <webhook-timestamp> <webhook-signature> <body-file>
 *
 * Exit status 0 when the delivery verifies, 1 (with the reason) when it does not. */
#include <stdio.h>
#include <stdlib.h>

#include "hl/sign.h"
#include "hl/time.h"

int main(int argc, char **argv)
{
    struct hl_secret secret;
    static char body[1 << 20];
    char err[256];
    if (argc != 6) {
        fprintf(stderr, "usage: verify-example SECRET ID TIMESTAMP SIGNATURE BODY_FILE\n");
        return 2;
    }
    FILE *f = fopen(argv[5], "rb");
    if (!f)
        return 2;
    size_t len = fread(body, 1, sizeof(body), f);
    fclose(f);

    /* The HMAC key is the base64-decoded part after "whsec_". */
    if (hl_whsec_decode(argv[1], &secret, err, sizeof(err)) != HL_OK) {
        printf("rejected: %s\n", err);
        return 1;
    }
    /* Checks the timestamp (5 min) and every "v1," entry, comparing in constant time. */
    if (hl_verify_v1(&secret, argv[2], argv[3], argv[4], body, len, hl_now_ms() / 1000,
                     HL_VERIFY_TOLERANCE_S, err, sizeof(err)) != HL_OK) {
        printf("rejected: %s\n", err);
        return 1;
    }
    printf("ok\n");
    return 0;
}
