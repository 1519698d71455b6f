/* The worker's side of the Hookline database: which table sources this worker holds, and
 * what it reports about them.
 *
 * Ownership: a source is streamed by the worker holding the session advisory lock
 * (CDC_LOCK_CLASS, hashtext(id)) on its control connection. A worker that dies loses its
 * connection and so its locks; the others' next scan (scan_interval_ms, or at once on
 * NOTIFY hl_table_sources_changed) takes the source over, and the stream resumes from the
 * slot's confirmed LSN. A worker that loses its own control connection stops every stream
 * at once, since it can no longer be sure it holds them.
 *
 * A held source restarts when its row's updated_at moves (pause, resume, a new
 * configuration); a 'deleting' source is streamed in drop mode and its row deleted once
 * slot and publication are gone. @locality the main thread only. */
#ifndef CDC_CONTROL_H
#define CDC_CONTROL_H

#include <signal.h>

#include "cdc_config.h"
#include "cdc_producer.h"
#include "hl/keyring.h"

/* The advisory lock class of table sources (the first key of the two-key form). */
#define CDC_LOCK_CLASS 73126

/* Runs until *stop; returns 0, or 1 when the producer failed fatally. */
int cdc_control_run(const struct cdc_config *cfg, const struct hl_keyring *keyring,
                    struct cdc_producer *prod, volatile sig_atomic_t *stop);

#endif
