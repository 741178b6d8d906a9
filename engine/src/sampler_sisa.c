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
 * host arrays; one network pass per step.
 *
 * Colour (not in the paper, docs/design.md "Colour"): with params->mean the
 * start is mean + sigma0 z and the low frequencies of x stay at mean (with
 * keep_low_frequencies, at those of the start, init or known pixels): z_0,
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
 * Known pixels (heal, docs/design.md "Heal"): where known_mask is m > 0, the
 * start is known + sigma0 z_0 and after every update x is pulled to
 * m (known + s' z_t) + (1 - m) x, s' = sigma (1 - beta h) being the noise
 * level the update leaves (Algorithm 1 shrinks sigma by that factor); the
 * result is m known + (1 - m) D(x).  The hole is drawn to fit the noisy
 * known pixels at every noise level, as in RePaint's replacement step;
 * sigma is measured on the drawn pixels (noise_estimate).
 *
 * Classifier-free guidance (params->guidance w > 1, not in the paper): each
 * step also runs an unconditional denoiser D0 (params->guide's model, or
 * this model without its projection) and uses D0 + w (D - D0), before the
 * colour rule, as models/sisa.py does with guide=; sigma is measured on the
 * guided residual, as there (docs/quality.md, "Classifier-free guidance"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "denoise.h"
#include "rng.h"

#define DIVERGENCE_RATIO 2.0f

fgsd_sampler_params fgsd_sampler_params_default(void)
{
    fgsd_sampler_params p;

    memset(&p, 0, sizeof(p));
    /* The best measured on the shipped model (docs/quality.md, "Sampler
     * settings"): 0.05 and 0.05 take 60 % fewer steps and rank worse. */
    p.h0 = 0.02f;
    p.beta = 0.02f;
    p.sigma0 = 1.0f;
    p.sigma_final = 0.02f;
    p.ascending = 1;
    p.max_steps = 1000;
    p.seed = 0;
    return p;
}

static fgsd_status check_params(fgsd_session *s, const fgsd_sampler_params *p)
{
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
    if (p->mean && p->init)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "give the sampler a start image or a start colour, not both");
    if (p->mean && p->known)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "give the sampler known pixels or a start colour, not both");
    if (!p->known != !p->known_mask)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "known pixels need their mask, and a mask its pixels");
    if (p->mean)
        for (int c = 0; c < 3; c++)
            if (!isfinite(p->mean[c]))
                return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                                    "the start colour must be finite");
    if (!(p->guidance == 0.0f || (p->guidance >= 1.0f && p->guidance <= 8.0f)))
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "the guidance weight must be 0 (none) or lie in [1, 8], not %g",
                            (double)p->guidance);
    if (p->max_steps < 1 || p->max_steps > FGSD_MAX_STEPS)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "the step cap must lie in [1, %d], not %d",
                            FGSD_MAX_STEPS, p->max_steps);
    return FGSD_OK;
}

static fgsd_status check_known(fgsd_session *s, const fgsd_sampler_params *p, int w, int h)
{
    size_t np = (size_t)w * (size_t)h;
    fgsd_status st = check_image(s, p->known, w, h, 8);

    if (st)
        return st;
    for (size_t i = 0; i < np; i++)
        if (!(p->known_mask[i] >= 0.0f && p->known_mask[i] <= 1.0f))
            return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                                "the known-pixel mask must lie in [0, 1] (pixel %zu is %g)", i,
                                (double)p->known_mask[i]);
    return FGSD_OK;
}

/* x <- m (known + s z) + (1 - m) x where the known-pixel mask m is not 0. */
static void hold_known(float *x, const fgsd_sampler_params *p, double s, const float *z,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double m = p->known_mask[i / 3];

        if (m > 0.0)
            x[i] = (float)(m * ((double)p->known[i] + s * z[i]) + (1.0 - m) * x[i]);
    }
}

/* The known pixels' mean colour, weighted by their mask: where a hole
 * starts when no init is given (the data mean when nothing is known). */
