/* SPDX-License-Identifier: GPL-3.0-or-later
 * The SISA loop's images where the backend computes (backend.h image_*;
 * docs/cuda.md "The sampler on the GPU"): x, D(x), the noise and the best
 * D(x) stay there, the windows of each pass are filled and stored there,
 * and a step brings back one double, the residual's sum (and the feature
 * sums of a tiled pass's staged means).  The result comes back once, at
 * the end, and D(x) when a watcher is due.  Where the passes are whole
 * (one tile) and the backend takes steps (backend.h step_begin), a step
 * from the update to the residual is one recording: a GPU launches it as
 * one CUDA graph.
 *
 * It serves what the loop does on every sampling task but heal and
 * guidance (whose known pixels and second network stay on the host): the
 * start, the pass, the colour lock, the update, each computed as
 * image_math.h computes it on the host. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "denoise.h"
#include "sampler.h"

typedef struct device_state {
    const backend_ops *ops;
    backend *be;
    int width, height, k;
    size_t n;               /* floats of an image */
    backend_image *x, *d, *z, *best;
    float *host;            /* the start and the watcher's D(x) on the host */
    denoise_ctx ctx;
    int in_step;            /* a step is open: from the update to the residual */
} device_state;

static fgsd_status image_fail(fgsd_session *s, const device_state *st, fgsd_status rc)
{
    return session_fail(s, rc, "%s", st->ops->error(st->be));
}

static void device_destroy(void *state)
{
    device_state *st = state;
    backend_image *images[4];

    if (!st)
        return;
    if (st->in_step) /* a failed update: the step ends unrun */
        (void)st->ops->step_end(st->be);
    images[0] = st->x;
    images[1] = st->d;
    images[2] = st->z;
    images[3] = st->best;
    for (int i = 0; i < 4; i++)
        if (images[i])
            st->ops->image_free(st->be, images[i]);
    denoise_ctx_free(&st->ctx);
    free(st->host);
    free(st);
}

static fgsd_status device_create(fgsd_session *s, const sisa_task *t, void **state)
{
    const backend_ops *ops = s->ops;
    backend_image **images[4];
    device_state *st;

    *state = NULL;
    if (!ops->image_new || t->known || (t->p->guidance > 1.0f && t->phi))
        return FGSD_OK;
    st = calloc(1, sizeof(*st));
    if (!st)
        return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory");
    *state = st;
    st->ops = ops;
    st->be = s->be;
    st->width = t->width;
    st->height = t->height;
    st->n = (size_t)t->width * (size_t)t->height * 3;
    st->k = sisa_lock_width(s, t);
    st->ctx.periodic = t->p->tileable;
    st->ctx.lagged = 1;
    st->ctx.max_window = s->opt.max_tile;
    images[0] = &st->x;
    images[1] = &st->d;
    images[2] = &st->z;
    images[3] = &st->best;
    for (int i = 0; i < 4; i++) {
        fgsd_status rc = ops->image_new(s->be, t->width, t->height, images[i]);

        if (rc)
            return image_fail(s, st, rc);
        if (!*images[i]) { /* the backend keeps them on the host */
            device_destroy(st);
            *state = NULL;
            return FGSD_OK;
        }
    }
    return FGSD_OK;
}

/* z <- z_step, without its low frequencies under the colour lock. */
static fgsd_status draw_noise(const sisa_task *t, device_state *st, int step)
{
    fgsd_status rc = st->ops->image_noise(st->be, st->z, t->seed, (uint32_t)step);

    if (!rc && st->k)
        rc = st->ops->image_add_lowpass(st->be, st->z, -1.0f, st->z, NULL, st->k);
    return rc;
}

