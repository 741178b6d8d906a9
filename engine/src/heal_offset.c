/* SPDX-License-Identifier: GPL-3.0-or-later
 * Healing from one offset (heal_offset.h): an exhaustive search, as a
 * clone tool's automatic offset, over the places within reach of the hole
 * (or anywhere in a reference image):
 * every place measured on a sample of the ring (its first SAMPLE pixels in
 * a fixed shuffled order, stopping once the sum exceeds the KEPT-th best),
 * the KEPT best on all of it. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "heal_offset.h"

/* Summed-area table, (w + 1) x (h + 1) counts, of the pixels a copy may
 * not come from: the hole's (hole given) or those outside a reference's
 * selection (mask below one half); all zero when neither is given. */
static uint32_t *forbidden_table(const float *hole, const float *mask, int w, int h)
{
    size_t sw = (size_t)w + 1;
    uint32_t *t = calloc(sw * ((size_t)h + 1), sizeof(uint32_t));

    if (!t)
        return NULL;
    for (int y = 0; y < h; y++) {
        uint32_t row = 0;
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            row += (hole && heal_in_hole(hole, i)) || (mask && !(mask[i] >= 0.5f)) ? 1u : 0u;
            t[(size_t)(y + 1) * sw + (size_t)(x + 1)] = t[(size_t)y * sw + (size_t)(x + 1)] + row;
        }
    }
    return t;
}

/* Forbidden pixels in [x0, x1) x [y0, y1). */
static uint32_t holes_in(const uint32_t *t, int w, int x0, int y0, int x1, int y1)
{
    size_t sw = (size_t)w + 1;

    return t[(size_t)y1 * sw + (size_t)x1] - t[(size_t)y0 * sw + (size_t)x1] -
           t[(size_t)y1 * sw + (size_t)x0] + t[(size_t)y0 * sw + (size_t)x0];
}

/* Places screened on a sample of the ring, and how many of them are
 * measured on all of it. */
#define SAMPLE 192
#define KEPT 16

struct place {
    int x, y;
};

/* A ring pixel: where it is in the image, and where it would be in the
 * source at offset (0, 0). */
struct ring_px {
    size_t at;
    ptrdiff_t src;
};

/* The squared difference at ring pixel r and the source's pixel off past
 * its place there. */
static double ring_cost(const float *image, const float *source, const struct ring_px *r,
                        ptrdiff_t off)
{
    const float *a = image + r->at * 3, *b = source + 3 * (r->src + off);
    double s = 0.0;

    for (int c = 0; c < 3; c++)
        s += ((double)a[c] - b[c]) * ((double)a[c] - b[c]);
    return s;
}

