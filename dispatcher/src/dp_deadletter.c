/* Dead-lettering (see dp_deadletter.h): today a warn-level log line with everything an
 * operator needs to find the event again; later a record on <prefix>.dlq. */
#include "dp_deadletter.h"

#include "dp_consumer.h"
#include "hl/log.h"
#include "hl/banned.h"

void dp_dead_letter(const rd_kafka_message_t *rkm, const char *reason)
{
    hl_log(HL_LOG_WARN, "deadletter", "poison message at '%s' [%d] offset %lld: %s",
           rd_kafka_topic_name(rkm->rkt), (int)rkm->partition, (long long)rkm->offset, reason);
}

void dp_dead_letter_delivery(const struct dp_msg *msg, const char *delivery_id,
                             const char *webhook_id, int attempts, const char *last_error)
{
    hl_log(HL_LOG_WARN, "deliver",
           "delivery failed: delivery '%s' of event '%s' (%s, tenant '%s') to webhook '%s' "
           "after %d attempts: %s",
           delivery_id, msg->ev.id, msg->ev.type, msg->ev.tenant, webhook_id, attempts,
           last_error);
}