static void known_colour(const fgsd_sampler_params *p, const float *fallback, size_t n,
                         float colour[3])
{
    double sum[3] = {0.0, 0.0, 0.0}, weight = 0.0;

    for (size_t i = 0; i < n; i += 3) {
        double m = p->known_mask[i / 3];

        weight += m;
        for (int c = 0; c < 3; c++)
            sum[c] += m * p->known[i + (size_t)c];
    }
    for (int c = 0; c < 3; c++)
        colour[c] = weight > 0.0 ? (float)(sum[c] / weight) : fallback[c];
}

/* ||x - D(x)|| / sqrt(d), over the drawn pixels only when some are known
 * (weight 1 - known_mask): the known pixels are held at the noise level
 * this returns, and the network's own error on them (a clean image it
 * would change) must not feed back into it, or sigma settles at about
 * that error / sqrt(2 beta h) instead of falling to sigma_final. */
static float noise_estimate(const float *x, const float *d, const fgsd_sampler_params *p,
                            size_t n)
{
    double ss_all = 0.0, ss = 0.0, weight = 0.0;

    for (size_t i = 0; i < n; i++) {
        double f2 = ((double)x[i] - d[i]) * ((double)x[i] - d[i]);

        ss_all += f2;
        if (p->known) {
            double w = 1.0 - p->known_mask[i / 3];

            ss += w * f2;
            weight += w;
        }
    }
    /* Without known pixels, or with everything known: the whole image. */
    if (!p->known || !(weight > 0.0))
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

fgsd_status fgsd_sample(fgsd_session *s, const fgsd_sampler_params *p, const float *phi,
                        int width, int height, float *out, fgsd_sample_stats *stats)
{
    const fgsd_model_info *info;
    size_t n;
    float *x = NULL, *d = NULL, *z = NULL, *best = NULL, *buf = NULL, *d0 = NULL;
    double *line = NULL;
    int k = 0;
    float start = 0.0f, sigma = 0.0f, best_sigma = 0.0f;
    float start_colour[3];
    int keep_low;
    int best_t = 0;
    denoise_ctx ctx = {0}, gctx = {0};
    fgsd_session *gs;
    int guided;
    int t;
    fgsd_status st;

    if (!s)
        return FGSD_ERR_INVALID_ARGUMENT;
    if (!p || !out)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "no parameters or output given");
    keep_low = p->mean || p->keep_low_frequencies;
    info = &s->model->info;
    st = check_params(s, p);
    if (st)
        return st;
    if (width < 8 || height < 8 || width > FGSD_MAX_SIDE || height > FGSD_MAX_SIDE)
        return session_fail(s, width < 8 || height < 8 ? FGSD_ERR_TOO_SMALL : FGSD_ERR_TOO_LARGE,
                            "size %dx%d is outside 8x8 .. %dx%d", width, height, FGSD_MAX_SIDE,
                            FGSD_MAX_SIDE);
    if (phi && !info->conditioned)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "this model is unconditioned: it takes no reference");
    if (p->init) {
        st = check_image(s, p->init, width, height, 8);
        if (st)
            return st;
    }
    if (p->known) {
        st = check_known(s, p, width, height);
        if (st)
            return st;
    }
    memcpy(start_colour, info->data_mean, sizeof(start_colour));
    ctx.periodic = p->tileable;
    ctx.lagged = 1;
    ctx.max_window = s->opt.max_tile;
    guided = p->guidance > 1.0f;
    gs = p->guide ? p->guide : s;
    gctx.periodic = p->tileable;
    gctx.lagged = 1;
    gctx.max_window = gs->opt.max_tile;
    n = (size_t)width * (size_t)height * 3;
    if (n > UINT32_MAX)
        return session_fail(s, FGSD_ERR_TOO_LARGE, "image too large for the noise generator");
    x = malloc(n * sizeof(float));
    d = malloc(n * sizeof(float));
    z = malloc(n * sizeof(float));
    best = malloc(n * sizeof(float));
    if (guided)
        d0 = malloc(n * sizeof(float));
    if (keep_low) {
        /* Half the receptive field: what the network cannot see whole. */
        k = info->receptive_field / 2 > 1 ? info->receptive_field / 2 : 1;
        buf = malloc((size_t)width * (size_t)height * sizeof(float));
        line = malloc((size_t)(width > height ? width : height) * sizeof(double));
    }
    if (!x || !d || !z || !best || (guided && !d0) || (keep_low && (!buf || !line))) {
        st = session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for a %dx%d image", width,
                          height);
        goto out;
    }
    if (p->known && !p->init)
        known_colour(p, info->data_mean, n, start_colour);
    session_noise(s, p->seed, 0, n, z);
    if (keep_low)
        add_lowpass(z, -1.0f, z, NULL, width, height, k, buf, line);
    for (size_t i = 0; i < n; i++) {
        float base = p->init ? p->init[i] : p->mean ? p->mean[i % 3] : start_colour[i % 3];
        x[i] = base + p->sigma0 * z[i];
    }
    if (p->known)
        hold_known(x, p, p->sigma0, z, n);
    for (t = 1;; t++) {
        double h, g;

        st = denoise_image(s, x, width, height, phi, &ctx, d);
        if (st)
            goto out;
        if (guided) {
            st = denoise_image(gs, x, width, height, NULL, &gctx, d0);
            if (st) {
                if (gs != s)
                    st = session_fail(s, st, "the guide model: %s",
                                      fgsd_session_last_error(gs));
                goto out;
            }
            for (size_t i = 0; i < n; i++)
                d[i] = d0[i] + p->guidance * (d[i] - d0[i]);
        }
        if (keep_low) {
            /* d <- x - (f - lowpass(f)) = d + lowpass(x - d): D keeps the
             * low frequencies of x. */
            add_lowpass(d, 1.0f, x, d, width, height, k, buf, line);
        }
        sigma = noise_estimate(x, d, p, n);
        if (t == 1)
            start = sigma;
        if (session_progress(s, t, sigma, fraction_done(p, start, sigma, t))) {
            st = session_fail(s, FGSD_ERR_CANCELLED, "cancelled at step %d", t);
            goto out;
        }
        if (!isfinite(sigma)) {
            st = session_fail(s, FGSD_ERR_INTERNAL, "the sampler diverged at step %d", t);
            goto out;
        }
        if (t == 1 || sigma < best_sigma) {
            best_sigma = sigma;
            best_t = t;
            memcpy(best, d, n * sizeof(float));
        } else if (sigma > DIVERGENCE_RATIO * best_sigma) {
            snprintf(s->notice, sizeof(s->notice),
                     "the sampler stopped at step %d: the noise estimate rose from %.3g to %.3g "
                     "(the model cannot denoise further); the result is step %d's estimate",
                     t, (double)best_sigma, (double)sigma, best_t);
            memcpy(d, best, n * sizeof(float));
            sigma = best_sigma;
            break;
        }
        if (sigma < p->sigma_final || t >= p->max_steps)
            break;
        h = p->ascending ? (double)p->h0 * t / (1.0 + (double)p->h0 * (t - 1)) : p->h0;
        g = (1.0 - p->beta * h) * (1.0 - p->beta * h) - (1.0 - h) * (1.0 - h);
        g = sigma * sqrt(g > 0.0 ? g : 0.0);
        session_noise(s, p->seed, (uint32_t)t, n, z);
        if (keep_low)
            add_lowpass(z, -1.0f, z, NULL, width, height, k, buf, line);
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(x[i] - h * ((double)x[i] - d[i]) + g * z[i]);
        if (p->known)
            hold_known(x, p, sigma * (1.0 - p->beta * h), z, n);
    }
    if (p->known)
        hold_known(d, p, 0.0, z, n);
    memcpy(out, d, n * sizeof(float));
    if (stats) {
        stats->steps = t;
        stats->final_sigma = sigma;
        stats->tiles = ctx.tiles;
    }
out:
    denoise_ctx_free(&ctx);
    denoise_ctx_free(&gctx);
    free(d0);
    free(x);
    free(d);
    free(z);
    free(best);
    free(buf);
    free(line);
    return st;
}
