/* Table-driven configuration, one table per service (librdkafka's property table, nginx's
 * command tables). Every option named `foo_bar` is settable, lowest precedence first, by its
 * default, the environment variable HOOKLINE_FOO_BAR and the flag --foo-bar=VALUE. `--help`
 * and docs/configuration.md are both printed from the table, so they cannot drift. */
#ifndef HL_CONFIG_H
#define HL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hl/err.h"

typedef enum {
    HL_CFG_STR,  /* char *, owned by the config struct; NULL when the default is NULL */
    HL_CFG_INT,  /* int64_t, checked against [min, max] */
    HL_CFG_BOOL, /* bool: true/false/1/0/yes/no/on/off */
} hl_cfg_type;

struct hl_cfg_opt {
    const char *name;
    hl_cfg_type type;
    size_t offset; /* into the service's config struct */
    const char *def;
    int64_t min, max; /* HL_CFG_INT only */
    const char *help;
};

/* Options that both services have; each service embeds this struct as `common`. */
struct hl_common_cfg {
    char *brokers;
    char *topic_prefix;
    char *pg_dsn;
    char *log_level;
    char *master_key;
    char *master_key_file;
    char *ssrf_allowlist; /* parsed into hl_ssrf_allow by hl_common_cfg_apply() */
    char *kafka_properties;      /* hl/kafka.h: extra librdkafka properties, every client */
    char *kafka_properties_file; /* the same from a file (secrets: a mounted Secret) */
    int64_t retention_days;      /* hl/retention.h; 0: no cleanup in this process */
    int64_t retention_interval_ms;
    int64_t retention_window_ms; /* overrides retention_days when set */
};

#define HL_CFG_COMMON_OPTS(type)                                                                   \
    {"brokers", HL_CFG_STR, offsetof(type, common.brokers), "127.0.0.1:9092", 0, 0,               \
     "Kafka bootstrap servers, comma-separated host:port"},                                        \
    {"topic_prefix", HL_CFG_STR, offsetof(type, common.topic_prefix), "hookline", 0, 0,            \
     "prefix of every Kafka topic name (<prefix>.events, <prefix>.dlq, ...)"},                     \
    {"pg_dsn", HL_CFG_STR, offsetof(type, common.pg_dsn),                                          \
     "postgresql://hookline@127.0.0.1:5432/hookline", 0, 0, "PostgreSQL connection string"},       \
    {"log_level", HL_CFG_STR, offsetof(type, common.log_level), "info", 0, 0,                      \
     "minimum level logged: debug, info, warn or error"},                                     \
    {"master_key", HL_CFG_STR, offsetof(type, common.master_key), NULL, 0, 0,                      \
     "master key ring sealing secrets at rest (AES-256-GCM): '<id>:<base64 of 32 bytes>', "      \
     "comma-separated, the first one seals; prefer master_key_file"},                              \
    {"master_key_file", HL_CFG_STR, offsetof(type, common.master_key_file), NULL, 0, 0,            \
     "file holding the master key ring, one '<id>:<base64>' per line, '#' comments; used "       \
     "when master_key is unset"},                                                         \
    {"ssrf_allowlist", HL_CFG_STR, offsetof(type, common.ssrf_allowlist), NULL, 0, 0,              \
     "comma-separated CIDRs (e.g. 127.0.0.0/8,::1/128) that webhook URLs and deliveries may "     \
     "reach although SSRF protection blocks them (loopback, private, link-local, ...); unset: "  \
     "none"},                                                                                      \
    {"kafka_properties", HL_CFG_STR, offsetof(type, common.kafka_properties), NULL, 0, 0,          \
     "extra librdkafka properties for every Kafka client of the service, 'name=value' "          \
     "separated by ';' (e.g. security.protocol=SSL;ssl.ca.location=/etc/kafka/ca.pem); they "    \
     "win over the service's own tuning; an unknown property, a bad value or one Hookline "      \
     "sets itself (acks, enable.auto.commit, linger.ms, group.id, ...) stops the service at "    \
     "startup"},                                                                                   \
    {"kafka_properties_file", HL_CFG_STR, offsetof(type, common.kafka_properties_file), NULL, 0,  \
     0,                                                                                            \
     "file of librdkafka properties, one 'name=value' per line, '#' comments (for secrets such "  \
     "as sasl.password); applied after kafka_properties"},                                       \
    {"retention_days", HL_CFG_INT, offsetof(type, common.retention_days), "30", 0, 3650,           \
     "deliveries and their attempts are deleted this many days after their last change "         \
     "(one process at a time, whatever the replicas); 0: this process does no cleanup"},         \
    {"retention_interval_ms", HL_CFG_INT, offsetof(type, common.retention_interval_ms),            \
     "86400000", 1000, INT64_C(31536000000),                                                       \
     "period of the delivery-log cleanup (the first runs one minute after start, or sooner "     \
     "when the period is shorter)"},                                                               \
    {"retention_window_ms", HL_CFG_INT, offsetof(type, common.retention_window_ms), "0", 0,        \
     INT64_C(315360000000),                                                                        \
     "retention window in ms instead of retention_days (tests, short-lived environments); 0: "   \
     "retention_days applies"}

/* Applies defaults, then environment variables, then argv flags (argv[0..argc) are flags
 * only; the caller strips the program name and subcommand). On error describes the
 * offending option in errbuf. `--help` is not handled here: see hl_cfg_usage(). */
hl_err hl_cfg_load(const struct hl_cfg_opt *opts, size_t n, void *cfg, int argc, char **argv,
                   char *errbuf, size_t errlen);
/* Sets one option from its string form. */
hl_err hl_cfg_set(const struct hl_cfg_opt *opts, size_t n, void *cfg, const char *name,
                  const char *value, char *errbuf, size_t errlen);
/* Frees the strings the struct owns. */
void hl_cfg_release(const struct hl_cfg_opt *opts, size_t n, void *cfg);
void hl_cfg_usage(FILE *out, const struct hl_cfg_opt *opts, size_t n);
/* A markdown table of the options (docs/configuration.md is generated from it). */
void hl_cfg_markdown(FILE *out, const struct hl_cfg_opt *opts, size_t n);
/* Applies the common options' side effects (log level, the SSRF allow-list hl_ssrf_allow,
 * the Kafka properties hl_kafka_conf_new() adds: hl_kafka_extra_set()).
 * @locality main thread, before any other thread starts. */
hl_err hl_common_cfg_apply(const struct hl_common_cfg *c, char *errbuf, size_t errlen);

/* The opening a service's main shares (the dispatcher's, hookline-cdc's): logs as service,
 * answers `config-doc` (the options as markdown) and `--help`/`-h` (usage) on stdout, else
 * loads cfg (zeroed first; its struct hl_common_cfg at offset 0, as HL_CFG_COMMON_OPTS
 * lays it out) from the command line and the environment and applies the common options.
 * Returns -1 when main goes on (then it releases cfg with hl_cfg_release), else the exit
 * status main returns at once (1 after printing "<prog>: <error>" and the usage to stderr;
 * cfg already released). @locality main thread, before any other thread starts. */
typedef void (*hl_cfg_usage_fn)(FILE *out);
int hl_cfg_main_opening(const char *service, const char *prog, const struct hl_cfg_opt *opts,
                        size_t n, void *cfg, size_t cfg_size, hl_cfg_usage_fn usage, int argc,
                        char **argv);

#endif
