/* SPDX-License-Identifier: GPL-3.0-or-later
 * The tests' host images (host_images.h). */
#include <stdlib.h>
#include <string.h>

#include "canvas.h"
#include "host_images.h"
#include "op_check.h"

backend_image *host_image_new(int w, int h, const float *hwc)
{
    backend_image *im = calloc(1, sizeof(*im));

    if (!im || !(im->p = malloc((size_t)w * (size_t)h * 3 * sizeof(float)))) {
        free(im);
        return NULL;
    }
    im->w = w;
    im->h = h;
    if (hwc)
        memcpy(im->p, hwc, host_image_floats(im) * sizeof(float));
    return im;
}

void host_image_free(backend_image *im)
{
    if (im)
        free(im->p);
    free(im);
}

size_t host_image_floats(const backend_image *im)
{
    return (size_t)im->w * (size_t)im->h * 3;
}

/* The window through a canvas of the tensor's size, as the host does. */
static fgsd_status window_canvas(const backend_tensor *t, const backend_window *win, int *c,
                                 canvas *cv)
{
    const tensor_shape *sh = shape_of(t);

    *c = sh->c;
    if (canvas_init_window(cv, sh->w, sh->h, win->image_width, win->image_height, sh->c,
                           win->wx, win->wy, win->periodic, 1))
        return FGSD_ERR_NO_MEMORY;
    return FGSD_OK;
}

fgsd_status host_window_fill(backend *be, backend_tensor *t, const backend_image *x,
                             const backend_window *win)
{
    canvas cv;
    int c;
    fgsd_status st = window_canvas(t, win, &c, &cv);

    if (st)
        return st;
    canvas_fill(&cv, x->p, c);
    st = backend_ref_ops.upload(be, t, cv.chw);
    canvas_free(&cv);
    return st;
}

fgsd_status host_window_store(backend *be, const backend_tensor *t, const backend_image *x,
                              backend_image *clean, const backend_window *win, int residual)
{
    canvas cv;
    int c;
    fgsd_status st = window_canvas(t, win, &c, &cv);

    if (st)
        return st;
    st = backend_ref_ops.download(be, t, cv.out);
    if (!st)
        canvas_store(&cv, c, win->ix0, win->iy0, win->ix1, win->iy1, x->p, residual, clean->p);
    canvas_free(&cv);
    return st;
}
