/* Error convention shared by every module: functions return hl_err (0 on success, a
 * negative HL_E* on failure) and describe the failure in a caller-supplied errbuf. */
#ifndef HL_ERR_H
#define HL_ERR_H

typedef int hl_err;

enum {
    HL_OK = 0,
    HL_EINVAL = -1,    /* bad input from a caller or a client */
    HL_EIO = -2,       /* a peer (Kafka, PostgreSQL, HTTP) failed; may be retried */
    HL_ENOTFOUND = -3, /* the thing asked for does not exist */
    HL_ECONFLICT = -4, /* it exists already */
    HL_ETOOBIG = -5,   /* input over a configured limit */
};

#endif
