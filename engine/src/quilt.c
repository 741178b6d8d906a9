/* SPDX-License-Identifier: GPL-3.0-or-later
 * Quilting (the patch start, issue 19; docs/design.md "Patch start").
 *
 * The canvas is covered in raster order by squares of side p on a grid of
 * stride p - p / 4, so neighbours overlap by v = p / 4 pixels.  Each square
 * is the best of q->candidates positions in the source, drawn from the
 * counter hash (seed, QUILT_RNG_STEP, 2 (cell candidates + k) [+ 1]): best =
 * the least squared difference with what the canvas already holds over the
 * overlap (the bands of the squares above and to the left).  Overlaps are
 * cross-faded linearly (weights (i + 1) / (v + 1) in, the mirror out), and
 * the canvas is the weighted mean.  With a mask (a selection), squares less
 * than QUILT_MIN_COVER inside it are skipped and more positions drawn (the
 * hash's index wraps past 2^32 on canvases far above 8192², which only
 * repeats draws).  Every float operation is the one
 * models/sisa.py patch_start does in float32 (the errors in double), so the
 * two agree to rounding (tests/python/test_patch_start.py). */
#include <stdlib.h>
#include <string.h>

#include "quilt.h"
#include "rng_core.h"

/* A square must lie this much inside a masked source to be used. */
#define QUILT_MIN_COVER 0.99
#define QUILT_MASK_DRAWS 16

uint32_t quilt_uniform_int(uint64_t seed, uint32_t step, uint32_t index, uint32_t n)
{
    uint64_t key = rng_core_key(seed);
    uint64_t counter = ((uint64_t)step << 32) | index;
    uint64_t r = rng_core_mix(rng_core_mix(counter ^ key) + key);

    return (uint32_t)(((r >> 40) * (uint64_t)n) >> 24);
}

typedef struct quilt {
    const float *src, *mask;
    int sw, sh, p, v, s;
    int width, height;
    float *acc;    /* weighted sum, width x height x 3 */
    float *weight; /* summed weights, width x height */
    float *lead;   /* v fade-in weights */
    double *cover; /* summed-area table of mask, (sw + 1) x (sh + 1), or NULL */
} quilt;

/* The feather of a square's n pixels along one axis: fades in after its
 * first neighbour, out before its last (full squares only). */
static float feather(const quilt *qt, int i, int n, int first, int last)
{
    if (qt->v && !first && i < qt->v)
        return qt->lead[i];
    if (qt->v && !last && n == qt->p && i >= n - qt->v)
        return qt->lead[n - 1 - i];
    return 1.0f;
}

/* Mean mask weight of the p x p square at (x, y) of the source. */
static double square_cover(const quilt *qt, int x, int y)
{
    size_t stride = (size_t)qt->sw + 1;
    const double *c = qt->cover;
    double sum = c[(size_t)(y + qt->p) * stride + (size_t)(x + qt->p)] -
                 c[(size_t)y * stride + (size_t)(x + qt->p)] -
                 c[(size_t)(y + qt->p) * stride + (size_t)x] + c[(size_t)y * stride + (size_t)x];

    return sum / ((double)qt->p * qt->p);
}

/* Squared difference of the h x w source square at (px, py) with the
 * canvas where it already holds something. */
static double overlap_error(const quilt *qt, int x0, int y0, int w, int h, int px, int py)
{
    double err = 0.0;

    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t at = (size_t)(y0 + y) * (size_t)qt->width + (size_t)(x0 + x);
            const float *sp = qt->src + ((size_t)(py + y) * (size_t)qt->sw + (size_t)(px + x)) * 3;
            float wt = qt->weight[at];

            if (!(wt > 0.0f))
                continue;
            for (int c = 0; c < 3; c++) {
                float here = qt->acc[at * 3 + (size_t)c] / wt;
                double d = (double)sp[c] - (double)here;

                err += d * d;
            }
        }
    }
    return err;
}

/* The source position of square (gx, gy): the best of the candidates. */
static void choose(const quilt *qt, const fgsd_patch_params *q, int gx, int gy, int cols,
                   int *bx, int *by)
{
    int x0 = gx * qt->s, y0 = gy * qt->s;
    int w = qt->p < qt->width - x0 ? qt->p : qt->width - x0;
    int h = qt->p < qt->height - y0 ? qt->p : qt->height - y0;
    uint32_t cell = (uint32_t)gy * (uint32_t)cols + (uint32_t)gx;
    double best = 0.0, best_cover = -1.0;
    int have = 0;

    /* With a mask, up to QUILT_MASK_DRAWS times as many positions are drawn
     * to find candidates inside it. */
    int draws = qt->cover ? q->candidates * QUILT_MASK_DRAWS : q->candidates;
    int inside = 0;

    for (int k = 0; k < draws && inside < q->candidates; k++) {
        uint32_t i = 2u * (cell * (uint32_t)draws + (uint32_t)k);
        int py = (int)quilt_uniform_int(q->seed, QUILT_RNG_STEP, i, (uint32_t)(qt->sh - qt->p + 1));
        int px = (int)quilt_uniform_int(q->seed, QUILT_RNG_STEP, i + 1,
                                        (uint32_t)(qt->sw - qt->p + 1));
        double err;

        if (qt->cover) {
            /* Outside the selection: usable only while nothing inside was found. */
            double cover = square_cover(qt, px, py);

            if (cover < QUILT_MIN_COVER) {
                if (!have && cover > best_cover) {
                    best_cover = cover;
                    *bx = px;
                    *by = py;
                }
                continue;
            }
        }
        inside++;
        if (gx == 0 && gy == 0) {
            *bx = px;
            *by = py;
            return;
        }
        err = overlap_error(qt, x0, y0, w, h, px, py);
        if (!have || err < best) {
            have = 1;
            best = err;
            *bx = px;
            *by = py;
        }
    }
}

