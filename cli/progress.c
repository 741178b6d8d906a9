/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Progress display and cancellation (see progress.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "progress.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The only state a signal handler may touch (C11 7.14.1.1). */
static volatile sig_atomic_t cancel_flag;

/* Redraw a terminal line at most this often: a fast GPU runs hundreds of
 * steps a second and the terminal would become the bottleneck. */
#define TTY_REDRAW_S 0.1

static void on_signal(int sig)
{
    (void)sig;
    cancel_flag = 1;
}

void cancel_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = (int)SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cancel_requested(void)
{
    return cancel_flag != 0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void progress_init(progress *p, int quiet)
{
    memset(p, 0, sizeof *p);
    if (quiet)
        p->mode = PROGRESS_OFF;
    else
        p->mode = isatty(STDERR_FILENO) ? PROGRESS_TTY : PROGRESS_LINES;
    p->phase = "";
}

void progress_done(progress *p)
{
    if (p->drawn_len > 0) {
        fputc('\n', stderr);
        fflush(stderr);
    }
    p->drawn_len = 0;
}

void progress_phase(progress *p, const char *phase)
{
    progress_done(p);
    p->phase = phase;
    p->last_tenth = 0;
    p->last_draw = 0.0;
}

static int format_status(const progress *p, char *buf, size_t len, int step, float sigma,
                         float fraction)
{
    if (sigma > 0.0f)
        return snprintf(buf, len, "fgsd: %s: step %d, sigma %.4g, %3.0f%%", p->phase, step,
                        (double)sigma, (double)fraction * 100.0);
    if (step > 0)
        return snprintf(buf, len, "fgsd: %s: step %d, %3.0f%%", p->phase, step,
                        (double)fraction * 100.0);
    /* Not a sampler step (a reference's windows): the fraction alone. */
    return snprintf(buf, len, "fgsd: %s: %3.0f%%", p->phase, (double)fraction * 100.0);
}

int progress_callback(void *user, int step, float sigma, float fraction)
{
    progress *p = user;
    char line[160];
    int n;

    if (!(fraction >= 0.0f))
        fraction = 0.0f;
    if (fraction > 1.0f)
        fraction = 1.0f;
    if (p->mode == PROGRESS_TTY) {
        double t = now_s();
        if (t - p->last_draw >= TTY_REDRAW_S || fraction >= 1.0f) {
            n = format_status(p, line, sizeof line, step, sigma, fraction);
            /* Pad with spaces over a longer previous line: no terminal
             * escape codes, so TERM=dumb and logs of a pty stay clean. */
            fprintf(stderr, "\r%s%*s", line, p->drawn_len > n ? p->drawn_len - n : 0, "");
            fflush(stderr);
            p->drawn_len = n > p->drawn_len ? n : p->drawn_len;
            p->last_draw = t;
        }
    } else if (p->mode == PROGRESS_LINES) {
        int tenth = (int)(fraction * 10.0f);
        if (tenth > p->last_tenth) {
            format_status(p, line, sizeof line, step, sigma, fraction);
            fprintf(stderr, "%s\n", line);
            p->last_tenth = tenth;
        }
    }
    return cancel_flag != 0;
}
