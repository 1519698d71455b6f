/* Kafka consumer and offset tracking (see dp_consumer.h for the invariant).
 *
 * A revoked partition waits in limbo until the next assignment. Eager rebalances (the
 * default range assignor), and every rebalance after a broker restart, revoke all
 * partitions and assign them again at once, mostly to the same members: a partition that
 * comes back to us carries on with its in-flight messages and offsets, and fetching
 * resumes after the last message we took, instead of starting again from the committed
 * offset and delivering everything in flight twice. That is safe whoever held the
 * partition meanwhile: we skip only messages we took ourselves, and store offsets only
 * for messages we finished. Before partitions are revoked, the attempts on the wire get
 * up to rebalance_drain_ms to end while the partitions are still ours (the drain,
 * dp_loop.c): what follows them is done, their offsets are stored and go with the
 * revoke's commit. A partition that does not come back is forgotten: its in-flight
 * messages are orphaned, because its new owner starts from the committed offset and
 * delivers them again. Those still on the wire after the drain run to the end (finishing
 * them stores nothing), a repeat which at-least-once allows and the stable webhook-id
 * lets receivers dedupe, and are recorded, but what would follow them (a retry, a dead
 * letter) is the new owner's; their deliveries not started yet are dropped
 * (dp_deliver.c), and while a partition is in limbo they wait (dp_msg_ownership). */
#include "dp_consumer.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_metrics.h"
#include "hl/id.h"
#include "hl/kafka.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/time.h"
#include "hl/banned.h"

/* fetch.wait.max.ms of a consumer of live topics, and the most for one of delay topics. */
#define LIVE_FETCH_WAIT_MS 50
#define DELAYED_FETCH_WAIT_MS 500

/* How long revoked partitions may wait for the assignment that decides them. */
#define LIMBO_MAX_MS 30000

struct dp_topic {
    char name[HL_TOPIC_MAX];
    struct dp_topic_spec spec;
    struct dp_partition **parts; /* indexed by partition id; NULL when not assigned */
    size_t nparts;
};

struct dp_partition {
    struct dp_consumer *c;
    struct dp_topic *t;
    int32_t id;
    rd_kafka_message_t *held; /* delay topics: the head, read but not yet due */
    rd_kafka_queue_t *queue;    /* this partition's messages, not forwarded */
    struct dp_offset_fifo fifo; /* in-flight messages in offset order */
    int64_t read_offset;        /* offset after the last message taken; -1 before any */
    bool dirty;                 /* fifo.next_offset not yet handed to librdkafka */
    bool limbo;                 /* revoked; back to us or forgotten at the next assignment */
    int64_t acted;              /* highest offset dp_msg_acted was called for; -1 */
};

struct dp_consumer {
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;
    struct dp_topic *topics;
    size_t ntopics;
    int wake_fd;
    /* every assigned partition, for round-robin intake (order changes on rebalance) */
    struct dp_partition **all;
    size_t nall;
    size_t next_part; /* round-robin cursor of dp_consumer_poll() */
    /* Messages that reached the consumer queue anyway, handed out before any other. */
    rd_kafka_message_t **strays;
    size_t nstrays;
    /* Revoked partitions until the next assignment (see the top of this file). */
    struct dp_partition **limbo;
    size_t nlimbo;
    int64_t limbo_since_ms; /* monotonic, when the oldest of them was revoked */
    bool frozen;
    void (*drain)(void *arg); /* dp_consumer_set_drain */
    void *drain_arg;
    dp_metrics_client role; /* the live topics' consumer or the retry tiers' */
    /* dp_consumer_events_share(): recomputed after each assignment */
    bool share_dirty;
    int events_total; /* partitions of <prefix>.events; 0 until known */
    double events_share;
};

static struct dp_topic *topic_get(struct dp_consumer *c, const char *name)
{
    for (size_t i = 0; i < c->ntopics; i++)
        if (strcmp(c->topics[i].name, name) == 0)
            return &c->topics[i];
    return NULL;
}

static struct dp_partition *part_get(struct dp_topic *t, int32_t id)
{
    return t && id >= 0 && (size_t)id < t->nparts ? t->parts[id] : NULL;
}

