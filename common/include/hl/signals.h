/* The graceful stop every Hookline process shares: SIGTERM and SIGINT record their number
 * in hl_stop_signal (and wake a poll loop through a self-pipe when one is set); SIGPIPE is
 * ignored, so a peer that closed its socket is an error return, not the process's death.
 * @locality hl_signals_install on the main thread, before other threads start. */
#ifndef HL_SIGNALS_H
#define HL_SIGNALS_H

#include <signal.h>

/* 0, or the number of the signal that asked the process to stop. */
extern volatile sig_atomic_t hl_stop_signal;

void hl_signals_install(void);
/* From now on a stop signal also writes one byte to fd (-1: none), async-signal-safely. */
void hl_signals_wake_fd(int fd);

#endif
