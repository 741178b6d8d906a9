/* SPDX-License-Identifier: GPL-3.0-or-later
 * Stochastic Iterative Score Ascent (paper Algorithm 1; method.md section 5)
 * with the projected denoiser.
 *
 * Step t = 1, 2, ...:
 *   h_t = h0 t / (1 + h0 (t - 1))   (ascending) or h0 (fixed)
 *   f   = x - D(x; phi);  sigma = ||f|| / sqrt(d)
 *   stop when sigma < sigma_final or t == max_steps, returning D(x)
 *   gamma = sigma sqrt((1 - beta h)^2 - (1 - h)^2)
 *   x  <- x - h f + gamma z_t
 * The noise z_t is rng step t (z_0 draws the start), indexed by absolute
 * pixel position, so tiling and threads never change it.  One network pass
 * per step.  The loop (sisa_run) keeps its images where a sisa_images_ops
 * says: the backend's (sampler_device.c: on a GPU only sigma comes back
 * per step) where it has them and the task needs no host-only hook, else
 * the host arrays below.  On the host the noise is drawn and used one
 * channel at a time (a backend that draws it on the device draws it whole
 * and the channels are taken from there), so that a large canvas keeps
 * one channel of it, not three (docs/benchmarks.md, 8192²).
 *
 * Colour (not in the paper, docs/design.md "Colour"): with the task's
 * keep_low hook the low frequencies of x stay those of its start (a flat
 * colour, an image, or known pixels around a flat hole): z_0,
 * each residual f and each z_t lose their low-pass part (per channel, a box
 * filter of half the receptive field applied twice, with wrap-around, so
 * the channel means are kept exactly).  The networks trained here take the
 * colour of a noisy image from the image itself (in training its mean is
 * always the clean crop's, give or take sigma / crop side), so a start at
 * the data mean keeps a wrong colour, and small colour errors of the
 * residual add up over the steps, as blobs of colour wider than the
 * receptive field on large canvases.
 *
 * Safeguard (not in the paper): a denoiser that is poor at low noise cannot
 * bring sigma below some floor, and pushing on makes the iteration diverge
 * (sigma grows by orders of magnitude and the image saturates).  When sigma
 * exceeds DIVERGENCE_RATIO times the lowest estimate so far, the loop stops
 * and returns D(x) of the step with the lowest estimate, with a notice.
 *
 * Known pixels (heal's hook, docs/design.md "Heal"): where known_mask is m > 0, the
 * start is known + sigma0 z_0 and after every update x is pulled to
 * m (known + s' z_t) + (1 - m) x, s' = sigma (1 - beta h) being the noise
 * level the update leaves (Algorithm 1 shrinks sigma by that factor); the
 * result is m known + (1 - m) D(x).  The hole is drawn to fit the noisy
 * known pixels at every noise level, as in RePaint's replacement step;
 * sigma is measured on the drawn pixels (noise_estimate).
 *
 * Classifier-free guidance (params->guidance w > 1, not in the paper): each
 * step also runs an unconditional denoiser D0 (the session's guide,
 * fgsd_session_set_guide, or this model without its projection) and uses D0 + w (D - D0), before the
 * colour rule, as models/sisa.py does with guide=; sigma is measured on the
 * guided residual, as there (docs/quality.md, "Classifier-free guidance"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "denoise.h"
#include "image_math.h"
#include "rng.h"
#include "sampler.h"

#define DIVERGENCE_RATIO 2.0f

fgsd_sampler_params fgsd_sampler_params_default(fgsd_task task)
{
    fgsd_sampler_params p;

    memset(&p, 0, sizeof(p));
    p.h0 = 0.02f;
    /* Restyle, heal and iterated denoising: the best measured on 64²
     * samples (docs/quality.md, "Sampler settings").  Synthesis at the
     * sizes artists use (a 128² reference, a 256² texture, 41 unseen
     * classes): beta 0.4 draws no strokes where 0.02 draws bright ones,
     * comes closer to the real texture (29 of 41, p = 0.01) in a third of
     * the steps (docs/quality.md, "At the artist's scale"). */
    p.beta = task == FGSD_TASK_RESTYLE || task == FGSD_TASK_DENOISE || task == FGSD_TASK_HEAL
                 ? 0.02f
                 : 0.4f;
    p.sigma0 = 1.0f;
    p.sigma_final = 0.02f;
    p.ascending = 1;
    p.max_steps = 1000;
    p.seed = 0;
    p.levels = 1;
    return p;
}

