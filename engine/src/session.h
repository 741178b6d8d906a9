/* SPDX-License-Identifier: GPL-3.0-or-later
 * The session object, shared by the files that implement the public calls. */
#ifndef FGSD_SESSION_H
#define FGSD_SESSION_H

#include "backend.h"
#include "unet.h"

struct fgsd_session {
    const fgsd_model *model;
    fgsd_session_options opt;
    const backend_ops *ops;
    backend *be;
    unet *net;
    size_t device_budget; /* GPU backends: bytes the planner may use; 0 = no limit */
    int budget_auto;      /* the caller left memory_budget 0: a GPU's device_budget alone
                             bounds its windows, the default bounds the CPU's */
    fgsd_session *guide;  /* guidance's D0 (fgsd_session_set_guide), borrowed; NULL = own */
    fgsd_watch_fn watch;  /* fgsd_session_set_watch */
    void *watch_user;
    int watch_every;
    char error[512];
    char notice[512];
};

/* Records a printf-style message as the session's last error; returns st. */
fgsd_status session_fail(fgsd_session *s, fgsd_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The memory budget the tiling planner works with: the caller's, lowered to
 * what the GPU can hold on a GPU backend. */
size_t session_budget(const fgsd_session *s);

/* After a network pass failed with st (FGSD_ERR_NO_MEMORY, or
 * FGSD_ERR_TOO_LARGE from the planner after an earlier call lowered the
 * budget) on windows of window_bytes (tile_window_bytes; 0 = the pass cannot
 * be tiled): on a GPU backend, lowers the budget so that the planner cuts
 * smaller tiles, or, when that cannot help, moves the session to the CPU.
 * Either way it says so in the notice.  Returns 1 when the caller should run
 * the pass again, 0 when the failure stands (host backends, cuda_strict). */
int session_recover_oom(fgsd_session *s, fgsd_status st, size_t window_bytes);

/* z[i] = rng_normal(seed, step, i), i < n: on the backend when it draws
 * noise itself (the GPU), else on the CPU.  The two agree to a float ulp at
 * rare points (docs/rng.md). */
void session_noise(fgsd_session *s, uint64_t seed, uint32_t step, size_t n, float *z);

/* Calls the progress callback; non-zero means the user cancelled. */
int session_progress(fgsd_session *s, int step, float sigma, float fraction);

/* Whether a watch is set and due at step. */
int session_watch_due(const fgsd_session *s, int step);
/* Shows the watch D(x) at step (when it is due); non-zero: cancelled. */
int session_watch(fgsd_session *s, int step, const float *d, int width, int height);

#endif