/* The partition (t, id) out of limbo, or NULL when it is not there. */
static struct dp_partition *limbo_take(struct dp_consumer *c, struct dp_topic *t, int32_t id)
{
    for (size_t i = 0; i < c->nlimbo; i++) {
        struct dp_partition *p = c->limbo[i];
        if (p->t == t && p->id == id) {
            c->limbo[i] = c->limbo[--c->nlimbo];
            return p;
        }
    }
    return NULL;
}

/* Assigns (t, id), out of limbo when it was there; returns it. */
static struct dp_partition *part_add(struct dp_consumer *c, struct dp_topic *t, int32_t id)
{
    if ((size_t)id >= t->nparts) {
        size_t n = (size_t)id + 1;
        t->parts = hl_xrealloc(t->parts, n * sizeof(*t->parts));
        memset(t->parts + t->nparts, 0, (n - t->nparts) * sizeof(*t->parts));
        t->nparts = n;
    }
    if (t->parts[id])
        return t->parts[id];
    struct dp_partition *p = limbo_take(c, t, id);
    if (p) {
        p->limbo = false;
    } else {
        p = hl_xcalloc(1, sizeof(*p));
        p->c = c;
        p->t = t;
        p->id = id;
        p->fifo.next_offset = -1;
        p->read_offset = -1;
        p->acted = -1;
    }
    /* Before the partition is assigned, so that no message of it reaches the consumer
     * queue (librdkafka keeps a forwarding the application set). */
    p->queue = rd_kafka_queue_get_partition(c->rk, t->name, id);
    if (p->queue) {
        rd_kafka_queue_forward(p->queue, NULL);
        rd_kafka_queue_io_event_enable(p->queue, c->wake_fd, "k", 1);
    } else {
        hl_log(HL_LOG_ERROR, "consumer", "no queue for '%s' [%d]", t->name, (int)id);
    }
    t->parts[id] = p;
    c->all = hl_xrealloc(c->all, (c->nall + 1) * sizeof(*c->all));
    c->all[c->nall++] = p;
    return p;
}

static void msg_free(struct dp_msg *m)
{
    hl_event_release(&m->ev);
    free(m->payload);
    free(m);
}

/* Detaches a partition from the assignment: out of the round-robin, its queue and held
 * message given back (what it fetched is fetched again from where it resumes). */
static void part_detach(struct dp_consumer *c, struct dp_partition *p)
{
    for (size_t i = 0; i < c->nall; i++)
        if (c->all[i] == p) {
            c->all[i] = c->all[--c->nall];
            break;
        }
    if (p->held) {
        rd_kafka_message_destroy(p->held);
        p->held = NULL;
    }
    /* librdkafka cannot close while the application holds a partition queue. */
    if (p->queue) {
        rd_kafka_queue_io_event_enable(p->queue, -1, NULL, 0);
        rd_kafka_queue_destroy(p->queue);
        p->queue = NULL;
    }
    p->t->parts[p->id] = NULL;
}

/* A revoked partition goes to limbo until the next assignment. */
static void part_park(struct dp_consumer *c, struct dp_topic *t, int32_t id)
{
    struct dp_partition *p = part_get(t, id);
    if (!p)
        return;
    part_detach(c, p);
    p->limbo = true;
    if (!c->nlimbo)
        c->limbo_since_ms = hl_mono_ms();
    c->limbo = hl_xrealloc(c->limbo, (c->nlimbo + 1) * sizeof(*c->limbo));
    c->limbo[c->nlimbo++] = p;
}

/* Forgets a detached partition; its unfinished messages become orphans that their
 * deliveries free. */
static void part_forget(struct dp_partition *p)
{
    struct dp_msg *m = p->fifo.head, *next;
    for (; m; m = next) {
        next = m->next;
        m->part = NULL;
        m->next = NULL;
        if (m->pending == 0)
            msg_free(m);
    }
    free(p);
}

static void part_drop(struct dp_consumer *c, struct dp_topic *t, int32_t id)
{
    struct dp_partition *p = part_get(t, id);
    if (!p)
        return;
    part_detach(c, p);
    part_forget(p);
}

/* Forgets what stayed in limbo: those partitions went to other members. */
static void limbo_clear(struct dp_consumer *c)
{
    if (c->nlimbo)
        hl_log(HL_LOG_DEBUG, "consumer", "%zu revoked partitions went elsewhere", c->nlimbo);
    for (size_t i = 0; i < c->nlimbo; i++)
        part_forget(c->limbo[i]);
    c->nlimbo = 0;
}