fgsd_status sampler_check_params(fgsd_session *s, const fgsd_sampler_params *p)
{
    if (!p)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "no sampler settings given");
    if (!(p->h0 > 0.0f && p->h0 < 1.0f))
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "step size h must lie in (0, 1), not %g", (double)p->h0);
    if (!(p->beta > 0.0f && p->beta <= 1.0f))
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "beta must lie in (0, 1], not %g",
                            (double)p->beta);
    if (!(p->sigma0 >= 0.0f && p->sigma0 <= 4.0f))
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "initial noise sigma0 must lie in [0, 4], not %g", (double)p->sigma0);
    if (!(p->sigma_final > 0.0f && p->sigma_final < 1.0f))
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "final noise must lie in (0, 1), not %g", (double)p->sigma_final);
    if (!(p->guidance == 0.0f || (p->guidance >= 1.0f && p->guidance <= 8.0f)))
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "the guidance weight must be 0 (none) or lie in [1, 8], not %g",
                            (double)p->guidance);
    if (p->max_steps < 1 || p->max_steps > FGSD_MAX_STEPS)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "the step cap must lie in [1, %d], not %d",
                            FGSD_MAX_STEPS, p->max_steps);
    if (p->levels < 1 || p->levels > FGSD_MAX_SAMPLER_LEVELS)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "levels must lie in [1, %d], not %d",
                            FGSD_MAX_SAMPLER_LEVELS, p->levels);
    return FGSD_OK;
}

/* Channel c of x (interleaved RGB, np pixels) <- m (known + s z) + (1 - m) x
 * where the known-pixel mask m is not 0; z: that channel's noise (NULL:
 * none, s = 0). */
static void hold_known(float *x, const sisa_task *t, double s, const float *z, size_t np, int c)
{
    for (size_t i = 0; i < np; i++) {
        double m = t->known_mask[i];
        size_t j = 3 * i + (size_t)c;

        if (m > 0.0)
            x[j] = (float)(m * ((double)t->known[j] + (z ? s * z[i] : 0.0)) + (1.0 - m) * x[j]);
    }
}

/* ||x - D(x)|| / sqrt(d), over the drawn pixels only when some are known
 * (weight 1 - known_mask): the known pixels are held at the noise level
 * this returns, and the network's own error on them (a clean image it
 * would change) must not feed back into it, or sigma settles at about
 * that error / sqrt(2 beta h) instead of falling to sigma_final. */
static float noise_estimate(const float *x, const float *d, const sisa_task *t, size_t n)
{
    double ss = 0.0, weight = 0.0;

    for (size_t i = 0; t->known && i < n; i++) {
        double w = 1.0 - t->known_mask[i / 3];
        double f = (double)x[i] - d[i];

        ss += w * (f * f);
        weight += w;
    }
    /* Without known pixels, or with everything known: the whole image. */
    if (!t->known || !(weight > 0.0))
        return (float)sqrt(residual_sum(x, d, n) / (double)n);
    return (float)sqrt(ss / weight);
}

/* Expected progress: the noise estimate falls roughly geometrically from
 * sigma0 to sigma_final, so log(sigma) measures the fraction done. */
static float fraction_done(const fgsd_sampler_params *p, float start, float sigma, int t)
{
    float f = 0.0f, by_steps = (float)t / (float)p->max_steps;

    if (start > p->sigma_final && sigma > 0.0f)
        f = logf(start / sigma) / logf(start / p->sigma_final);
    if (f < by_steps)
        f = by_steps;
    return f < 0.0f ? 0.0f : (f > 1.0f ? 1.0f : f);
}

