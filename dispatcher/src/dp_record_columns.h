/* The members of an attempt record (dp_attempt_record.h) that the attempt log writes, in
 * the order of the writer's statement parameters (dp_attemptlog.c), and where each one's
 * value is in a record's text. Header only: the encoder, the direct path and the writer
 * share it. */
#ifndef DP_RECORD_COLUMNS_H
#define DP_RECORD_COLUMNS_H

#include "hl/json.h"

enum dp_attemptlog_column {
    DP_AL_DELIVERY_ID, DP_AL_TENANT, DP_AL_WEBHOOK_ID, DP_AL_EVENT_ID, DP_AL_EVENT_TYPE,
    DP_AL_STATUS, DP_AL_ATTEMPT_NO, DP_AL_STARTED_MS, DP_AL_FINISHED_MS, DP_AL_HTTP_STATUS,
    DP_AL_NEXT_ATTEMPT_MS, DP_AL_RESPONSE_EXCERPT, DP_AL_ERROR_CLASS, DP_AL_ERROR,
    DP_AL_DISABLE_REASON, DP_AL_DISABLE_VERSION_MS, DP_AL_EVENT,
    DP_ATTEMPTLOG_COLUMNS
};

/* Where each member's value text is within one record: spans[c] for column c, as
 * hl_json_members sets them (len 0: absent). */
struct dp_record_spans {
    struct hl_json_span sp[DP_ATTEMPTLOG_COLUMNS];
};

#endif