int heal_offset_search(const float *image, const float *hole, int width, int height,
                       const float *source, const float *source_mask, int sw, int sh, int bx,
                       int by, int bw, int bh, int margin, int reach, int *dx, int *dy,
                       double *fit)
{
    /* The box grown by the margin, clipped: the ring is its held pixels. */
    int gx0 = bx - margin > 0 ? bx - margin : 0, gy0 = by - margin > 0 ? by - margin : 0;
    int gx1 = bx + bw + margin < width ? bx + bw + margin : width;
    int gy1 = by + bh + margin < height ? by + bh + margin : height;
    int own = source == NULL;
    size_t n = 0, cap = (size_t)(gx1 - gx0) * (size_t)(gy1 - gy0);
    struct ring_px *ring = malloc((cap ? cap : 1) * sizeof(*ring));
    uint32_t *table;
    double mean[3] = {0.0, 0.0, 0.0}, var = 0.0, best = INFINITY;
    double kept_cost[KEPT];
    struct place kept_off[KEPT];
    uint64_t lcg = 0x9E3779B97F4A7C15ull;
    size_t sample;
    int found = 0, ox0, ox1, oy0, oy1;

    if (own) {
        source = image;
        sw = width;
        sh = height;
    }
    table = forbidden_table(own ? hole : NULL, own ? NULL : source_mask, sw, sh);
    /* Offsets whose grown box lies in the source; within reach in the
     * image itself, anywhere in a reference. */
    ox0 = -gx0;
    ox1 = sw - gx1;
    oy0 = -gy0;
    oy1 = sh - gy1;
    if (own) {
        ox0 = ox0 > -reach ? ox0 : -reach;
        ox1 = ox1 < reach ? ox1 : reach;
        oy0 = oy0 > -reach ? oy0 : -reach;
        oy1 = oy1 < reach ? oy1 : reach;
    }
    for (int i = 0; i < KEPT; i++)
        kept_cost[i] = INFINITY;
    if (!ring || !table)
        goto out;
    for (int y = gy0; y < gy1; y++)
        for (int x = gx0; x < gx1; x++) {
            size_t i = (size_t)y * (size_t)width + (size_t)x;
            if (!heal_in_hole(hole, i))
                ring[n++] = (struct ring_px){i, (ptrdiff_t)y * sw + x};
        }
    if (n == 0)
        goto out;
    /* A fixed shuffle: partial sums in this order estimate the whole. */
    for (size_t k = n - 1; k > 0; k--) {
        size_t j;
        struct ring_px t;
        lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
        j = (size_t)(lcg >> 33) % (k + 1);
        t = ring[k];
        ring[k] = ring[j];
        ring[j] = t;
    }
    for (size_t k = 0; k < n; k++)
        for (int c = 0; c < 3; c++)
            mean[c] += image[ring[k].at * 3 + (size_t)c];
    for (int c = 0; c < 3; c++)
        mean[c] /= (double)n;
    for (size_t k = 0; k < n; k++)
        for (int c = 0; c < 3; c++) {
            double d = image[ring[k].at * 3 + (size_t)c] - mean[c];
            var += d * d;
        }
    var /= (double)n;
    sample = n < SAMPLE ? n : SAMPLE;
    /* Every place on a sample of the ring, the few best of them on all of
     * it: a stochastic texture costs about the same everywhere, so summing
     * all of the ring at every place would rarely stop early. */
    for (int oy = oy0; oy <= oy1; oy++) {
        for (int ox = ox0; ox <= ox1; ox++) {
            ptrdiff_t off = (ptrdiff_t)oy * sw + ox;
            double sum = 0.0;
            size_t k;
            int at;

            if ((own && ox == 0 && oy == 0) ||
                holes_in(table, sw, gx0 + ox, gy0 + oy, gx1 + ox, gy1 + oy))
                continue; /* it would copy the hole, or from outside the selection */
            for (k = 0; k < sample && sum < kept_cost[KEPT - 1]; k++)
                sum += ring_cost(image, source, &ring[k], off);
            if (!(sum < kept_cost[KEPT - 1]))
                continue;
            for (at = KEPT - 1; at > 0 && kept_cost[at - 1] > sum; at--) {
                kept_cost[at] = kept_cost[at - 1];
                kept_off[at] = kept_off[at - 1];
            }
            kept_cost[at] = sum;
            kept_off[at] = (struct place){ox, oy};
        }
    }
    for (int i = 0; i < KEPT && kept_cost[i] < INFINITY; i++) {
        ptrdiff_t off = (ptrdiff_t)kept_off[i].y * sw + kept_off[i].x;
        double sum = 0.0;
        size_t k;

        for (k = 0; k < n && sum < best; k++)
            sum += ring_cost(image, source, &ring[k], off);
        if (k == n && sum < best) {
            best = sum;
            *dx = kept_off[i].x;
            *dy = kept_off[i].y;
            found = 1;
        }
    }
    if (found)
        *fit = var > 0.0 ? best / (double)n / (2.0 * var) : (best > 0.0 ? 1.0 : 0.0);
out:
    free(ring);
    free(table);
    return found;
}

void heal_offset_fill(const float *hole, int width, int height, const float *source, int sw,
                      int bx, int by, int bw, int bh, int dx, int dy, float *canvas,
                      float *shadow)
{
    int x0 = bx > 0 ? bx - 1 : 0, y0 = by > 0 ? by - 1 : 0;
    int x1 = bx + bw < width ? bx + bw + 1 : width, y1 = by + bh < height ? by + bh + 1 : height;

    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            size_t i = (size_t)y * (size_t)width + (size_t)x;
            size_t s = (size_t)(y + dy) * (size_t)sw + (size_t)(x + dx);

            for (int c = 0; c < 3; c++) {
                if (heal_in_hole(hole, i))
                    canvas[i * 3 + (size_t)c] = source[s * 3 + (size_t)c];
                shadow[i * 3 + (size_t)c] = source[s * 3 + (size_t)c];
            }
        }
}
