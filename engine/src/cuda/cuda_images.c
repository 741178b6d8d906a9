/* SPDX-License-Identifier: GPL-3.0-or-later
 * The sampler's images on the device (backend.h image_*; issue 24 item 3,
 * docs/cuda.md "The sampler on the GPU"): x, D(x), the noise and the best
 * D(x) of sampler_device.c live here, each op one or a few kernels queued
 * on the backend's stream with no wait, but the residual's (its sum comes
 * back: one double per step) and the downloads.  Every kernel computes as
 * image_math.h and canvas.c do on the host (cuda_kernels.h).  Inside a
 * sampler step (backend.h step_begin) the step's ops are recorded
 * (cuda_pass.c) and the others refused. */
#include <stdlib.h>
#include <string.h>

#include "cuda_backend.h"
#include "cuda_kernels.h"

static size_t image_floats(const backend_image *im)
{
    return (size_t)im->w * (size_t)im->h * 3;
}

/* The image ops that a step does not record. */
static fgsd_status outside_steps(backend *be, const char *what)
{
    if (be->pass.open)
        return fail(be, FGSD_ERR_INTERNAL, "%s inside a deferred pass or step", what);
    return FGSD_OK;
}

static fgsd_status same_size(backend *be, const backend_image *a, const backend_image *b)
{
    if (a->w != b->w || a->h != b->h)
        return fail(be, FGSD_ERR_INTERNAL, "images of %dx%d and %dx%d", a->w, a->h, b->w, b->h);
    return FGSD_OK;
}

fgsd_status cuda_image_new(backend *be, int width, int height, backend_image **out)
{
    size_t n = (size_t)width * (size_t)height * 3;
    backend_image *im;
    cudaError_t e;
    void *p = NULL;

    *out = NULL;
    if (!be->device_images)
        return FGSD_OK;
    if (outside_steps(be, "image_new"))
        return be->status;
    if (width <= 0 || height <= 0 || n > UINT32_MAX)
        return fail(be, FGSD_ERR_INTERNAL, "an image of %dx%d", width, height);
    /* The low-pass's two sets of planes and the residual's partials, now,
     * so that no buffer moves between a pass and its graph's replay. */
    if (devbuf_reserve(be, &be->image_planes, 2 * n * sizeof(float), "the low-pass's planes") ||
        devbuf_reserve(be, &be->image_partial, RESIDUAL_CHUNKS * sizeof(double),
                       "the residual's sums"))
        return be->status;
    im = calloc(1, sizeof(*im));
    if (!im)
        return fail(be, FGSD_ERR_NO_MEMORY, "out of memory for an image");
    e = dev_alloc(be, &p, n * sizeof(float));
    if (e != cudaSuccess) {
        free(im);
        return cuda_fail(be, e, "a sampler image");
    }
    im->w = width;
    im->h = height;
    im->d = p;
    *out = im;
    return FGSD_OK;
}

void cuda_image_free(backend *be, backend_image *im)
{
    if (!im)
        return;
    /* Kernels queued on it may still run. */
    (void)cudaStreamSynchronize(be->stream);
    dev_free(be, im->d, image_floats(im) * sizeof(float));
    free(im);
}

fgsd_status cuda_image_upload(backend *be, backend_image *im, const float *hwc)
{
    size_t bytes = image_floats(im) * sizeof(float);
    double t0 = prof_begin(be);
    void *pin;

    if (outside_steps(be, "image_upload"))
        return be->status;
    /* The page-locked buffer may still feed an earlier copy. */
    CU(be, cudaStreamSynchronize(be->stream), "image upload");
    pin = pinned_buffer(be, bytes);
    if (pin)
        memcpy(pin, hwc, bytes);
    CU(be, cudaMemcpyAsync(im->d, pin ? pin : (const void *)hwc, bytes, cudaMemcpyHostToDevice,
                           be->stream),
       "cudaMemcpyAsync (image upload)");
    if (!pin) /* a pageable source must stay until the copy is done */
        CU(be, cudaStreamSynchronize(be->stream), "image upload");
    return prof_end(be, PROF_UPLOAD, t0, FGSD_OK);
}

fgsd_status cuda_image_download(backend *be, const backend_image *im, float *hwc)
{
    double t0 = prof_begin(be);

    if (outside_steps(be, "image_download"))
        return be->status;
    return prof_end(be, PROF_DOWNLOAD, t0,
                    copy_to_host(be, hwc, im->d, image_floats(im) * sizeof(float),
                                 "image download"));
}

fgsd_status cuda_image_copy(backend *be, backend_image *dst, const backend_image *src)
{
    if (outside_steps(be, "image_copy") || same_size(be, dst, src))
        return be->status;
    CU(be, cudaMemcpyAsync(dst->d, src->d, image_floats(src) * sizeof(float),
                           cudaMemcpyDeviceToDevice, be->stream),
       "cudaMemcpyAsync (image copy)");
    return FGSD_OK;
}

fgsd_status cuda_image_noise(backend *be, backend_image *im, uint64_t seed, uint32_t step)
{
    double t0;

    if (be->pass.open)
        return pass_record_noise(be, im, seed, step);
    t0 = prof_begin(be);
    CU(be, cuk_rng_normal(seed, step, 0, image_floats(im), im->d, be->stream), "noise kernel");
    return prof_end(be, PROF_NOISE, t0, FGSD_OK);
}

