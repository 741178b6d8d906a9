/* SPDX-License-Identifier: GPL-3.0-or-later
 * One denoiser pass over a whole image (the sampler's inner call). */
#ifndef FGSD_DENOISE_H
#define FGSD_DENOISE_H

#include "session.h"

/* State carried between the passes of one sampler run. */
typedef struct denoise_ctx {
    int periodic;     /* wrap-around padding: tileable output */
    int max_window;   /* tests: force tiles of at most this side (0 = budget) */
    int lagged;       /* tiled: exact means only every DENOISE_EXACT_EVERY passes (sampler) */
    int pass;         /* passes run so far */
    int anchors;      /* exact means kept: 0, 1 or 2 */
    int anchor_pass[2];
    float *anchor[2]; /* [0] the latest exact means, [1] the ones before */
    int tiles;        /* out: tiles per pass */
} denoise_ctx;

/* A lagged (sampler) run finds the exact means by staged passes at every
 * DENOISE_EXACT_EVERY-th pass and extrapolates between those. */
#define DENOISE_EXACT_EVERY 4

/* clean = D(x; phi) for an interleaved RGB image of w x h.  phi NULL = no
 * projection.  ctx NULL = defaults (not periodic, exact).
 *
 * Feature means are whole-image quantities.  When the image needs several
 * tiles they are found exactly by staged passes (one per feature block, each
 * running the net up to that block on every tile, about 3x the cost).  With
 * ctx->lagged (the sampler) only every DENOISE_EXACT_EVERY-th pass does
 * that; the passes between project with the means extrapolated linearly
 * from the last two exact ones (x moves little and smoothly per step).
 * Never from a lagged pass's own measured means: those carry the error of
 * the means it projected with, and feeding them back diverged on a trained
 * model; docs/design.md ("Tiling") gives the measured deviation. */
fgsd_status denoise_image(fgsd_session *s, const float *x, int w, int h, const float *phi,
                          denoise_ctx *ctx, float *clean);
void denoise_ctx_free(denoise_ctx *ctx);

/* denoise_image on the backend's images (backend.h image_*): the windows
 * are filled and their interiors stored where the images live.  No retry
 * when memory runs out: the images belong to this backend, which the
 * retry may leave (the sampler runs again on the host instead). */
fgsd_status denoise_backend_image(fgsd_session *s, const backend_image *x, int w, int h,
                                  const float *phi, denoise_ctx *ctx, backend_image *clean);

/* Fails as denoise_image's first pass would when its tiles cannot be
 * planned (budget, tile size): a task that does other work first (a patch
 * start) says so before it. */
fgsd_status denoise_plan_check(fgsd_session *s, int w, int h, int periodic);


#endif