static void place(quilt *qt, int gx, int gy, int cols, int rows, int px, int py)
{
    int x0 = gx * qt->s, y0 = gy * qt->s;
    int w = qt->p < qt->width - x0 ? qt->p : qt->width - x0;
    int h = qt->p < qt->height - y0 ? qt->p : qt->height - y0;

    for (int y = 0; y < h; y++) {
        float wy = feather(qt, y, h, gy == 0, gy == rows - 1);

        for (int x = 0; x < w; x++) {
            size_t at = (size_t)(y0 + y) * (size_t)qt->width + (size_t)(x0 + x);
            const float *sp = qt->src + ((size_t)(py + y) * (size_t)qt->sw + (size_t)(px + x)) * 3;
            float wt = wy * feather(qt, x, w, gx == 0, gx == cols - 1);

            for (int c = 0; c < 3; c++)
                qt->acc[at * 3 + (size_t)c] += wt * sp[c];
            qt->weight[at] += wt;
        }
    }
}

static fgsd_status make_cover(fgsd_session *s, quilt *qt)
{
    size_t stride = (size_t)qt->sw + 1;

    qt->cover = calloc(stride * ((size_t)qt->sh + 1), sizeof(double));
    if (!qt->cover)
        return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for the reference's mask");
    for (int y = 0; y < qt->sh; y++) {
        double row = 0.0;

        for (int x = 0; x < qt->sw; x++) {
            row += qt->mask[(size_t)y * (size_t)qt->sw + (size_t)x];
            qt->cover[(size_t)(y + 1) * stride + (size_t)(x + 1)] =
                qt->cover[(size_t)y * stride + (size_t)(x + 1)] + row;
        }
    }
    return FGSD_OK;
}

fgsd_status quilt_fill(fgsd_session *s, const float *src, const float *mask, int sw, int sh,
                       const fgsd_patch_params *q, int width, int height, float *out)
{
    quilt qt = {.src = src, .mask = mask, .sw = sw, .sh = sh, .width = width, .height = height};
    size_t pixels = (size_t)width * (size_t)height;
    fgsd_status st = FGSD_OK;
    int cols, rows;

    qt.p = q->patch < sw ? q->patch : sw;
    qt.p = qt.p < sh ? qt.p : sh;
    qt.v = qt.p / 4;
    qt.s = qt.p - qt.v;
    cols = width - qt.v > qt.s ? (width - qt.v + qt.s - 1) / qt.s : 1;
    rows = height - qt.v > qt.s ? (height - qt.v + qt.s - 1) / qt.s : 1;
    qt.acc = calloc(pixels * 3, sizeof(float));
    qt.weight = calloc(pixels, sizeof(float));
    qt.lead = malloc((size_t)(qt.v + 1) * sizeof(float));
    if (!qt.acc || !qt.weight || !qt.lead)
        st = session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for a %dx%d patch start", width,
                          height);
    for (int i = 0; !st && i < qt.v; i++)
        qt.lead[i] = (float)(i + 1) / (float)(qt.v + 1);
    if (!st && mask)
        st = make_cover(s, &qt);
    for (int gy = 0; !st && gy < rows; gy++) {
        for (int gx = 0; gx < cols; gx++) {
            int px = 0, py = 0;

            choose(&qt, q, gx, gy, cols, &px, &py);
            place(&qt, gx, gy, cols, rows, px, py);
        }
        if (session_progress(s, 0, 0.0f, (float)(gy + 1) / (float)rows))
            st = session_fail(s, FGSD_ERR_CANCELLED, "cancelled while the patches were laid");
    }
    for (size_t i = 0; !st && i < pixels; i++) {
        float wt = qt.weight[i] > 1e-12f ? qt.weight[i] : 1e-12f;

        for (int c = 0; c < 3; c++)
            out[i * 3 + (size_t)c] = qt.acc[i * 3 + (size_t)c] / wt;
    }
    free(qt.acc);
    free(qt.weight);
    free(qt.lead);
    free(qt.cover);
    return st;
}
