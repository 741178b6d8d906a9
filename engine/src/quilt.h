/* SPDX-License-Identifier: GPL-3.0-or-later
 * The patch start of a synthesis (issue 19): the canvas quilted from
 * squares of the reference image, as models/sisa.py patch_start does. */
#ifndef FGSD_QUILT_H
#define FGSD_QUILT_H

#include "session.h"

/* The rng step of the squares' positions: above any sampler step. */
#define QUILT_RNG_STEP 0x7FFFFFFEu

/* An integer in [0, n) from (seed, step, index): the counter hash's top 24
 * bits scaled by n (models/fgsd_rng.py uniform_int). */
uint32_t quilt_uniform_int(uint64_t seed, uint32_t step, uint32_t index, uint32_t n);

/* Checks the patch settings (q non-NULL, patch 0 or >= 8, candidates in
 * range) and a source mask's values (NULL passes); an error on s. */
fgsd_status quilt_check(fgsd_session *s, const fgsd_patch_params *q, const float *mask, int sw,
                        int sh);

/* The side of the squares: patch, or for patch 0 3/8 of the source's
 * smaller side (8..128); at most that side. */
int quilt_patch_side(int patch, int sw, int sh);

/* out (width x height RGB; scratch on failure) <- squares of src (sw x sh RGB; mask NULL or its
 * per-pixel weights, squares mostly outside it are avoided) as described at
 * fgsd_synthesize_from_patches.  Reports progress per row of squares and
 * can be cancelled. */
fgsd_status quilt_fill(fgsd_session *s, const float *src, const float *mask, int sw, int sh,
                       const fgsd_patch_params *q, int width, int height, float *out);

/* Texture transfer's square side: patch, or for 0 1/8 of the source's
 * smaller side (8..64); at most that side. */
int quilt_transfer_side(int patch, int sw, int sh);

/* out (width x height RGB) <- image redrawn in squares of src (sw x sh,
 * mask as quilt_fill) as described at fgsd_restyle_from_patches; alpha
 * in [0, 1] weighs the squares' fit to each other against their luminance's
 * fit to the image's; tone NULL, or the luma mean and spread to move the
 * image's luminance with instead of its own (fgsd_restyle_part_from_patches).
 * Progress and cancel as quilt_fill. */
fgsd_status quilt_transfer(fgsd_session *s, const float *src, const float *mask, int sw, int sh,
                           const fgsd_patch_params *q, float alpha, const float *image, int width,
                           int height, const double *tone, float *out);

/* Interpolation: out (width x height RGB) covered with squares of the n
 * sources as described at fgsd_interpolate_from_patches.  Progress and
 * cancel as quilt_fill. */
fgsd_status quilt_mix(fgsd_session *s, const fgsd_patch_source *src, int n,
                      const fgsd_patch_params *q, int width, int height, float *out);

/* Heal: canvas (width x height RGB, the image) gets squares of side patch
 * from src (sw x sh, mask NULL or the pixels a square may take: the band
 * around the hole when src is the image, then whole = 1: squares wholly
 * inside it, as its edge is the hole) over its hole pixels (hole > 0),
 * covering the hole's box (x0, y0, bw x bh) grown by the overlap; the
 * pixels outside the hole are held.  shadow (NULL, or width x height RGB,
 * the image on entry) receives the squares' own values where they cover
 * held pixels (heal_blend's boundary).  FGSD_ERR_TOO_SMALL when no square
 * fits in the mask. */
fgsd_status quilt_heal(fgsd_session *s, const float *src, const float *mask, int whole, int sw,
                       int sh, int patch, const fgsd_patch_params *q, const float *hole, int x0,
                       int y0, int bw, int bh, int width, int height, float *canvas,
                       float *shadow);

/* Seamless cloning of a heal's fill (docs/design.md "Heal from patches"):
 * canvas (width x height RGB) += d on the hole pixels (hole > 0) inside the
 * box (x0, y0, bw x bh), d harmonic there and equal to image - shadow on the
 * held pixels next to them, so the fill's gradients stay and its edge meets
 * the image.  Successive over-relaxation; progress and cancel. */
fgsd_status heal_blend(fgsd_session *s, float *canvas, const float *image, const float *shadow,
                       const float *hole, int x0, int y0, int bw, int bh, int width, int height);

#endif
