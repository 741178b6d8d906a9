/* SPDX-License-Identifier: GPL-3.0-or-later
 * The sampling tasks: synthesis (one level, or coarse to fine), restyle and
 * iterated denoising.  Each checks its arguments and fills the sisa_task
 * hooks it needs (sampler.h); healing is in heal.c. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "denoise.h"
#include "image_check.h"
#include "quilt.h"
#include "ref_features.h"
#include "reference.h"
#include "sampler.h"

/* Odd seeds per level, as models/sisa.py coarse_to_fine draws them. */
#define LEVEL_SEED_STRIDE 7919u

static fgsd_status check_size(fgsd_session *s, int width, int height)
{
    if (width < 8 || height < 8 || width > FGSD_MAX_SIDE || height > FGSD_MAX_SIDE)
        return session_fail(s, width < 8 || height < 8 ? FGSD_ERR_TOO_SMALL : FGSD_ERR_TOO_LARGE,
                            "size %dx%d is outside 8x8 .. %dx%d", width, height, FGSD_MAX_SIDE,
                            FGSD_MAX_SIDE);
    return FGSD_OK;
}

static fgsd_status check_common(fgsd_session *s, const fgsd_reference *reference,
                                const fgsd_sampler_params *p, int width, int height,
                                const float *out)
{
    fgsd_status st;

    if (!out)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "no output buffer given");
    st = sampler_check_params(s, p);
    if (!st)
        st = check_size(s, width, height);
    if (!st)
        st = reference_check(s, reference);
    return st;
}

/* The two source samples i0, i1 of output sample i of n (from m) and the
 * weight *l of i1, as torch's bilinear with align_corners=False. */
static void source_samples(int i, int n, int m, int *i0, int *i1, double *l)
{
    double f = ((double)i + 0.5) * m / n - 0.5;

    f = f > 0.0 ? f : 0.0;
    *i0 = (int)f;
    *i1 = *i0 + 1 < m ? *i0 + 1 : m - 1;
    *l = f - *i0;
}

/* dst (dw x dh) <- src (sw x sh) resized bilinearly, as torch's
 * interpolate(mode="bilinear", align_corners=False) (models/sisa.py). */
static void resize_bilinear(const float *src, int sw, int sh, float *dst, int dw, int dh)
{
    for (int y = 0; y < dh; y++) {
        int y0, y1;
        double ly;

        source_samples(y, dh, sh, &y0, &y1, &ly);
        for (int x = 0; x < dw; x++) {
            int x0, x1;
            double lx;

            source_samples(x, dw, sw, &x0, &x1, &lx);
            for (int c = 0; c < 3; c++) {
#define AT(yy, xx) ((double)src[((size_t)(yy) * (size_t)sw + (size_t)(xx)) * 3 + (size_t)c])
                double top = (1.0 - lx) * AT(y0, x0) + lx * AT(y0, x1);
                double bottom = (1.0 - lx) * AT(y1, x0) + lx * AT(y1, x1);
#undef AT
                dst[((size_t)y * (size_t)dw + (size_t)x) * 3 + (size_t)c] =
                    (float)((1.0 - ly) * top + ly * bottom);
            }
        }
    }
}

/* The levels a synthesis runs: what was asked, at most what the reference
 * measured and what keeps the coarsest canvas at 8 pixels a side. */
static int synthesis_levels(fgsd_session *s, const fgsd_reference *reference,
                            const fgsd_sampler_params *p, int width, int height)
{
    int levels = p->levels;

    if (reference && levels > reference->levels) {
        snprintf(s->notice, sizeof(s->notice),
                 "the reference is too small for %d levels: sampled in %d", levels,
                 reference->levels);
        levels = reference->levels;
    }
    while (levels > 1 && ((width >> (levels - 1)) < 8 || (height >> (levels - 1)) < 8))
        levels--;
    return levels;
}