/* The host loop's buffers and the denoiser's state between passes. */
typedef struct sisa_state {
    size_t n;           /* floats of an image */
    int k;              /* the colour lock's box width (0: no lock) */
    float *x, *d, *best, *d0, *buf;
    float *z;           /* a step's whole noise, where the backend draws it; else NULL */
    float *zc;          /* one channel of a step's noise (width x height) */
    double *line;
    denoise_ctx ctx, gctx;
    fgsd_session *guide; /* D0's session (guided runs) */
} sisa_state;

static void host_destroy(void *state)
{
    sisa_state *st = state;

    if (!st)
        return;
    denoise_ctx_free(&st->ctx);
    denoise_ctx_free(&st->gctx);
    free(st->x);
    free(st->d);
    free(st->z);
    free(st->zc);
    free(st->best);
    free(st->d0);
    free(st->buf);
    free(st->line);
    free(st);
}

/* Everything but d, freed before the result is copied out, so that the
 * caller's image never adds to the loop's peak. */
static void state_shrink(sisa_state *st)
{
    float **bufs[] = {&st->x, &st->z, &st->zc, &st->best, &st->d0, &st->buf};

    denoise_ctx_free(&st->ctx);
    denoise_ctx_free(&st->gctx);
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
        free(*bufs[i]);
        *bufs[i] = NULL;
    }
    free(st->line);
    st->line = NULL;
}

int sisa_lock_width(const fgsd_session *s, const sisa_task *t)
{
    int rf = s->model->info.receptive_field;

    /* Half the receptive field: what the network cannot see whole. */
    return !t->keep_low ? 0 : rf / 2 > 1 ? rf / 2 : 1;
}

static fgsd_status host_create(fgsd_session *s, const sisa_task *t, void **state)
{
    int guided = t->p->guidance > 1.0f && t->phi;
    int side = t->width > t->height ? t->width : t->height;
    sisa_state *st = calloc(1, sizeof(*st));

    *state = st;
    if (!st)
        return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory");
    st->n = (size_t)t->width * (size_t)t->height * 3;
    st->ctx.periodic = st->gctx.periodic = t->p->tileable;
    st->ctx.lagged = st->gctx.lagged = 1;
    st->ctx.max_window = s->opt.max_tile;
    st->guide = s->guide ? s->guide : s;
    st->gctx.max_window = st->guide->opt.max_tile;
    st->k = sisa_lock_width(s, t);
    st->x = malloc(st->n * sizeof(float));
    st->d = malloc(st->n * sizeof(float));
    if (s->ops->normal_noise)
        st->z = malloc(st->n * sizeof(float));
    st->zc = malloc(st->n / 3 * sizeof(float));
    st->best = malloc(st->n * sizeof(float));
    if (guided)
        st->d0 = malloc(st->n * sizeof(float));
    if (st->k) {
        st->buf = malloc((size_t)t->width * (size_t)t->height * sizeof(float));
        st->line = malloc((size_t)side * sizeof(double));
    }
    if (!st->x || !st->d || (s->ops->normal_noise && !st->z) || !st->zc || !st->best ||
        (guided && !st->d0) || (st->k && (!st->buf || !st->line)))
        return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for a %dx%d image", t->width,
                            t->height);
    return FGSD_OK;
}

/* Where the backend draws the noise: all of z_step at once, on the device. */
static void draw_noise(fgsd_session *s, const sisa_task *t, sisa_state *st, uint32_t step)
{
    if (st->z)
        session_noise(s, t->seed, step, st->n, st->z);
}

/* st->zc <- channel c of z_step (rng indices 3 i + c: the values of the
 * whole draw), without its low frequencies under the colour lock. */
