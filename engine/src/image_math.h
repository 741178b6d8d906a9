/* SPDX-License-Identifier: GPL-3.0-or-later
 * The sampler's arithmetic on host images (interleaved RGB or one plane):
 * what the host loop computes, and what a backend's images (backend.h
 * image_*) must compute to the bit.  Written once here so that the two
 * cannot drift apart. */
#ifndef FGSD_IMAGE_MATH_H
#define FGSD_IMAGE_MATH_H

#include <stddef.h>

/* One value of SISA's update x - h (x - d) + g z, in double. */
static inline float sisa_update_value(float x, float d, float z, double h, double g)
{
    return (float)(x - h * ((double)x - d) + g * z);
}

/* The sum of (x[i] - d[i])^2 over n values, in double, in index order. */
double residual_sum(const float *x, const float *d, size_t n);

/* v (w x h, one plane) <- its low-pass: a box filter of width k (at most
 * the side) with wrap-around, twice each way, rows first; sums in double.
 * line: max(w, h) doubles of scratch.  The channel means stay exact. */
void lowpass_plane(float *v, int w, int h, int k, double *line);

/* v (interleaved RGB) <- v + sign * lowpass(a - b) (b NULL: of a), each
 * channel through buf (w x h floats) and line (as lowpass_plane's). */
void add_lowpass(float *v, float sign, const float *a, const float *b, int w, int h, int k,
                 float *buf, double *line);

#endif
