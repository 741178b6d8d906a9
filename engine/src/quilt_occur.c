/* SPDX-License-Identifier: GPL-3.0-or-later
 * A quilt's occurrence map (quilt_occur.h). */
#include <stdlib.h>

#include "quilt_occur.h"
#include "sat.h"

fgsd_status quilt_occur_init(fgsd_session *s, quilt_occur *o, const float *src, const float *mask,
                             int sw, int sh, int p, double canvas_px)
{
    size_t n = (size_t)sw * (size_t)sh;
    double sum[3] = {0.0, 0.0, 0.0}, area = 0.0, sq = 0.0, share;

    o->sw = sw;
    o->sh = sh;
    o->count = calloc(n, sizeof(unsigned));
    o->sat = calloc(((size_t)sw + 1) * ((size_t)sh + 1), sizeof(double));
    if (!o->count || !o->sat)
        return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for the patches' counts");
    /* Mean and variance over the selection, in pixel order (sisa.py
     * _Occurrence adds in the same order). */
    for (size_t i = 0; i < n; i++) {
        double w = mask ? (double)mask[i] : 1.0;

        area += w;
        for (int c = 0; c < 3; c++)
            sum[c] += w * (double)src[i * 3 + (size_t)c];
    }
    for (size_t i = 0; i < n; i++) {
        double w = mask ? (double)mask[i] : 1.0;

        for (int c = 0; c < 3; c++) {
            double d = (double)src[i * 3 + (size_t)c] - sum[c] / area;

            sq += w * d * d;
        }
    }
    /* share: the times a pixel is written when all are written evenly (a
     * source given no squares is never scored) */
    share = canvas_px > 0.0 ? canvas_px / area : 1.0;
    o->weight = QUILT_OCCUR * (sq / area) / share / ((double)p * (double)p);
    return FGSD_OK;
}

double quilt_occur_cost(const quilt_occur *o, int px, int py, int p, double n)
{
    return o->weight * n * sat_square_sum(o->sat, o->sw, px, py, p);
}

/* Counts are whole numbers, so the table is exact in double whatever the
 * order of the additions. */
void quilt_occur_update(quilt_occur *o, int px, int py)
{
    size_t stride = (size_t)o->sw + 1;

    for (int y = py; y < o->sh; y++) {
        /* the row's sum left of px has not changed */
        double row = o->sat[(size_t)(y + 1) * stride + (size_t)px] -
                     o->sat[(size_t)y * stride + (size_t)px];

        for (int x = px; x < o->sw; x++) {
            row += (double)o->count[(size_t)y * (size_t)o->sw + (size_t)x];
            o->sat[(size_t)(y + 1) * stride + (size_t)(x + 1)] =
                o->sat[(size_t)y * stride + (size_t)(x + 1)] + row;
        }
    }
}

void quilt_occur_free(quilt_occur *o)
{
    free(o->count);
    free(o->sat);
    o->count = NULL;
    o->sat = NULL;
}
