/* SPDX-License-Identifier: GPL-3.0-or-later
 * Summed-area tables: t is (w + 1) x (h + 1), row 0 and column 0 zero,
 * t[(y + 1)(w + 1) + x + 1] the sum of the image over [0, x] x [0, y]. */
#ifndef FGSD_SAT_H
#define FGSD_SAT_H

#include <stddef.h>

/* The sum of the image of width w over the p x p square at (x, y). */
static inline double sat_square_sum(const double *t, int w, int x, int y, int p)
{
    size_t stride = (size_t)w + 1;

    return t[(size_t)(y + p) * stride + (size_t)(x + p)] - t[(size_t)y * stride + (size_t)(x + p)] -
           t[(size_t)(y + p) * stride + (size_t)x] + t[(size_t)y * stride + (size_t)x];
}

#endif
