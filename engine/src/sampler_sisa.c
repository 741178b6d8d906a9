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
 * pixel position, so tiling and threads never change it.  The loop runs on
 * host arrays; one network pass per step.  The noise is drawn and used one
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
    double ss_all = 0.0, ss = 0.0, weight = 0.0;

    for (size_t i = 0; i < n; i++) {
        double f2 = ((double)x[i] - d[i]) * ((double)x[i] - d[i]);

        ss_all += f2;
        if (t->known) {
            double w = 1.0 - t->known_mask[i / 3];

            ss += w * f2;
            weight += w;
        }
    }
    /* Without known pixels, or with everything known: the whole image. */
    if (!t->known || !(weight > 0.0))
        return (float)sqrt(ss_all / (double)n);
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

/* Box filter of width k (at most n) along a line of n values at stride
 * `stride`, with wrap-around; sums in double.  line: n doubles of scratch. */
static void box_line(float *v, int n, size_t stride, int k, double *line)
{
    double sum = 0.0;
    int lo;

    if (k > n)
        k = n;
    lo = k / 2;
    for (int i = 0; i < n; i++)
        line[i] = v[(size_t)i * stride];
    for (int j = -lo; j < k - lo; j++)
        sum += line[((j % n) + n) % n];
    for (int i = 0; i < n; i++) {
        v[(size_t)i * stride] = (float)(sum / k);
        sum += line[(i + k - lo) % n] - line[((i - lo) % n + n) % n];
    }
}

/* v (w x h, one channel) <- its low-pass: the box filter twice each way. */
static void lowpass(float *v, int w, int h, int k, double *line)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int y = 0; y < h; y++)
            box_line(v + (size_t)y * (size_t)w, w, 1, k, line);
        for (int x = 0; x < w; x++)
            box_line(v + x, h, (size_t)w, k, line);
    }
}

/* v (interleaved RGB) <- v + sign * lowpass(a - b) (b NULL: of a), each
 * channel through buf (w x h floats). */
static void add_lowpass(float *v, float sign, const float *a, const float *b, int w, int h,
                        int k, float *buf, double *line)
{
    size_t np = (size_t)w * (size_t)h;

    for (int c = 0; c < 3; c++) {
        for (size_t i = 0; i < np; i++)
            buf[i] = a[3 * i + (size_t)c] - (b ? b[3 * i + (size_t)c] : 0.0f);
        lowpass(buf, w, h, k, line);
        for (size_t i = 0; i < np; i++)
            v[3 * i + (size_t)c] += sign * buf[i];
    }
}

/* The loop's buffers and the denoiser's state between passes. */
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

static void state_free(sisa_state *st)
{
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

static fgsd_status state_init(fgsd_session *s, const sisa_task *t, sisa_state *st)
{
    const fgsd_model_info *info = &s->model->info;
    int guided = t->p->guidance > 1.0f && t->phi;
    int side = t->width > t->height ? t->width : t->height;

    memset(st, 0, sizeof(*st));
    st->n = (size_t)t->width * (size_t)t->height * 3;
    if (st->n > UINT32_MAX)
        return session_fail(s, FGSD_ERR_TOO_LARGE, "image too large for the noise generator");
    st->ctx.periodic = st->gctx.periodic = t->p->tileable;
    st->ctx.lagged = st->gctx.lagged = 1;
    st->ctx.max_window = s->opt.max_tile;
    st->guide = s->guide ? s->guide : s;
    st->gctx.max_window = st->guide->opt.max_tile;
    st->x = malloc(st->n * sizeof(float));
    st->d = malloc(st->n * sizeof(float));
    if (s->ops->normal_noise)
        st->z = malloc(st->n * sizeof(float));
    st->zc = malloc(st->n / 3 * sizeof(float));
    st->best = malloc(st->n * sizeof(float));
    if (guided)
        st->d0 = malloc(st->n * sizeof(float));
    if (t->keep_low) {
        /* Half the receptive field: what the network cannot see whole. */
        st->k = info->receptive_field / 2 > 1 ? info->receptive_field / 2 : 1;
        st->buf = malloc((size_t)t->width * (size_t)t->height * sizeof(float));
        st->line = malloc((size_t)side * sizeof(double));
    }
    if (!st->x || !st->d || (s->ops->normal_noise && !st->z) || !st->zc || !st->best ||
        (guided && !st->d0) ||
        (t->keep_low && (!st->buf || !st->line)))
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
        lowpass(st->buf, t->width, t->height, st->k, st->line);
        for (size_t i = 0; i < np; i++)
            st->zc[i] -= st->buf[i];
    }
}

