/* SPDX-License-Identifier: GPL-3.0-or-later
 * The SISA loop (paper Algorithm 1) that every sampling task runs
 * (sampler_sisa.c), with its private hooks: a start image or colour, the
 * colour lock (low frequencies kept), known pixels (heal) and guidance's
 * mix.  The public task calls (tasks.c, heal.c) fill a sisa_task; only
 * they know which hooks a task needs, so a wrong combination cannot be
 * asked for from outside. */
#ifndef FGSD_SAMPLER_H
#define FGSD_SAMPLER_H

#include "session.h"

typedef struct sisa_task {
    const fgsd_sampler_params *p; /* h0, beta, schedule, cap, tileable, guidance */
    const float *phi;             /* conditioning, NULL = unconditioned */
    int width, height;
    uint64_t seed;           /* the noise's seed (levels use their own) */
    float sigma0;            /* noise added to the start */
    const float *init;       /* start image, or NULL: a flat start at colour */
    float colour[3];         /* the flat start's colour */
    int keep_low;            /* the low frequencies of x stay the start's */
    const float *known;      /* heal: pixels held (RGB), or NULL */
    const float *known_mask; /* heal: their weights in [0, 1] */
} sisa_task;

/* Where the loop keeps its images and computes on them: host arrays
 * (sampler_sisa.c) or the backend's images (sampler_device.c, a GPU's,
 * where a step brings back only sigma).  sisa_run calls only these; each
 * returns FGSD_OK or fails the session with a message. */
typedef struct sisa_images_ops {
    /* *state NULL and FGSD_OK: these images do not serve this task here. */
    fgsd_status (*create)(fgsd_session *s, const sisa_task *t, void **state);
    void (*destroy)(void *state);
    /* x = start + sigma0 z_0, the known pixels held. */
    fgsd_status (*start)(fgsd_session *s, const sisa_task *t, void *state);
    /* d = D(x) (the pass, guidance's mix, the colour lock); *sigma = the
     * noise estimate ||x - d|| / sqrt(dim). */
    fgsd_status (*estimate)(fgsd_session *s, const sisa_task *t, void *state, float *sigma);
    /* d on the host (the watcher's). */
    fgsd_status (*clean_on_host)(fgsd_session *s, void *state, const float **d);
    /* best <- d, and d <- best. */
    fgsd_status (*keep_best)(fgsd_session *s, void *state);
    fgsd_status (*take_best)(fgsd_session *s, void *state);
    /* x <- x - h (x - d) + g z_step, the known pixels held at level `held`. */
    fgsd_status (*update)(fgsd_session *s, const sisa_task *t, void *state, int step, double h,
                          double g, double held);
    /* out <- d, the known pixels held; *tiles: tiles per pass. */
    fgsd_status (*result)(fgsd_session *s, const sisa_task *t, void *state, float *out,
                          int *tiles);
} sisa_images_ops;

extern const sisa_images_ops sisa_device_images;

/* The colour lock's box width for the task (0: no lock). */
int sisa_lock_width(const fgsd_session *s, const sisa_task *t);

/* Checks the public settings every task shares. */
fgsd_status sampler_check_params(fgsd_session *s, const fgsd_sampler_params *p);

/* Runs the loop; out receives D(x) of the last (or best) step.  stats may
 * be NULL.  The caller has checked p, the sizes and the images. */
fgsd_status sisa_run(fgsd_session *s, const sisa_task *t, float *out, fgsd_sample_stats *stats);

#endif
