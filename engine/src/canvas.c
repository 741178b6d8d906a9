/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "canvas.h"

static int round_up(int v, int m)
{
    return (v + m - 1) / m * m;
}

static void canvas_size(int w, int h, int multiple, int wrap_halo, int *cw, int *ch)
{
    int pad = wrap_halo > 0 ? 2 * wrap_halo : 0;

    /* A periodic canvas must be a whole number of periods past the halo only
     * on the right and bottom, so rounding up is harmless there. */

    *cw = round_up(w + pad, multiple);
    *ch = round_up(h + pad, multiple);
}

size_t canvas_bytes(int w, int h, int channels, int multiple, int wrap_halo)
{
    int cw, ch;

    canvas_size(w, h, multiple, wrap_halo, &cw, &ch);
    return (size_t)cw * (size_t)ch * sizeof(float) * (size_t)(2 * channels + 1);
}

int canvas_init(canvas *cv, int w, int h, int channels, int multiple, int wrap_halo)
{
    size_t n;

    memset(cv, 0, sizeof(*cv));
    if (w <= 0 || h <= 0 || w > (1 << 20) || h > (1 << 20))
        return -1;
    canvas_size(w, h, multiple, wrap_halo, &cv->width, &cv->height);
    cv->image_width = w;
    cv->image_height = h;
    cv->x0 = cv->y0 = wrap_halo > 0 ? wrap_halo : 0;
    cv->periodic = wrap_halo >= 0;
    n = (size_t)cv->width * (size_t)cv->height;
    if (n > SIZE_MAX / sizeof(float) / (size_t)channels)
        return -1;
    cv->chw = malloc(n * (size_t)channels * sizeof(float));
    cv->out = malloc(n * (size_t)channels * sizeof(float));
    cv->mask = malloc(n * sizeof(float));
    if (!cv->chw || !cv->out || !cv->mask) {
        canvas_free(cv);
        return -1;
    }
    return 0;
}

int canvas_init_window(canvas *cv, int win_w, int win_h, int img_w, int img_h, int channels,
                       int wx, int wy, int periodic, int pixels)
{
    size_t n = (size_t)win_w * (size_t)win_h;

    memset(cv, 0, sizeof(*cv));
    cv->width = win_w;
    cv->height = win_h;
    cv->image_width = img_w;
    cv->image_height = img_h;
    cv->x0 = -wx;
    cv->y0 = -wy;
    cv->periodic = periodic;
    if (pixels) {
        cv->chw = malloc(n * (size_t)channels * sizeof(float));
        cv->out = malloc(n * (size_t)channels * sizeof(float));
    }
    cv->mask = malloc(n * sizeof(float));
    if ((pixels && (!cv->chw || !cv->out)) || !cv->mask) {
        canvas_free(cv);
        return -1;
    }
    return 0;
}

void canvas_free(canvas *cv)
{
    free(cv->chw);
    free(cv->out);
    free(cv->mask);
    memset(cv, 0, sizeof(*cv));
}

/* Mirror index i into [0, n) without repeating the edge (reflect padding). */
static int mirror(int i, int n)
{
    if (n == 1)
        return 0;
    int period = 2 * (n - 1);
    i %= period;
    if (i < 0)
        i += period;
    return i < n ? i : period - i;
}

static int wrap(int i, int n)
{
    i %= n;
    return i < 0 ? i + n : i;
}

/* Source pixel of canvas position (x, y). */
static void source_of(const canvas *cv, int x, int y, int *sx, int *sy)
{
    int ix = x - cv->x0, iy = y - cv->y0;

    if (cv->periodic) {
        *sx = wrap(ix, cv->image_width);
        *sy = wrap(iy, cv->image_height);
    } else {
        *sx = mirror(ix, cv->image_width);
        *sy = mirror(iy, cv->image_height);
    }
}

void canvas_fill(canvas *cv, const float *hwc, int channels)
{
    size_t plane = (size_t)cv->width * (size_t)cv->height;

    for (int y = 0; y < cv->height; y++) {
        for (int x = 0; x < cv->width; x++) {
            int sx, sy;
            source_of(cv, x, y, &sx, &sy);
            const float *p = &hwc[((size_t)sy * (size_t)cv->image_width + (size_t)sx) *
                                  (size_t)channels];
            size_t o = (size_t)y * (size_t)cv->width + (size_t)x;
            for (int c = 0; c < channels; c++)
                cv->chw[(size_t)c * plane + o] = p[c];
        }
    }
}

void canvas_set_mask(canvas *cv, const float *image_mask)
{
    for (int y = 0; y < cv->height; y++) {
        for (int x = 0; x < cv->width; x++) {
            int ix = x - cv->x0, iy = y - cv->y0;
            float v = 0.0f;
            if (ix >= 0 && iy >= 0 && ix < cv->image_width && iy < cv->image_height)
                v = image_mask ? image_mask[(size_t)iy * (size_t)cv->image_width + (size_t)ix]
                               : 1.0f;
            cv->mask[(size_t)y * (size_t)cv->width + (size_t)x] = v;
        }
    }
}

void canvas_set_mask_rect(canvas *cv, int x0, int y0, int x1, int y1)
{
    for (int y = 0; y < cv->height; y++) {
        for (int x = 0; x < cv->width; x++) {
            int ix = x - cv->x0, iy = y - cv->y0;
            int in = ix >= x0 && ix < x1 && iy >= y0 && iy < y1;
            cv->mask[(size_t)y * (size_t)cv->width + (size_t)x] = in ? 1.0f : 0.0f;
        }
    }
}

void canvas_store(const canvas *cv, int channels, int x0, int y0, int x1, int y1,
                  const float *x, int residual, float *clean)
{
    size_t plane = (size_t)cv->width * (size_t)cv->height;

    for (int y = y0; y < y1; y++)
        for (int xx = x0; xx < x1; xx++) {
            size_t o = (size_t)(y + cv->y0) * (size_t)cv->width + (size_t)(xx + cv->x0);
            size_t k = ((size_t)y * (size_t)cv->image_width + (size_t)xx) * (size_t)channels;
            for (int c = 0; c < channels; c++) {
                float v = cv->out[(size_t)c * plane + o];
                clean[k + (size_t)c] = residual ? x[k + (size_t)c] - v : v;
            }
        }
}