static void noise_channel(fgsd_session *s, const sisa_task *t, sisa_state *st, uint32_t step,
                          int c)
{
    size_t np = st->n / 3;

    if (st->z) {
        for (size_t i = 0; i < np; i++)
            st->zc[i] = st->z[3 * i + (size_t)c];
    } else {
        rng_normal_fill_strided(t->seed, step, (uint32_t)c, 3, np, st->zc, s->opt.threads);
    }
    if (st->k) {
        memcpy(st->buf, st->zc, np * sizeof(float));
        lowpass_plane(st->buf, t->width, t->height, st->k, st->line);
        for (size_t i = 0; i < np; i++)
            st->zc[i] -= st->buf[i];
    }
}

static fgsd_status host_start(fgsd_session *s, const sisa_task *t, void *state)
{
    sisa_state *st = state;
    size_t np = st->n / 3;

    draw_noise(s, t, st, 0);
    for (int c = 0; c < 3; c++) {
        noise_channel(s, t, st, 0, c);
        for (size_t i = 0; i < np; i++) {
            size_t j = 3 * i + (size_t)c;

            st->x[j] = (t->init ? t->init[j] : t->colour[c]) + t->sigma0 * st->zc[i];
        }
        if (t->known)
            hold_known(st->x, t, t->sigma0, st->zc, np, c);
    }
    return FGSD_OK;
}

static fgsd_status host_estimate(fgsd_session *s, const sisa_task *t, void *state, float *sigma)
{
    sisa_state *st = state;
    fgsd_status rc = denoise_image(s, st->x, t->width, t->height, t->phi, &st->ctx, st->d);

    if (rc)
        return rc;
    if (st->d0) {
        rc = denoise_image(st->guide, st->x, t->width, t->height, NULL, &st->gctx, st->d0);
        if (rc)
            return st->guide != s ? session_fail(s, rc, "the guide model: %s",
                                                 fgsd_session_last_error(st->guide))
                                  : rc;
        for (size_t i = 0; i < st->n; i++)
            st->d[i] = st->d0[i] + t->p->guidance * (st->d[i] - st->d0[i]);
    }
    /* d <- x - (f - lowpass(f)) = d + lowpass(x - d): D keeps the low
     * frequencies of x. */
    if (st->k)
        add_lowpass(st->d, 1.0f, st->x, st->d, t->width, t->height, st->k, st->buf, st->line);
    *sigma = noise_estimate(st->x, st->d, t, st->n);
    return FGSD_OK;
}

static fgsd_status host_clean_on_host(fgsd_session *s, void *state, const float **d)
{
    (void)s;
    *d = ((sisa_state *)state)->d;
    return FGSD_OK;
}

static fgsd_status host_keep_best(fgsd_session *s, void *state)
{
    sisa_state *st = state;

    (void)s;
    memcpy(st->best, st->d, st->n * sizeof(float));
    return FGSD_OK;
}

static fgsd_status host_take_best(fgsd_session *s, void *state)
{
    sisa_state *st = state;

    (void)s;
    memcpy(st->d, st->best, st->n * sizeof(float));
    return FGSD_OK;
}

static fgsd_status host_update(fgsd_session *s, const sisa_task *t, void *state, int step,
                               double h, double g, double held)
{
    sisa_state *st = state;

    draw_noise(s, t, st, (uint32_t)step);
    for (int c = 0; c < 3; c++) {
        noise_channel(s, t, st, (uint32_t)step, c);
        for (size_t i = 0; i < st->n / 3; i++) {
            size_t j = 3 * i + (size_t)c;

            st->x[j] = sisa_update_value(st->x[j], st->d[j], st->zc[i], h, g);
        }
        if (t->known)
            hold_known(st->x, t, held, st->zc, st->n / 3, c);
    }
    return FGSD_OK;
}

static fgsd_status host_result(fgsd_session *s, const sisa_task *t, void *state, float *out,
                               int *tiles)
{
    sisa_state *st = state;

    (void)s;
    if (t->known)
        for (int c = 0; c < 3; c++)
            hold_known(st->d, t, 0.0, NULL, st->n / 3, c);
    *tiles = st->ctx.tiles;
    state_shrink(st);
    memcpy(out, st->d, st->n * sizeof(float));
    return FGSD_OK;
}

