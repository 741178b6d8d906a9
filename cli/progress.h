/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Progress display and cancellation for long engine calls.
 *
 * The engine calls progress_callback between network passes.  On a terminal
 * it redraws one status line; otherwise (a log, a pipe) it prints a line at
 * every tenth of the work, so that logs stay short.  SIGINT and SIGTERM set a
 * flag that the callback returns, so the engine stops at the next pass and
 * the command exits without writing its output.  The handlers are one-shot
 * (SA_RESETHAND): a second Ctrl-C kills at once, for a pass that runs long.
 */
#ifndef FGSD_CLI_PROGRESS_H
#define FGSD_CLI_PROGRESS_H

typedef enum progress_mode {
    PROGRESS_OFF = 0,
    PROGRESS_TTY,   /* one line redrawn in place */
    PROGRESS_LINES, /* a line every 10 % */
} progress_mode;

typedef struct progress {
    progress_mode mode;
    const char *phase; /* "sampling", "features", ... */
    int last_tenth;
    int drawn_len;     /* length of the status line on screen, 0 if none */
    double last_draw;  /* seconds, monotonic */
} progress;

/* quiet: no progress at all. */
void progress_init(progress *p, int quiet);

/* Starts a new phase (ending a status line left by the previous one). */
void progress_phase(progress *p, const char *phase);

/* Ends the status line, if one is drawn; call before printing anything. */
void progress_done(progress *p);

/* fgsd_progress_fn; user is a progress *. */
int progress_callback(void *user, int step, float sigma, float fraction);

/* Installs the SIGINT/SIGTERM handlers. */
void cancel_install(void);

/* 1 once SIGINT or SIGTERM arrived. */
int cancel_requested(void);

#endif
