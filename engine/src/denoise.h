/* SPDX-License-Identifier: GPL-3.0-or-later
 * One denoiser pass over a whole image (the sampler's inner call). */
#ifndef FGSD_DENOISE_H
#define FGSD_DENOISE_H

#include "session.h"

/* State carried between the passes of one sampler run. */
typedef struct denoise_ctx {
    int periodic;     /* wrap-around padding: tileable output */
    int max_window;   /* tests: force tiles of at most this side (0 = budget) */
    int lagged;       /* tiled: reuse the previous pass' means (sampler) */
    int have_means;
    float *means;     /* whole-image feature means of the previous pass */
    float *older;     /* and of the pass before it (have_means == 2) */
    int tiles;        /* out: tiles per pass */
} denoise_ctx;

/* clean = D(x; phi) for an interleaved RGB image of w x h.  phi NULL = no
 * projection.  ctx NULL = defaults (not periodic, exact).
 *
 * Feature means are whole-image quantities.  When the image needs several
 * tiles they are found exactly by staged passes (one per feature block, each
 * running the net up to that block on every tile, about 3x the cost), unless
 * ctx->lagged and earlier passes left their means: the sampler then
 * projects with the means extrapolated from the last two steps (x moves
 * little and smoothly per step), one pass per step; docs/design.md
 * ("Tiling") gives the measured deviation. */
fgsd_status denoise_image(fgsd_session *s, const float *x, int w, int h, const float *phi,
                          denoise_ctx *ctx, float *clean);
void denoise_ctx_free(denoise_ctx *ctx);

/* Checks an image argument: size limits and finite values. */
fgsd_status check_image(fgsd_session *s, const float *rgb, int w, int h, int min_side);

#endif
