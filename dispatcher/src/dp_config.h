/* The dispatcher's configuration: one table (dp_config_opts) from which flags, environment
 * variables (HOOKLINE_<NAME>), `--help` and `config-doc` are all derived. */
#ifndef DP_CONFIG_H
#define DP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "hl/config.h"

struct dp_config {
    struct hl_common_cfg common;
    char *group_id;
    int64_t refresh_interval_ms;
    int64_t max_in_flight;
    int64_t request_timeout_ms;
    int64_t connect_timeout_ms;
    int64_t max_attempts;
    int64_t retry_initial_ms;
    int64_t retry_max_ms;
    int64_t shutdown_timeout_ms;
};

extern const struct hl_cfg_opt dp_config_opts[];
extern const size_t dp_config_nopts;

#endif