/* x = start + sigma0 z_0, the known pixels held. */
static void start(fgsd_session *s, const sisa_task *t, sisa_state *st)
{
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
}

/* d = D(x): the network pass, guidance's mix, the colour lock. */
static fgsd_status clean_estimate(fgsd_session *s, const sisa_task *t, sisa_state *st)
{
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
    return FGSD_OK;
}

/* x <- x - h f + gamma z_t, the known pixels held at the level it leaves. */
static void update(fgsd_session *s, const sisa_task *t, sisa_state *st, int step, float sigma)
{
    const fgsd_sampler_params *p = t->p;
    double h = p->ascending ? (double)p->h0 * step / (1.0 + (double)p->h0 * (step - 1)) : p->h0;
    double g = (1.0 - p->beta * h) * (1.0 - p->beta * h) - (1.0 - h) * (1.0 - h);

    g = sigma * sqrt(g > 0.0 ? g : 0.0);
    draw_noise(s, t, st, (uint32_t)step);
    for (int c = 0; c < 3; c++) {
        noise_channel(s, t, st, (uint32_t)step, c);
        for (size_t i = 0; i < st->n / 3; i++) {
            size_t j = 3 * i + (size_t)c;

            st->x[j] = (float)(st->x[j] - h * ((double)st->x[j] - st->d[j]) + g * st->zc[i]);
        }
        if (t->known)
            hold_known(st->x, t, sigma * (1.0 - p->beta * h), st->zc, st->n / 3, c);
    }
}

fgsd_status sisa_run(fgsd_session *s, const sisa_task *t, float *out, fgsd_sample_stats *stats)
{
    const fgsd_sampler_params *p = t->p;
    sisa_state st;
    float first = 0.0f, sigma = 0.0f, best_sigma = 0.0f;
    int best_t = 0, step;
    fgsd_status rc = state_init(s, t, &st);

    if (rc)
        goto out;
    start(s, t, &st);
    for (step = 1;; step++) {
        rc = clean_estimate(s, t, &st);
        if (rc)
            goto out;
        sigma = noise_estimate(st.x, st.d, t, st.n);
        if (step == 1)
            first = sigma;
        if (session_progress(s, step, sigma, fraction_done(p, first, sigma, step)) ||
            session_watch(s, step, st.d, t->width, t->height)) {
            rc = session_fail(s, FGSD_ERR_CANCELLED, "cancelled at step %d", step);
            goto out;
        }
        if (!isfinite(sigma)) {
            rc = session_fail(s, FGSD_ERR_INTERNAL, "the sampler diverged at step %d", step);
            goto out;
        }
        if (step == 1 || sigma < best_sigma) {
            best_sigma = sigma;
            best_t = step;
            memcpy(st.best, st.d, st.n * sizeof(float));
        } else if (sigma > DIVERGENCE_RATIO * best_sigma) {
            snprintf(s->notice, sizeof(s->notice),
                     "the sampler stopped at step %d: the noise estimate rose from %.3g to %.3g "
                     "(the model cannot denoise further); the result is step %d's estimate",
                     step, (double)best_sigma, (double)sigma, best_t);
            memcpy(st.d, st.best, st.n * sizeof(float));
            sigma = best_sigma;
            break;
        }
        if (sigma < p->sigma_final || step >= p->max_steps)
            break;
        update(s, t, &st, step, sigma);
    }
    if (t->known)
        for (int c = 0; c < 3; c++)
            hold_known(st.d, t, 0.0, NULL, st.n / 3, c);
    if (stats) {
        stats->steps = step;
        stats->final_sigma = sigma;
        stats->tiles = st.ctx.tiles;
    }
    state_shrink(&st);
    memcpy(out, st.d, st.n * sizeof(float));
out:
    state_free(&st);
    return rc;
}