void dp_offset_fifo_push(struct dp_offset_fifo *f, struct dp_msg *m)
{
    m->next = NULL;
    if (f->tail)
        f->tail->next = m;
    else
        f->head = m;
    f->tail = m;
}

bool dp_offset_fifo_advance(struct dp_offset_fifo *f, void (*release)(struct dp_msg *))
{
    bool moved = false;
    while (f->head && f->head->pending == 0) {
        struct dp_msg *m = f->head;
        f->head = m->next;
        f->next_offset = m->offset + 1;
        moved = true;
        release(m);
    }
    if (!f->head)
        f->tail = NULL;
    return moved;
}

dp_msg_owner dp_msg_ownership(const struct dp_msg *msg)
{
    return !msg->part ? DP_MSG_GONE : msg->part->limbo ? DP_MSG_UNDECIDED : DP_MSG_OURS;
}

void dp_msg_acted(struct dp_msg *msg)
{
    if (msg->part && msg->offset > msg->part->acted)
        msg->part->acted = msg->offset;
}

bool dp_msg_before_acted(const struct dp_msg *msg)
{
    return msg->part && msg->offset <= msg->part->acted;
}

void dp_msg_done(struct dp_msg *msg)
{
    assert(msg->pending > 0);
    if (--msg->pending > 0)
        return;
    struct dp_partition *p = msg->part;
    if (!p) {
        msg_free(msg);
        return;
    }
    if (dp_offset_fifo_advance(&p->fifo, msg_free))
        p->dirty = !p->c->frozen;
}

void dp_consumer_store(struct dp_consumer *c)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    for (size_t i = 0; i < c->nall; i++) {
        struct dp_partition *p = c->all[i];
        if (!p->dirty || c->frozen)
            continue;
        if (!list)
            list = rd_kafka_topic_partition_list_new(4);
        rd_kafka_topic_partition_list_add(list, p->t->name, p->id)->offset =
            p->fifo.next_offset;
        p->dirty = false;
    }
    if (!list)
        return;
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, list);
    if (err)
        hl_log(HL_LOG_WARN, "consumer", "cannot store offsets: %s", rd_kafka_err2str(err));
    for (int i = 0; i < list->cnt; i++)
        if (list->elems[i].err)
            hl_log(HL_LOG_DEBUG, "consumer", "cannot store offset %lld of partition %d: %s",
                   (long long)list->elems[i].offset, (int)list->elems[i].partition,
                   rd_kafka_err2str(list->elems[i].err));
    rd_kafka_topic_partition_list_destroy(list);
}

static void log_partitions(const char *what, const rd_kafka_topic_partition_list_t *parts)
{
    char ids[4096]; /* every partition, for whoever reads the log (bench/run waits on it) */
    size_t k = 0;
    ids[0] = '\0';
    for (int i = 0; i < parts->cnt && k < sizeof(ids) - 16; i++)
        k += (size_t)snprintf(ids + k, sizeof(ids) - k, "%s%s:%d", i ? "," : "",
                              parts->elems[i].topic, (int)parts->elems[i].partition);
    hl_log(HL_LOG_INFO, "consumer", "%s partitions [%s]", what, ids);
}

