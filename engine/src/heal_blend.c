/* SPDX-License-Identifier: GPL-3.0-or-later
 * Seamless cloning of a heal's squares (quilt.h heal_blend; Pérez,
 * Gangnet and Blake's Poisson image editing with the squares as the
 * guidance field): the correction d solves Laplace's equation on the hole
 * with d = image - squares on the held pixels around it, by successive
 * over-relaxation at the optimal factor of a square of the box's side. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quilt.h"

/* Stop when no value moves by more than this in a sweep (a 16-bit level is
 * 1.5e-5), or after BLEND_SWEEPS_PER_SIDE sweeps per pixel of the box's
 * longer side. */
#define BLEND_TOLERANCE 1e-6
#define BLEND_SWEEPS_PER_SIDE 4
#define BLEND_PROGRESS_EVERY 32

fgsd_status heal_blend(fgsd_session *s, float *canvas, const float *image, const float *shadow,
                       const float *hole, int x0, int y0, int bw, int bh, int width, int height)
{
    static const int dx[4] = {-1, 1, 0, 0}, dy[4] = {0, 0, -1, 1};
    size_t nb = (size_t)bw * (size_t)bh;
    double *d = calloc(nb * 3, sizeof(double));
    int side = bw > bh ? bw : bh;
    int sweeps = BLEND_SWEEPS_PER_SIDE * side + 100;
    double omega = 2.0 / (1.0 + sin(3.141592653589793 / (double)(side + 1)));
    fgsd_status st = FGSD_OK;

    if (!d)
        return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for the heal's blend");
    for (int it = 0; it < sweeps; it++) {
        double moved = 0.0;

        for (int y = 0; y < bh; y++)
            for (int x = 0; x < bw; x++) {
                size_t at = (size_t)(y0 + y) * (size_t)width + (size_t)(x0 + x);
                double sum[3] = {0.0, 0.0, 0.0};
                int k = 0;

                if (!(hole[at] > 0.0f))
                    continue;
                for (int j = 0; j < 4; j++) {
                    int nx = x0 + x + dx[j], ny = y0 + y + dy[j];
                    size_t nat;

                    if (nx < 0 || ny < 0 || nx >= width || ny >= height)
                        continue; /* the image's edge: no condition */
                    nat = (size_t)ny * (size_t)width + (size_t)nx;
                    k++;
                    for (int c = 0; c < 3; c++) {
                        if (hole[nat] > 0.0f) /* inside the box: the hole's box holds it */
                            sum[c] += d[((size_t)(ny - y0) * (size_t)bw + (size_t)(nx - x0)) * 3 +
                                        (size_t)c];
                        else
                            sum[c] += (double)image[nat * 3 + (size_t)c] -
                                      (double)shadow[nat * 3 + (size_t)c];
                    }
                }
                for (int c = 0; c < 3 && k; c++) {
                    double *v = &d[((size_t)y * (size_t)bw + (size_t)x) * 3 + (size_t)c];
                    double step = omega * (sum[c] / k - *v);

                    *v += step;
                    moved = fabs(step) > moved ? fabs(step) : moved;
                }
            }
        if (moved < BLEND_TOLERANCE)
            break;
        if (it % BLEND_PROGRESS_EVERY == BLEND_PROGRESS_EVERY - 1 &&
            session_progress(s, 0, 0.0f, (float)(it + 1) / (float)sweeps)) {
            st = session_fail(s, FGSD_ERR_CANCELLED, "cancelled while the fill was blended");
            break;
        }
    }
    for (int y = 0; !st && y < bh; y++)
        for (int x = 0; x < bw; x++) {
            size_t at = (size_t)(y0 + y) * (size_t)width + (size_t)(x0 + x);

            if (hole[at] > 0.0f)
                for (int c = 0; c < 3; c++)
                    canvas[at * 3 + (size_t)c] +=
                        (float)d[((size_t)y * (size_t)bw + (size_t)x) * 3 + (size_t)c];
        }
    free(d);
    return st;
}