static fgsd_status device_start(fgsd_session *s, const sisa_task *t, void *state)
{
    device_state *st = state;
    const float *base = t->init;
    fgsd_status rc;

    if (!base) {
        st->host = malloc(st->n * sizeof(float));
        if (!st->host)
            return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for a %dx%d image",
                                t->width, t->height);
        for (size_t i = 0; i < st->n; i++)
            st->host[i] = t->colour[i % 3];
        base = st->host;
    }
    rc = st->ops->image_upload(st->be, st->x, base);
    if (!rc)
        rc = draw_noise(t, st, 0);
    if (!rc)
        rc = st->ops->image_add_scaled(st->be, st->x, t->sigma0, st->z);
    return rc ? image_fail(s, st, rc) : FGSD_OK;
}

static fgsd_status device_estimate(fgsd_session *s, const sisa_task *t, void *state, float *sigma)
{
    device_state *st = state;
    double ss = 0.0;
    fgsd_status rc = denoise_backend_image(s, st->x, t->width, t->height, t->phi, &st->ctx,
                                           st->d);
    fgsd_status im = FGSD_OK;

    /* The colour lock, as the host loop's: d <- d + lowpass(x - d). */
    if (!rc && st->k)
        im = st->ops->image_add_lowpass(st->be, st->d, 1.0f, st->x, st->d, st->k);
    if (!rc && !im)
        im = st->ops->image_residual(st->be, st->x, st->d, &ss);
    if (st->in_step) { /* the step runs now, and ss arrives */
        fgsd_status end = st->ops->step_end(st->be);

        st->in_step = 0;
        if (!im)
            im = end;
    }
    if (rc)
        return rc;
    if (im)
        return image_fail(s, st, im);
    *sigma = (float)sqrt(ss / (double)st->n);
    return FGSD_OK;
}

static fgsd_status device_clean_on_host(fgsd_session *s, void *state, const float **d)
{
    device_state *st = state;
    fgsd_status rc;

    if (!st->host)
        st->host = malloc(st->n * sizeof(float));
    if (!st->host)
        return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for the watch's image");
    rc = st->ops->image_download(st->be, st->d, st->host);
    if (rc)
        return image_fail(s, st, rc);
    *d = st->host;
    return FGSD_OK;
}

static fgsd_status device_keep_best(fgsd_session *s, void *state)
{
    device_state *st = state;
    fgsd_status rc = st->ops->image_copy(st->be, st->best, st->d);

    return rc ? image_fail(s, st, rc) : FGSD_OK;
}

static fgsd_status device_take_best(fgsd_session *s, void *state)
{
    device_state *st = state;
    fgsd_status rc = st->ops->image_copy(st->be, st->d, st->best);

    return rc ? image_fail(s, st, rc) : FGSD_OK;
}

static fgsd_status device_update(fgsd_session *s, const sisa_task *t, void *state, int step,
                                 double h, double g, double held)
{
    device_state *st = state;
    fgsd_status rc;

    (void)held; /* no known pixels here */
    /* The update and the next estimate as one step, where its pass is
     * whole (known from the first pass's plan). */
    if (st->ops->step_begin && st->ctx.tiles == 1)
        st->in_step = st->ops->step_begin(st->be);
    rc = draw_noise(t, st, step);
    if (!rc)
        rc = st->ops->image_sisa_update(st->be, st->x, st->d, st->z, h, g);
    return rc ? image_fail(s, st, rc) : FGSD_OK;
}

static fgsd_status device_result(fgsd_session *s, const sisa_task *t, void *state, float *out,
                                 int *tiles)
{
    device_state *st = state;
    fgsd_status rc = st->ops->image_download(st->be, st->d, out);

    (void)t;
    *tiles = st->ctx.tiles;
    return rc ? image_fail(s, st, rc) : FGSD_OK;
}

const sisa_images_ops sisa_device_images = {
    .create = device_create,
    .destroy = device_destroy,
    .start = device_start,
    .estimate = device_estimate,
    .clean_on_host = device_clean_on_host,
    .keep_best = device_keep_best,
    .take_best = device_take_best,
    .update = device_update,
    .result = device_result,
};