/* Cooperative protocol (cooperative-sticky): only the partitions that move are assigned or
 * revoked, and the calls are incremental. Eager protocol (range, roundrobin): every
 * rebalance revokes the whole assignment and assigns the new one. Either way the attempts
 * on the wire get a moment to end (the drain), a revoked partition's stored offsets are
 * committed, and its work still unfinished is orphaned. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct dp_consumer *c = opaque;
    rd_kafka_error_t *error = NULL;
    const char *protocol = rd_kafka_rebalance_protocol(rk);
    bool eager = !protocol || strcmp(protocol, "COOPERATIVE") != 0;

    c->share_dirty = true;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_partitions("assigned", parts);
        dp_metrics_group_joined(c->role);
        size_t resumed = 0;
        for (int i = 0; i < parts->cnt; i++) {
            struct dp_topic *t = topic_get(c, parts->elems[i].topic);
            if (!t)
                continue;
            struct dp_partition *p = part_add(c, t, parts->elems[i].partition);
            /* back from limbo: on from the first message not taken yet */
            if (p->read_offset >= 0) {
                parts->elems[i].offset = p->read_offset;
                resumed++;
            }
        }
        if (resumed)
            hl_log(HL_LOG_INFO, "consumer", "%zu partitions resumed where this dispatcher left "
                                            "them", resumed);
        limbo_clear(c);
        if (eager) {
            rd_kafka_resp_err_t aerr = rd_kafka_assign(rk, parts);
            if (aerr)
                hl_log(HL_LOG_ERROR, "consumer", "assign: %s", rd_kafka_err2str(aerr));
        } else {
            error = rd_kafka_incremental_assign(rk, parts);
        }
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        bool lost = rd_kafka_assignment_lost(rk);
        log_partitions(lost ? "lost" : "revoked", parts);
        /* The partitions are still ours: attempts on the wire may end, and what follows
         * them be done, so that their offsets go with this commit. Whoever gets the
         * partitions next then starts after them instead of sending them again. */
        if (!lost && !c->frozen && c->drain)
            c->drain(c->drain_arg);
        /* Stored, the offsets of the revoked partitions are committed by librdkafka as
         * it unassigns them (enable.auto.commit), and the group is rejoined only after
         * that commit: no commit of our own here, whose synchronous wait would hold this
         * loop on a coordinator that does not answer (a broker restarting). */
        if (!lost)
            dp_consumer_store(c);
        for (int i = 0; i < parts->cnt; i++)
            part_park(c, topic_get(c, parts->elems[i].topic), parts->elems[i].partition);
        if (eager)
            rd_kafka_assign(rk, NULL);
        else
            error = rd_kafka_incremental_unassign(rk, parts);
    } else {
        hl_log(HL_LOG_ERROR, "consumer", "rebalance failed: %s", rd_kafka_err2str(err));
        limbo_clear(c);
        if (eager)
            rd_kafka_assign(rk, NULL);
        else
            error = rd_kafka_incremental_unassign(rk, parts);
    }
    if (error) {
        hl_log(HL_LOG_ERROR, "consumer", "incremental rebalance: %s",
               rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    hl_log(err == RD_KAFKA_RESP_ERR__FATAL ? HL_LOG_ERROR : HL_LOG_WARN, "consumer", "%s: %s",
           rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

struct dp_consumer *dp_consumer_new(const struct dp_config *cfg, const struct dp_topic_spec *specs,
                                    size_t n, int wake_fd, char *errbuf, size_t errlen)
{
    static const char *const props[][2] = {
        {"enable.auto.offset.store", "false"},
        {"enable.auto.commit", "true"},
        /* what a new owner redoes after a crash: stored offsets at most 100 ms old (a
         * commit costs the broker little; a redelivery costs a receiver a request) */
        {"auto.commit.interval.ms", "100"},
        {"auto.offset.reset", "earliest"},
        {"heartbeat.interval.ms", "1000"},
        /* Prefetch per assigned partition (each has its own queue, so librdkafka applies
         * these per partition): with the defaults (100,000 messages, 64 MB each) a backlog
         * on six events partitions and six deliveries partitions held most of a
         * gigabyte. 2,000 messages are 0.1-0.4 s of work at full speed. */
        {"queued.min.messages", "2000"},
        {"fetch.message.max.bytes", "262144"},
    };
    struct dp_consumer *c = hl_xcalloc(1, sizeof(*c));
    struct dp_consumer *ret = NULL;
    rd_kafka_topic_partition_list_t *topics = NULL;

    c->wake_fd = wake_fd;
    c->topics = hl_xcalloc(n, sizeof(*c->topics));
    c->ntopics = n;
    for (size_t i = 0; i < n; i++) {
        hl_topic_name(c->topics[i].name, cfg->common.topic_prefix, specs[i].suffix);
        c->topics[i].spec = specs[i];
    }
    char session_timeout[32];
    snprintf(session_timeout, sizeof(session_timeout), "%lld",
             (long long)cfg->session_timeout_ms);
    /* How long the broker may hold an empty fetch. An event or a delivery task waits for
     * no batch: it is the next hop of a live event. A consumer of delay topics only (the
     * retry tiers, main.c) holds each message until due anyway, at least its tier's delay:
     * a tenth of the shortest one is soon enough, and saves the broker and librdkafka a
     * fetch round of every idle partition 20 times a second. Each fetch lists every
     * partition of the consumer, so the live topics' fetches stay short without them. */
    int64_t shortest = INT64_MAX;
    for (size_t i = 0; i < n; i++)
        if (specs[i].delay_ms < shortest)
            shortest = specs[i].delay_ms;
    bool delayed = n > 0 && shortest > 0;
    int64_t wait = delayed ? shortest / 10 : LIVE_FETCH_WAIT_MS;
    wait = wait < LIVE_FETCH_WAIT_MS ? LIVE_FETCH_WAIT_MS
           : wait > DELAYED_FETCH_WAIT_MS ? DELAYED_FETCH_WAIT_MS
                                          : wait;
    char fetch_wait[32];
    snprintf(fetch_wait, sizeof(fetch_wait), "%lld", (long long)wait);
    rd_kafka_conf_t *conf = hl_kafka_conf_new(
        cfg->common.brokers, delayed ? "hookline-dispatcher-tiers" : "hookline-dispatcher",
        errbuf, errlen);
    if (!conf)
        goto out;
    if (hl_kafka_conf_set(conf, "group.id", cfg->group_id, errbuf, errlen))
        goto out;
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
        if (hl_kafka_conf_set(conf, props[i][0], props[i][1], errbuf, errlen))
            goto out;
    char prefetch[32];
    snprintf(prefetch, sizeof(prefetch), "%lld", (long long)cfg->prefetch_kb);
    if (hl_kafka_conf_set(conf, "session.timeout.ms", session_timeout, errbuf, errlen) ||
        hl_kafka_conf_set(conf, "fetch.wait.max.ms", fetch_wait, errbuf, errlen) ||
        hl_kafka_conf_set(conf, "queued.max.messages.kbytes", prefetch, errbuf, errlen) ||
        hl_kafka_conf_set(conf, "partition.assignment.strategy", cfg->assignment_strategy,
                          errbuf, errlen))
        goto out;
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    c->role = delayed ? DP_METRICS_TIER_CONSUMER : DP_METRICS_CONSUMER;
    dp_metrics_kafka_conf(conf, c->role);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_opaque(conf, c);

    c->rk = hl_kafka_new(RD_KAFKA_CONSUMER, conf, errbuf, errlen);
    if (!c->rk)
        goto out;
    conf = NULL; /* owned by rk now */
    rd_kafka_poll_set_consumer(c->rk);
    c->queue = rd_kafka_queue_get_consumer(c->rk);
    rd_kafka_queue_io_event_enable(c->queue, wake_fd, "k", 1);

    topics = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(topics, c->topics[i].name, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, topics);
    if (err) {
        snprintf(errbuf, errlen, "cannot subscribe to '%s'...: %s", c->topics[0].name,
                 rd_kafka_err2str(err));
        goto out;
    }
    hl_log(HL_LOG_INFO, "consumer", "subscribed to %zu topics from '%s' in group '%s'", n,
           c->topics[0].name, cfg->group_id);
    ret = c;
    c = NULL;
out:
    if (topics)
        rd_kafka_topic_partition_list_destroy(topics);
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (c) {
        if (c->queue)
            rd_kafka_queue_destroy(c->queue);
        if (c->rk)
            rd_kafka_destroy(c->rk);
        free(c->topics);
        free(c);
    }
    return ret;
}

int64_t dp_fence_header(rd_kafka_message_t *rkm)
{
    rd_kafka_headers_t *hdrs;
    const void *val;
    size_t size;
    if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(hdrs, DP_FENCE_HEADER, &val, &size) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        !val || size == 0 || size > 18)
        return 0;
    int64_t v = 0;
    for (size_t i = 0; i < size; i++) {
        char ch = ((const char *)val)[i];
        if (ch < '0' || ch > '9')
            return 0;
        v = v * 10 + (ch - '0');
    }
    return v;
}

int dp_id_version_header(rd_kafka_message_t *rkm)
{
    rd_kafka_headers_t *hdrs;
    const void *val = NULL;
    size_t size = 0;
    if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(hdrs, HL_ID_VERSION_HEADER, &val, &size) !=
            RD_KAFKA_RESP_ERR_NO_ERROR)
        return 1;
    return hl_id_version_parse(val, size);
}

/* Tracks one message; NULL when it is not one to hand out (consumed here). */
static struct dp_msg *take(struct dp_consumer *c, rd_kafka_message_t *rkm)
{
    if (rkm->err) {
        if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            hl_log(HL_LOG_WARN, "consumer", "consume error: %s", rd_kafka_message_errstr(rkm));
        rd_kafka_message_destroy(rkm);
        return NULL;
    }
    struct dp_topic *t = topic_get(c, rd_kafka_topic_name(rkm->rkt));
    struct dp_partition *p = part_get(t, rkm->partition);
    if (!p) {
        /* A stray of a partition revoked since: its new owner delivers it. */
        hl_log(HL_LOG_DEBUG, "consumer", "message from unassigned partition %d dropped",
               (int)rkm->partition);
        rd_kafka_message_destroy(rkm);
        return NULL;
    }
    struct dp_msg *m = hl_xcalloc(1, sizeof(*m));
    m->part = p;
    m->kind = t->spec.kind;
    m->tier = (int)(t - c->topics);
    m->partition = rkm->partition;
    m->offset = rkm->offset;
    m->timestamp_ms = rd_kafka_message_timestamp(rkm, NULL);
    m->pending = 1;
    m->fence = dp_fence_header(rkm);
    m->id_version = m->kind == DP_TOPIC_EVENTS ? dp_id_version_header(rkm) : 1;
    p->read_offset = rkm->offset + 1;
    if (rkm->payload) {
        m->payload = hl_xmalloc(rkm->len + 1);
        memcpy(m->payload, rkm->payload, rkm->len);
        m->payload[rkm->len] = '\0';
        m->len = rkm->len;
    }
    dp_offset_fifo_push(&p->fifo, m);
    rd_kafka_message_destroy(rkm);
    return m;
}

/* Wall-clock ms at which a message of a delay topic may be handed out. */
static int64_t release_at(const struct dp_partition *p, const rd_kafka_message_t *rkm)
{
    int64_t ts = rd_kafka_message_timestamp(rkm, NULL);
    return (ts > 0 ? ts : 0) + p->t->spec.delay_ms;
}

int64_t dp_consumer_next_release(const struct dp_consumer *c)
{
    int64_t best = -1;
    for (size_t i = 0; i < c->nall; i++) {
        const struct dp_partition *p = c->all[i];
        if (!p->held)
            continue;
        int64_t r = release_at(p, p->held);
        if (best < 0 || r < best)
            best = r;
    }
    if (best < 0)
        return -1;
    int64_t wait = best - hl_now_ms();
    return hl_mono_ms() + (wait > 0 ? wait : 0);
}

/* The partition's next message if it may be handed out now; held otherwise. An empty
 * queue is seen by its length (a mutex and a read) rather than by a consume call (about
 * four times the instructions): the intake looks at every assigned partition, most of
 * them empty (retry tiers), each time it runs dry, about 300,000 looks for 3,000
 * deliveries in bench/profile-dispatcher. */
static rd_kafka_message_t *next_of(struct dp_partition *p, int64_t now)
{
    rd_kafka_message_t *rkm = p->held;
    p->held = NULL;
    if (!rkm && (rd_kafka_queue_length(p->queue) == 0 ||
                 !(rkm = rd_kafka_consume_queue(p->queue, 0))))
        return NULL;
    if (p->t->spec.delay_ms > 0 && !rkm->err && release_at(p, rkm) > now) {
        p->held = rkm;
        return NULL;
    }
    return rkm;
}

void dp_consumer_serve(struct dp_consumer *c)
{
    rd_kafka_message_t *rkm;
    while ((rkm = rd_kafka_consumer_poll(c->rk, 0)) != NULL) {
        if (rkm->err) {
            take(c, rkm); /* logs it */
            continue;
        }
        hl_log(HL_LOG_DEBUG, "consumer", "message of partition %d on the consumer queue",
               (int)rkm->partition);
        c->strays = hl_xrealloc(c->strays, (c->nstrays + 1) * sizeof(*c->strays));
        c->strays[c->nstrays++] = rkm;
    }
    /* A rebalance ends with an assignment, which decides limbo; should one never come
     * (the group gone, say), the revoked partitions' parked deliveries must not wait on
     * forever: forgotten, they are their next owner's, from the committed offset. */
    if (c->nlimbo && hl_mono_ms() - c->limbo_since_ms > LIMBO_MAX_MS) {
        hl_log(HL_LOG_WARN, "consumer", "%zu revoked partitions undecided after %d ms: "
               "left to their next owner", c->nlimbo, LIMBO_MAX_MS);
        limbo_clear(c);
    }
}

struct dp_msg *dp_consumer_poll(struct dp_consumer *c)
{
    struct dp_msg *m;
    while (c->nstrays > 0) {
        rd_kafka_message_t *rkm = c->strays[0];
        memmove(c->strays, c->strays + 1, --c->nstrays * sizeof(*c->strays));
        if ((m = take(c, rkm)) != NULL)
            return m;
    }
    /* One message per partition in turn, so a backlog on one doesn't starve the others. */
    int64_t now = hl_now_ms();
    bool any = true;
    while (any && c->nall) {
        any = false;
        for (size_t n = 0; n < c->nall; n++) {
            struct dp_partition *p = c->all[c->next_part++ % c->nall];
            rd_kafka_message_t *rkm;
            if (!p->queue || !(rkm = next_of(p, now)))
                continue;
            any = true;
            if ((m = take(c, rkm)) != NULL)
                return m;
        }
    }
    return NULL;
}

/* The partition count of topic name, or 0 when the metadata request failed. */
static int topic_partitions(rd_kafka_t *rk, const char *name)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
    if (!rkt)
        return 0;
    int n = 0;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 2000);
    if (!err && md->topic_cnt == 1)
        err = md->topics[0].err;
    else if (!err)
        err = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (!err)
        n = md->topics[0].partition_cnt;
    else
        hl_log(HL_LOG_WARN, "consumer", "partition count of '%s' unknown: %s", name,
               rd_kafka_err2str(err));
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}