fgsd_status fgsd_synthesize(fgsd_session *s, const fgsd_reference *reference,
                            const fgsd_sampler_params *p, int width, int height, float *out,
                            fgsd_sample_stats *stats)
{
    fgsd_sample_stats level_stats = {0};
    float *prev = NULL, *init = NULL, *cur = NULL;
    int levels, total = 0, pw = 0, ph = 0;
    fgsd_status st;

    if (!s)
        return FGSD_ERR_INVALID_ARGUMENT;
    st = check_common(s, reference, p, width, height, out);
    if (st)
        return st;
    levels = synthesis_levels(s, reference, p, width, height);
    for (int j = levels - 1; j >= 0 && !st; j--) {
        int w = j ? width >> j : width, h = j ? height >> j : height;
        sisa_task t = {.p = p,
                       .phi = reference_phi(reference, j),
                       .width = w,
                       .height = h,
                       .seed = p->seed + (uint64_t)LEVEL_SEED_STRIDE * (uint64_t)j};

        cur = j ? malloc((size_t)w * (size_t)h * 3 * sizeof(float)) : out;
        if (!cur) {
            st = session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for a %dx%d level", w, h);
            break;
        }
        if (!prev) {
            /* The coarsest (or only) level: a flat start at the reference's
             * colour at this scale, kept, or at the data mean (free colour). */
            t.sigma0 = p->sigma0;
            t.keep_low = reference && !p->free_colour;
            memcpy(t.colour, t.keep_low ? reference->colour[j] : s->model->info.data_mean,
                   sizeof(t.colour));
        } else {
            /* A finer level: the coarser result upsampled, noise added, its
             * low frequencies kept (the large structure is decided above). */
            init = malloc((size_t)w * (size_t)h * 3 * sizeof(float));
            if (!init) {
                st = session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for a %dx%d level", w, h);
                if (j)
                    free(cur);
                break;
            }
            resize_bilinear(prev, pw, ph, init, w, h);
            t.init = init;
            t.sigma0 = FGSD_LEVEL_SIGMA;
            t.keep_low = 1;
        }
        st = sisa_run(s, &t, cur, &level_stats);
        total += level_stats.steps;
        free(prev);
        free(init);
        init = NULL;
        prev = j ? cur : NULL;
        pw = w;
        ph = h;
    }
    if (st && prev != out)
        free(prev);
    if (!st && stats) {
        *stats = level_stats;
        stats->steps = total;
    }
    return st;
}

/* Restyle and iterated denoising: the loop from an image. */
static fgsd_status from_image(fgsd_session *s, const fgsd_reference *reference,
                              const fgsd_sampler_params *p, const float *image, int width,
                              int height, float sigma0, float *out, fgsd_sample_stats *stats)
{
    sisa_task t = {.p = p,
                   .phi = reference_phi(reference, 0),
                   .width = width,
                   .height = height,
                   .seed = p ? p->seed : 0,
                   .sigma0 = sigma0,
                   .init = image,
                   .keep_low = p ? !p->free_colour : 0};
    fgsd_status st;

    if (!s)
        return FGSD_ERR_INVALID_ARGUMENT;
    st = check_common(s, reference, p, width, height, out);
    if (!st)
        st = image_check(s, image, width, height, 8);
    return st ? st : sisa_run(s, &t, out, stats);
}

fgsd_status fgsd_restyle(fgsd_session *s, const fgsd_reference *reference,
                         const fgsd_sampler_params *p, const float *image, int width, int height,
                         float *out, fgsd_sample_stats *stats)
{
    return from_image(s, reference, p, image, width, height, p ? p->sigma0 : 0.0f, out, stats);
}

fgsd_status fgsd_denoise_iterate(fgsd_session *s, const fgsd_reference *reference,
                                 const fgsd_sampler_params *p, const float *noisy, int width,
                                 int height, float *out, fgsd_sample_stats *stats)
{
    return from_image(s, reference, p, noisy, width, height, 0.0f, out, stats);
}

fgsd_patch_params fgsd_patch_params_default(void)
{
    fgsd_patch_params q = {.patch = 0, .candidates = 64, .seed = 0};

    return q;
}

/* A patch start's own settings; the quilt does not wrap. */
static fgsd_status check_patches(fgsd_session *s, const fgsd_sampler_params *p,
                                 const fgsd_patch_params *q, const float *mask, int sw, int sh)
{
    fgsd_status st = quilt_check(s, q, mask, sw, sh);

    if (!st && p->tileable)
        st = session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                          "a patch start is not tileable: start from noise for a tileable "
                          "texture");
    return st;
}

/* A patch task's own canvas, so that out is written only on success (NULL:
 * out of memory, said in the session). */
static float *task_canvas(fgsd_session *s, int width, int height, const char *what)
{
    float *canvas = malloc((size_t)width * (size_t)height * 3 * sizeof(float));

    if (!canvas)
        session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for a %dx%d %s", width, height, what);
    return canvas;
}

/* Ends a patch task: its canvas copied to out when st is FGSD_OK, then freed. */
static fgsd_status task_deliver(fgsd_status st, float *canvas, float *out, int width, int height)
{
    if (!st)
        memcpy(out, canvas, (size_t)width * (size_t)height * 3 * sizeof(float));
    free(canvas);
    return st;
}

