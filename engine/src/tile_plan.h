/* SPDX-License-Identifier: GPL-3.0-or-later
 * The tiling planner (style.md section 7): cuts an image into tiles whose
 * network windows fit the memory budget.
 *
 * Every tile owns an interior rectangle of the image; its window adds a halo
 * of at least half the receptive field on each side (clipped at the edges of
 * a non-periodic canvas, where the whole-image pass sees zero padding too),
 * so the network's output on the interior equals the whole-image output
 * exactly, apart from the whole-image feature means, which the caller
 * supplies.  Origins and sizes are multiples of 2^levels so pooling grids
 * line up.  All windows have one size, so one set of buffers serves them. */
#ifndef FGSD_TILE_PLAN_H
#define FGSD_TILE_PLAN_H

#include <stddef.h>

#include "model.h"

typedef struct tile {
    int ix0, iy0, ix1, iy1; /* interior, image coordinates */
    int wx, wy;             /* window origin, image coordinates (may be < 0) */
} tile;

typedef struct tile_plan {
    int periodic;
    int halo;
    int win_w, win_h;
    int n;
    tile *tile;
} tile_plan;

/* Plans tiles for a w x h image.  max_window: force windows of at most this
 * side (tests; 0 = as large as the budget allows).  Returns FGSD_OK,
 * FGSD_ERR_TOO_LARGE (not even the smallest tile fits: err says the budget)
 * or FGSD_ERR_NO_MEMORY. */
fgsd_status tile_plan_make(tile_plan *p, const fgsd_model *m, int w, int h, int periodic,
                           size_t budget, int max_window, char *err, size_t errlen);
void tile_plan_free(tile_plan *p);

/* Bytes one pass over a window of that size needs (activations + canvas). */
size_t tile_window_bytes(const fgsd_model *m, int win_w, int win_h);

#endif
