/* SPDX-License-Identifier: GPL-3.0-or-later
 * A quilt's occurrence map (issue 19; docs/quality.md "Occurrence"): how
 * often each source pixel has been written to the canvas, so that a
 * candidate square whose pixels are used more than their share pays for it
 * (Kaspar et al., "Self Tuning Texture Optimization", 2015).  Without it a
 * flat part of the source fits its own overlaps at almost no error and
 * spreads over the canvas (a tiling's grey fields).  models/sisa.py
 * _Occurrence is the same arithmetic. */
#ifndef FGSD_QUILT_OCCUR_H
#define FGSD_QUILT_OCCUR_H

#include "session.h"

/* Weight of the term: at an even use of the source (every pixel written
 * its share of times), a candidate pays QUILT_OCCUR x the source's
 * variance per overlap pixel and channel. */
#define QUILT_OCCUR 1.0

typedef struct quilt_occur {
    int sw, sh;
    unsigned *count; /* sw x sh: times each source pixel was written */
    double *sat;   /* (sw + 1) x (sh + 1): count's summed-area table */
    double weight; /* QUILT_OCCUR x the variance summed over channels / share / p^2 */
} quilt_occur;

/* o for a source of sw x sh RGB (mask NULL or its weights: the variance
 * and the usable area counted inside it) whose squares of side p are to
 * write canvas_px canvas pixels; counts zero.  An error on s. */
fgsd_status quilt_occur_init(fgsd_session *s, quilt_occur *o, const float *src, const float *mask,
                             int sw, int sh, int p, double canvas_px);

/* The term of the p x p source square at (px, py) for a fit over n pixels:
 * weight x n x the times its pixels were written. */
double quilt_occur_cost(const quilt_occur *o, int px, int py, int p, double n);

/* One more write of source pixel (x, y); the table is brought up to date
 * by quilt_occur_update. */
static inline void quilt_occur_count(quilt_occur *o, int x, int y)
{
    o->count[(size_t)y * (size_t)o->sw + (size_t)x]++;
}

/* The table after writes at or right of and below (px, py). */
void quilt_occur_update(quilt_occur *o, int px, int py);

void quilt_occur_free(quilt_occur *o);

#endif