fgsd_status fgsd_synthesize_from_patches(fgsd_session *s, const fgsd_reference *reference,
                                         const fgsd_sampler_params *p,
                                         const fgsd_patch_params *q, const float *source,
                                         const float *mask, int sw, int sh, int width,
                                         int height, float *out, fgsd_sample_stats *stats)
{
    fgsd_sample_stats none = {0};
    float *quilted;
    fgsd_status st;

    if (!s)
        return FGSD_ERR_INVALID_ARGUMENT;
    st = check_common(s, reference, p, width, height, out);
    if (!st)
        st = features_check_reference(s, source, sw, sh, mask);
    if (!st)
        st = check_patches(s, p, q, mask, sw, sh);
    if (!st && p->sigma0 > 0.0f)
        st = denoise_plan_check(s, width, height, 0);
    if (st)
        return st;
    if (!(quilted = task_canvas(s, width, height, "patch start")))
        return FGSD_ERR_NO_MEMORY;
    st = quilt_fill(s, source, mask, sw, sh, q, width, height, quilted);
    if (!st && p->sigma0 > 0.0f) {
        /* the redraw draws into out, as fgsd_restyle does */
        st = from_image(s, reference, p, quilted, width, height, p->sigma0, out, stats);
        free(quilted);
        return st;
    }
    if (!st && stats)
        *stats = none;
    return task_deliver(st, quilted, out, width, height);
}

/* A restyle from patches; tone NULL, or the luma mean and spread of the
 * whole image that image is a part of. */
static fgsd_status restyle_patches(fgsd_session *s, const fgsd_patch_params *q, float strength,
                                   const float *image, int width, int height, const double *tone,
                                   const float *source, const float *mask, int sw, int sh,
                                   float *out)
{
    fgsd_status st;
    float *canvas;

    if (!s)
        return FGSD_ERR_INVALID_ARGUMENT;
    if (tone && !(isfinite(tone[0]) && isfinite(tone[1]) && tone[1] >= 0.0))
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "the whole image's luminance needs a finite mean and a spread >= 0, "
                            "not %g and %g",
                            tone[0], tone[1]);
    if (!out)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "no output buffer given");
    if (out == image)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "the output must not be the image being restyled");
    if (!(strength >= 0.0f && strength <= 1.0f))
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "a restyle from patches takes a strength in [0, 1], not %g",
                            (double)strength);
    st = check_size(s, width, height);
    if (!st)
        st = image_check(s, image, width, height, 8);
    if (!st)
        st = features_check_reference(s, source, sw, sh, mask);
    if (!st)
        st = quilt_check(s, q, NULL, sw, sh);
    if (st)
        return st;
    if (!(canvas = task_canvas(s, width, height, "restyle")))
        return FGSD_ERR_NO_MEMORY;
    st = quilt_transfer(s, source, mask, sw, sh, q, strength, image, width, height, tone, canvas);
    return task_deliver(st, canvas, out, width, height);
}

fgsd_status fgsd_restyle_from_patches(fgsd_session *s, const fgsd_patch_params *q, float strength,
                                      const float *image, int width, int height,
                                      const float *source, const float *mask, int sw, int sh,
                                      float *out)
{
    return restyle_patches(s, q, strength, image, width, height, NULL, source, mask, sw, sh, out);
}

fgsd_status fgsd_restyle_part_from_patches(fgsd_session *s, const fgsd_patch_params *q,
                                           float strength, const float *image, int width,
                                           int height, double whole_mean, double whole_std,
                                           const float *source, const float *mask, int sw, int sh,
                                           float *out)
{
    double tone[2] = {whole_mean, whole_std};

    return restyle_patches(s, q, strength, image, width, height, tone, source, mask, sw, sh, out);
}

fgsd_status fgsd_interpolate_from_patches(fgsd_session *s, const fgsd_patch_params *q,
                                          const fgsd_patch_source *src, int n, int width,
                                          int height, float *out)
{
    double total = 0.0;
    fgsd_status st;
    float *canvas;

    if (!s)
        return FGSD_ERR_INVALID_ARGUMENT;
    if (!out || !src || n < 1)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "no sources or no output given");
    st = check_size(s, width, height);
    if (!st)
        st = quilt_check(s, q, NULL, 0, 0);
    for (int k = 0; !st && k < n; k++) {
        if (!(src[k].weight >= 0.0f && src[k].weight <= FLT_MAX))
            st = session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                              "texture %d's weight must be finite and >= 0, not %g", k + 1,
                              (double)src[k].weight);
        if (!st)
            st = features_check_reference(s, src[k].rgb, src[k].width, src[k].height,
                                          src[k].mask);
        total += (double)src[k].weight;
    }
    if (!st && !(total > 0.0))
        st = session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "the weights add up to 0");
    if (st)
        return st;
    if (!(canvas = task_canvas(s, width, height, "interpolation")))
        return FGSD_ERR_NO_MEMORY;
    return task_deliver(quilt_mix(s, src, n, q, width, height, canvas), canvas, out, width,
                        height);
}
