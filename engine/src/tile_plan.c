/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canvas.h"
#include "tile_plan.h"
#include "unet.h"

static int round_up(int v, int m)
{
    return (v + m - 1) / m * m;
}

static int div_up(int a, int b)
{
    return (a + b - 1) / b;
}

size_t tile_window_bytes(const fgsd_model *m, int win_w, int win_h)
{
    size_t a = unet_activation_bytes(m, win_w, win_h);
    size_t c = canvas_bytes(win_w, win_h, m->info.channels, m->info.size_multiple, -1);

    return a > SIZE_MAX - c ? SIZE_MAX : a + c;
}

/* One axis: interior size per tile and tile count for length n. */
static void split_axis(int n, int interior, int multiple, int *count, int *size)
{
    *count = div_up(n, interior);
    *size = round_up(div_up(n, *count), multiple); /* balanced tiles */
}

static int fits(const fgsd_model *m, int win, size_t budget)
{
    return tile_window_bytes(m, win, win) <= budget;
}

fgsd_status tile_plan_make(tile_plan *p, const fgsd_model *m, int w, int h, int periodic,
                           size_t budget, int max_window, char *err, size_t errlen)
{
    int k = m->info.size_multiple;
    int halo = round_up((m->info.receptive_field + 1) / 2, k);
    int whole_w = round_up(w + (periodic ? 2 * halo : 0), k);
    int whole_h = round_up(h + (periodic ? 2 * halo : 0), k);
    int virt_w = round_up(w, k), virt_h = round_up(h, k);
    int interior, nx, ny, tw, th;

    memset(p, 0, sizeof(*p));
    p->periodic = periodic;
    p->halo = halo;
    if (tile_window_bytes(m, whole_w, whole_h) <= budget &&
        (max_window <= 0 || (whole_w <= max_window && whole_h <= max_window))) {
        p->win_w = whole_w;
        p->win_h = whole_h;
        p->n = 1;
        p->tile = calloc(1, sizeof(tile));
        if (!p->tile)
            return FGSD_ERR_NO_MEMORY;
        p->tile[0] = (tile){0, 0, w, h, periodic ? -halo : 0, periodic ? -halo : 0};
        return FGSD_OK;
    }
    /* Largest interior (a multiple of k) whose square window fits: the
     * window's bytes grow with its side, so bisect over multiples of k
     * (halving instead left tiles up to half too small: more halo work). */
    {
        int lo = 1, hi = round_up(w > h ? w : h, k) / k;

        while (lo < hi) {
            int mid = lo + (hi - lo + 1) / 2, win = mid * k + 2 * halo;

            if (fits(m, win, budget) && (max_window <= 0 || win <= max_window))
                lo = mid;
            else
                hi = mid - 1;
        }
        interior = lo * k;
    }
    if (max_window > 0 && interior + 2 * halo > max_window) {
        snprintf(err, errlen,
                 "a tile window of %d px is too small: the network needs %d px of context "
                 "around each tile, so a window is at least %d px",
                 max_window, halo, k + 2 * halo);
        return FGSD_ERR_INVALID_ARGUMENT;
    }
    if (!fits(m, interior + 2 * halo, budget)) {
        snprintf(err, errlen,
                 "even a %dx%d tile needs %zu MiB, above the memory budget of %zu MiB",
                 interior + 2 * halo, interior + 2 * halo,
                 tile_window_bytes(m, interior + 2 * halo, interior + 2 * halo) >> 20,
                 budget >> 20);
        return FGSD_ERR_TOO_LARGE;
    }
    split_axis(w, interior, k, &nx, &tw);
    split_axis(h, interior, k, &ny, &th);
    p->win_w = tw + 2 * halo;
    p->win_h = th + 2 * halo;
    if (!periodic) {
        if (p->win_w > virt_w)
            p->win_w = virt_w;
        if (p->win_h > virt_h)
            p->win_h = virt_h;
    }
    p->n = nx * ny;
    p->tile = calloc((size_t)p->n, sizeof(tile));
    if (!p->tile)
        return FGSD_ERR_NO_MEMORY;
    for (int j = 0; j < ny; j++) {
        for (int i = 0; i < nx; i++) {
            tile *t = &p->tile[j * nx + i];
            t->ix0 = i * tw;
            t->iy0 = j * th;
            t->ix1 = t->ix0 + tw < w ? t->ix0 + tw : w;
            t->iy1 = t->iy0 + th < h ? t->iy0 + th : h;
            t->wx = t->ix0 - halo;
            t->wy = t->iy0 - halo;
            if (!periodic) { /* stay inside the virtual canvas, as the whole pass does */
                if (t->wx > virt_w - p->win_w)
                    t->wx = virt_w - p->win_w;
                if (t->wy > virt_h - p->win_h)
                    t->wy = virt_h - p->win_h;
                if (t->wx < 0)
                    t->wx = 0;
                if (t->wy < 0)
                    t->wy = 0;
            }
        }
    }
    return FGSD_OK;
}

void tile_plan_free(tile_plan *p)
{
    free(p->tile);
    memset(p, 0, sizeof(*p));
}