double dp_consumer_events_share(struct dp_consumer *c)
{
    if (!c->share_dirty)
        return c->events_share > 0 ? c->events_share : 1.0;
    c->share_dirty = false;
    for (size_t i = 0; i < c->ntopics; i++) {
        struct dp_topic *t = &c->topics[i];
        if (t->spec.kind != DP_TOPIC_EVENTS)
            continue;
        size_t owned = 0;
        for (size_t k = 0; k < t->nparts; k++)
            owned += t->parts[k] != NULL;
        /* Asked once, and again only when a partition beyond the known count shows up
         * (the topic grew): this runs on the loop thread. */
        if (c->events_total <= 0 || t->nparts > (size_t)c->events_total) {
            int total = topic_partitions(c->rk, t->name);
            if (total > 0)
                c->events_total = total;
        }
        if (c->events_total <= 0) {
            c->share_dirty = true; /* ask again next time */
            return 1.0;
        }
        if (owned == 0)
            owned = 1; /* still delivers retries and large fan-outs */
        c->events_share = owned >= (size_t)c->events_total ? 1.0 : (double)owned / c->events_total;
        hl_log(HL_LOG_INFO, "consumer", "%zu of %d events partitions here: %.0f%% of each "
               "spread webhook's concurrency", owned, c->events_total, c->events_share * 100);
        return c->events_share;
    }
    return 1.0;
}

void dp_consumer_set_drain(struct dp_consumer *c, void (*drain)(void *arg), void *arg)
{
    c->drain = drain;
    c->drain_arg = arg;
}

void dp_consumer_freeze(struct dp_consumer *c)
{
    dp_consumer_store(c);
    c->frozen = true;
}

void dp_consumer_close(struct dp_consumer *c)
{
    if (!c)
        return;
    dp_consumer_store(c);
    bool closed = hl_kafka_consumer_close(c->rk, DP_CONSUMER_CLOSE_MS);
    for (size_t i = 0; i < c->ntopics; i++) {
        struct dp_topic *t = &c->topics[i];
        for (size_t k = 0; k < t->nparts; k++)
            part_drop(c, t, (int32_t)k);
    }
    limbo_clear(c);
    free(c->limbo);
    for (size_t i = 0; i < c->ntopics; i++)
        free(c->topics[i].parts);
    free(c->topics);
    free(c->all);
    for (size_t i = 0; i < c->nstrays; i++)
        rd_kafka_message_destroy(c->strays[i]);
    free(c->strays);
    rd_kafka_queue_destroy(c->queue);
    rd_kafka_destroy_flags(c->rk, closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    free(c);
}