static const sisa_images_ops host_images = {
    .create = host_create,
    .destroy = host_destroy,
    .start = host_start,
    .estimate = host_estimate,
    .clean_on_host = host_clean_on_host,
    .keep_best = host_keep_best,
    .take_best = host_take_best,
    .update = host_update,
    .result = host_result,
};

/* The loop on one kind of images (sisa_run). */
static fgsd_status run_loop(fgsd_session *s, const sisa_task *t, const sisa_images_ops *im,
                            void *state, float *out, fgsd_sample_stats *stats)
{
    const fgsd_sampler_params *p = t->p;
    float first = 0.0f, sigma = 0.0f, best_sigma = 0.0f;
    int best_t = 0, step, tiles = 0;
    fgsd_status rc = im->start(s, t, state);

    for (step = 1; !rc; step++) {
        double h, g;
        const float *d = NULL;

        rc = im->estimate(s, t, state, &sigma);
        if (rc)
            break;
        if (step == 1)
            first = sigma;
        if (session_watch_due(s, step)) {
            rc = im->clean_on_host(s, state, &d);
            if (rc)
                break;
        }
        if (session_progress(s, step, sigma, fraction_done(p, first, sigma, step)) ||
            session_watch(s, step, d, t->width, t->height))
            return session_fail(s, FGSD_ERR_CANCELLED, "cancelled at step %d", step);
        if (!isfinite(sigma))
            return session_fail(s, FGSD_ERR_INTERNAL, "the sampler diverged at step %d", step);
        if (step == 1 || sigma < best_sigma) {
            best_sigma = sigma;
            best_t = step;
            rc = im->keep_best(s, state);
        } else if (sigma > DIVERGENCE_RATIO * best_sigma) {
            snprintf(s->notice, sizeof(s->notice),
                     "the sampler stopped at step %d: the noise estimate rose from %.3g to %.3g "
                     "(the model cannot denoise further); the result is step %d's estimate",
                     step, (double)best_sigma, (double)sigma, best_t);
            rc = im->take_best(s, state);
            sigma = best_sigma;
            break;
        }
        if (rc || sigma < p->sigma_final || step >= p->max_steps)
            break;
        h = p->ascending ? (double)p->h0 * step / (1.0 + (double)p->h0 * (step - 1)) : p->h0;
        g = (1.0 - p->beta * h) * (1.0 - p->beta * h) - (1.0 - h) * (1.0 - h);
        g = sigma * sqrt(g > 0.0 ? g : 0.0);
        rc = im->update(s, t, state, step, h, g, sigma * (1.0 - p->beta * h));
    }
    if (!rc)
        rc = im->result(s, t, state, out, &tiles);
    if (!rc && stats) {
        stats->steps = step;
        stats->final_sigma = sigma;
        stats->tiles = tiles;
    }
    return rc;
}

/* On the backend's images where it has them and they serve the task; a
 * run there that runs out of memory runs again on the host's, from the
 * start (the same noise, so the same texture), where the passes tile or
 * move to the CPU as they do. */
fgsd_status sisa_run(fgsd_session *s, const sisa_task *t, float *out, fgsd_sample_stats *stats)
{
    const sisa_images_ops *kinds[] = {&sisa_device_images, &host_images};
    fgsd_status rc = FGSD_OK;

    if ((size_t)t->width * (size_t)t->height * 3 > UINT32_MAX)
        return session_fail(s, FGSD_ERR_TOO_LARGE, "image too large for the noise generator");
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        void *state = NULL;

        rc = kinds[i]->create(s, t, &state);
        if (!rc && state)
            rc = run_loop(s, t, kinds[i], state, out, stats);
        kinds[i]->destroy(state);
        if (state && kinds[i] != &host_images &&
            (rc == FGSD_ERR_NO_MEMORY || rc == FGSD_ERR_TOO_LARGE)) {
            snprintf(s->notice, sizeof(s->notice),
                     "out of memory on the %s backend for the sampler's images (%.300s); the "
                     "sampler ran again with its images on the host",
                     s->ops->name, s->error);
            continue;
        }
        if (rc || state)
            break;
    }
    return rc;
}