fgsd_status cuda_image_add_scaled(backend *be, backend_image *y, float a,
                                  const backend_image *x)
{
    if (outside_steps(be, "image_add_scaled") || same_size(be, y, x))
        return be->status;
    CU(be, cuk_add_scaled(y->d, a, x->d, image_floats(y), be->stream), "add_scaled kernel");
    return FGSD_OK;
}

fgsd_status cuda_lowpass(backend *be, float *v, float sign, const float *a, const float *b, int w,
                         int h, int k)
{
    size_t px = (size_t)w * (size_t)h;
    float *p = be->image_planes.p, *q = p + 3 * px;

    if (be->image_planes.size < 6 * px * sizeof(float))
        return fail(be, FGSD_ERR_INTERNAL, "the low-pass's planes were not reserved");
    CU(be, cuk_planes_diff(a, b, p, px, be->stream), "low-pass kernel");
    /* Twice rows then columns, as image_math.c's lowpass_plane. */
    for (int pass = 0; pass < 2; pass++) {
        CU(be, cuk_box_rows(p, q, w, h, k, be->stream), "low-pass kernel");
        CU(be, cuk_box_cols(q, p, w, h, k, be->stream), "low-pass kernel");
    }
    CU(be, cuk_add_planes(v, sign, p, px, be->stream), "low-pass kernel");
    return FGSD_OK;
}

fgsd_status cuda_image_add_lowpass(backend *be, backend_image *v, float sign,
                                   const backend_image *a, const backend_image *b, int k)
{
    double t0;

    if (same_size(be, v, a) || (b && same_size(be, v, b)))
        return be->status;
    if (be->pass.open)
        return pass_record_lowpass(be, v, sign, a, b, k);
    t0 = prof_begin(be);
    return prof_end(be, PROF_IMAGES, t0,
                    cuda_lowpass(be, v->d, sign, a->d, b ? b->d : NULL, v->w, v->h, k));
}

fgsd_status cuda_image_sisa_update(backend *be, backend_image *x, const backend_image *d,
                                   const backend_image *z, double h, double g)
{
    if (same_size(be, x, d) || same_size(be, x, z))
        return be->status;
    if (be->pass.open)
        return pass_record_update(be, x, d, z, h, g);
    CU(be, cuk_sisa_update(x->d, d->d, z->d, h, g, image_floats(x), be->stream),
       "update kernel");
    return FGSD_OK;
}

fgsd_status cuda_image_residual(backend *be, const backend_image *x, const backend_image *d,
                                double *ss)
{
    double part[RESIDUAL_CHUNKS];
    double t0 = prof_begin(be);
    fgsd_status st;

    if (same_size(be, x, d))
        return be->status;
    if (be->pass.open)
        return pass_record_residual(be, x, d, ss);
    if (be->image_partial.size < sizeof(part))
        return fail(be, FGSD_ERR_INTERNAL, "the residual's sums were not reserved");
    CU(be, cuk_residual(x->d, d->d, image_floats(x), RESIDUAL_CHUNKS, be->image_partial.p,
                        be->stream),
       "residual kernel");
    st = copy_to_host(be, part, be->image_partial.p, sizeof(part), "the residual");
    if (st)
        return st;
    *ss = residual_total(part);
    return prof_end(be, PROF_IMAGES, t0, FGSD_OK);
}

fgsd_status cuda_window_check(backend *be, const backend_tensor *t, const backend_image *x,
                              const backend_image *clean, const backend_window *win)
{
    if (t->c != 3 || win->image_width != x->w || win->image_height != x->h)
        return fail(be, FGSD_ERR_INTERNAL, "a window of %d channels on a %dx%d image", t->c,
                    x->w, x->h);
    if (clean && (same_size(be, x, clean) || win->ix0 < 0 || win->iy0 < 0 ||
                  win->ix1 > x->w || win->iy1 > x->h || win->ix0 - win->wx < 0 ||
                  win->iy0 - win->wy < 0 || win->ix1 - win->wx > t->w ||
                  win->iy1 - win->wy > t->h))
        return fail(be, FGSD_ERR_INTERNAL, "a window's interior outside its tensor or image");
    return FGSD_OK;
}

fgsd_status cuda_window_fill(backend *be, backend_tensor *t, const backend_image *x,
                             const backend_window *win)
{
    if (cuda_window_check(be, t, x, NULL, win))
        return be->status;
    CU(be, cuk_window_fill(x->d, x->w, x->h, win->wx, win->wy, win->periodic, t->d,
                           ACT_TYPE(be), t->c, t->h, t->w, be->stream),
       "window kernel");
    return FGSD_OK;
}

fgsd_status cuda_window_store(backend *be, const backend_tensor *t, const backend_image *x,
                              backend_image *clean, const backend_window *win, int residual)
{
    if (cuda_window_check(be, t, x, clean, win))
        return be->status;
    CU(be, cuk_window_store(t->d, ACT_TYPE(be), t->c, t->h, t->w, x->d, clean->d, x->w, win->wx,
                            win->wy, win->ix0, win->iy0, win->ix1, win->iy1, residual,
                            be->stream),
       "window kernel");
    return FGSD_OK;
}
