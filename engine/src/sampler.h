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

/* Checks the public settings every task shares. */
fgsd_status sampler_check_params(fgsd_session *s, const fgsd_sampler_params *p);

/* Runs the loop; out receives D(x) of the last (or best) step.  stats may
 * be NULL.  The caller has checked p, the sizes and the images. */
fgsd_status sisa_run(fgsd_session *s, const sisa_task *t, float *out, fgsd_sample_stats *stats);

#endif
