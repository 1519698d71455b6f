/* Stop signals (see hl/signals.h). The handler only stores a number and calls write(2),
 * both async-signal-safe, and keeps errno as it found it. */
#include "hl/signals.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "hl/banned.h"

volatile sig_atomic_t hl_stop_signal;
static volatile sig_atomic_t wake_fd = -1;

static void on_signal(int sig)
{
    int saved = errno;
    hl_stop_signal = sig;
    if (wake_fd >= 0) {
        ssize_t n = write(wake_fd, "s", 1);
        (void)n;
    }
    errno = saved;
}

void hl_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

void hl_signals_wake_fd(int fd)
{
    wake_fd = fd;
}
